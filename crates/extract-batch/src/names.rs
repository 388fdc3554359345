//! File names made from words that come from outside (table uids in a document, file stems of
//! inputs): always one harmless path component, so nothing a document says can place a file
//! outside the folder the user chose.

use std::collections::HashSet;

/// The longest name made, in bytes, before an extension (file systems allow 255).
const MAX_NAME: usize = 120;

/// Text from outside (a file name, an object key, a lease's holder) made safe to print on a
/// terminal: control characters escaped (`\u{1b}`), so a name cannot retitle the window or
/// clear the screen, and cut at 200 characters.
pub fn printable(text: &str) -> String {
    let cut = text
        .char_indices()
        .nth(200)
        .map_or(text, |(end, _)| &text[..end]);
    escaped(cut)
}

/// `text` with its control characters escaped (`\u{1b}`, `\t`), whole: for a line a person
/// reads whose parts (file names, keys, reasons) came from outside.
pub fn escaped(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// What a redacted credential shows as.
const REDACTED: &str = "***";

/// A URL (an API or token endpoint, an object store's `s3://…`) made safe to print: the
/// password of its user info shown as `***` (`https://user:***@host/`; a user name alone, which
/// is often a token, is `***` too), and the value of every query or fragment parameter whose
/// name speaks of a credential (`client_secret`, `token`, `access_token`, `password`, `key`,
/// `sig`, `X-Amz-Signature`, `code`, …) shown as `***`; then [`printable`]. Text that is not a
/// URL is treated the same way as far as it goes, so no credential in it is shown either.
///
/// ```
/// use extract_batch::names::printable_url;
/// assert_eq!(printable_url("https://user:pass@host/x"), "https://user:***@host/x");
/// assert_eq!(
///     printable_url("https://h/t?client_secret=s3cr3t&region=eu"),
///     "https://h/t?client_secret=***&region=eu"
/// );
/// assert_eq!(printable_url("s3://key:secret@bucket/in"), "s3://key:***@bucket/in");
/// ```
pub fn printable_url(text: &str) -> String {
    let (rest, fragment) = match text.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (text, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let mut shown = String::with_capacity(text.len());
    // The user info is what comes between `scheme://` and the last `@` before the path.
    let (scheme, after) = match rest.split_once("://") {
        Some((scheme, after)) => (Some(scheme), after),
        None => (None, rest),
    };
    if let Some(scheme) = scheme {
        shown.push_str(scheme);
        shown.push_str("://");
    }
    let authority_end = after.find('/').unwrap_or(after.len());
    let (authority, path) = after.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) if scheme.is_some() => {
            match user_info.split_once(':') {
                Some((user, _password)) => {
                    shown.push_str(user);
                    shown.push(':');
                    shown.push_str(REDACTED);
                }
                None => shown.push_str(REDACTED),
            }
            shown.push('@');
            shown.push_str(host);
        }
        _ => shown.push_str(authority),
    }
    shown.push_str(path);
    for (mark, parameters) in [('?', query), ('#', fragment)] {
        let Some(parameters) = parameters else {
            continue;
        };
        shown.push(mark);
        for (i, parameter) in parameters.split('&').enumerate() {
            if i > 0 {
                shown.push('&');
            }
            match parameter.split_once('=') {
                Some((name, _value)) if is_credential_name(name) => {
                    shown.push_str(name);
                    shown.push('=');
                    shown.push_str(REDACTED);
                }
                _ => shown.push_str(parameter),
            }
        }
    }
    printable(&shown)
}

/// Whether a URL parameter's name speaks of a credential (any case, `-` or `_`).
fn is_credential_name(name: &str) -> bool {
    const WORDS: [&str; 12] = [
        "secret",
        "token",
        "pass",
        "pwd",
        "key",
        "sig",
        "credential",
        "assertion",
        "auth",
        "session",
        "code",
        "apikey",
    ];
    let name = name.to_ascii_lowercase();
    WORDS.iter().any(|word| name.contains(word))
}

/// Whether `name`, read back from a manifest or a journal, is one this crate could have made
/// (a flat name, or a mirrored `a/b/c`): relative, every part a harmless component (not empty,
/// no leading dot, so no `.` or `..`; no separator, control or reserved character; at most 255
/// bytes). A tampered name fails, so it can never place a file outside the output folder.
#[must_use]
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('/').all(|part| {
            !part.is_empty()
                && part.len() <= 255
                && !part.starts_with('.')
                && !part.ends_with([' ', '.'])
                && !part.chars().any(|c| {
                    c.is_control() || matches!(c, '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
                })
        })
}

/// `raw` as one path component: separators, control characters and characters Windows refuses
/// become `_`, leading dots too (no `.`, `..` or hidden files), cut to [`MAX_NAME`] bytes;
/// `fallback` when nothing is left.
#[must_use]
pub fn safe_component(raw: &str, fallback: &str) -> String {
    let mut name = String::with_capacity(raw.len().min(MAX_NAME));
    for c in raw.chars() {
        let c = if c.is_control()
            || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
        {
            '_'
        } else {
            c
        };
        if name.len() + c.len_utf8() > MAX_NAME {
            break;
        }
        name.push(c);
    }
    let dots = name.len() - name.trim_start_matches('.').len();
    let name = format!("{}{}", "_".repeat(dots), &name[dots..]);
    let name = name.trim_end_matches([' ', '.']).to_string();
    if name.is_empty() {
        fallback.to_string()
    } else {
        name
    }
}

