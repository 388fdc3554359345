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