/// Hands out names that are unique in one folder (compared without case, as macOS and Windows
/// do): `name`, then `name-2`, `name-3`, …
#[derive(Debug, Default)]
pub struct UniqueNames {
    used: HashSet<String>,
}

impl UniqueNames {
    /// A name for `raw` (made safe) with `extension`, not handed out before.
    pub fn next(&mut self, raw: &str, fallback: &str, extension: &str) -> String {
        let base = safe_component(raw, fallback);
        let mut candidate = format!("{base}.{extension}");
        let mut n = 1;
        while !self.used.insert(candidate.to_lowercase()) {
            n += 1;
            candidate = format!("{base}-{n}.{extension}");
        }
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_outside_are_one_harmless_component() {
        assert_eq!(safe_component("../../x", "t"), "___.._x");
        assert_eq!(safe_component("/abs/path/x", "t"), "_abs_path_x");
        assert_eq!(safe_component("..", "t"), "__");
        assert_eq!(safe_component(".hidden", "t"), "_hidden");
        assert_eq!(safe_component("a\r\nb\0c", "t"), "a__b_c");
        assert_eq!(safe_component("", "t"), "t");
        assert_eq!(safe_component("C:\\x", "t"), "C__x");
        assert_eq!(safe_component("ok-name_1", "t"), "ok-name_1");
        let long = "é".repeat(500);
        let cut = safe_component(&long, "t");
        assert!(cut.len() <= MAX_NAME && cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn credentials_in_urls_never_show() {
        for (url, shown) in [
            ("https://user:pass@host/", "https://user:***@host/"),
            ("https://tok3n@host/x", "https://***@host/x"),
            (
                "https://h/oauth2/v1/token?client_secret=s3cr3t",
                "https://h/oauth2/v1/token?client_secret=***",
            ),
            (
                "https://h/refresh?refresh_token=abc&region=eu&token=def",
                "https://h/refresh?refresh_token=***&region=eu&token=***",
            ),
            (
                "https://h/cb#access_token=abc&x=1",
                "https://h/cb#access_token=***&x=1",
            ),
            (
                "https://b.s3.amazonaws.com/k?X-Amz-Signature=abc&X-Amz-Credential=AKIA",
                "https://b.s3.amazonaws.com/k?X-Amz-Signature=***&X-Amz-Credential=***",
            ),
            ("az://acct/c?sv=2024&sig=abc", "az://acct/c?sv=2024&sig=***"),
            ("s3://AKIA:secret@bucket/in", "s3://AKIA:***@bucket/in"),
            ("https://extract.kensho.com", "https://extract.kensho.com"),
            ("http://127.0.0.1:8080/a@b", "http://127.0.0.1:8080/a@b"),
            ("not a url?password=x", "not a url?password=***"),
            ("https://h/\u{1b}]0;x", "https://h/\\u{1b}]0;x"),
        ] {
            assert_eq!(printable_url(url), shown, "{url}");
        }
    }

    #[test]
    fn repeated_names_get_numbers() {
        let mut names = UniqueNames::default();
        assert_eq!(names.next("t", "x", "csv"), "t.csv");
        assert_eq!(names.next("t", "x", "csv"), "t-2.csv");
        assert_eq!(names.next("T", "x", "csv"), "T-3.csv");
        assert_eq!(names.next("../t", "x", "csv"), "___t.csv");
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        proptest! {
            #[test]
            fn any_name_stays_in_its_folder(raw in any::<String>()) {
                let name = safe_component(&raw, "fallback");
                let path = std::path::Path::new("/out").join(&name);
                prop_assert_eq!(path.parent(), Some(std::path::Path::new("/out")));
                prop_assert!(name != "." && name != ".." && !name.is_empty());
                prop_assert!(!name.chars().any(|c| c.is_control() || c == '/' || c == '\\'));
                prop_assert!(name.len() <= MAX_NAME.max("fallback".len()));
                prop_assert!(is_safe_name(&name), "{} is made but not safe", name);
            }

            /// Whatever surrounds them, a password and a secret parameter's value never show.
            #[test]
            fn a_credential_never_shows(
                scheme in "(https|http|s3|gs|az)",
                user in "[a-z]{1,8}",
                host in "[a-z]{1,8}(\\.[a-z]{2,3})?",
                path in "(/[a-z0-9]{0,6}){0,3}",
                name in "(client_secret|token|access_token|password|X-Amz-Signature|sig|api-key)",
                other in "[a-z]{1,5}=[a-z]{0,5}",
            ) {
                let secret = "S3CRETxyz";
                let url = format!("{scheme}://{user}:{secret}@{host}{path}?{other}&{name}={secret}#{name}={secret}");
                let shown = printable_url(&url);
                prop_assert!(!shown.contains(secret), "{} -> {}", url, shown);
                prop_assert!(shown.contains(&host), "{} -> {}", url, shown);
            }

            /// A name read back from a manifest that passes the check stays inside the folder,
            /// whatever it is.
            #[test]
            fn a_safe_name_never_leaves_its_folder(raw in "[./a-z\\\\:]{0,12}|.{0,30}") {
                if is_safe_name(&raw) {
                    let path = std::path::Path::new("/out").join(&raw);
                    prop_assert!(path.starts_with("/out"));
                    prop_assert!(path.components().skip(2).all(|c| matches!(c, std::path::Component::Normal(_))), "{}", raw);
                }
            }
        }
    }
}
