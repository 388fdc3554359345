//! Where a batch reads its inputs and writes its outputs: a local path, or a prefix in an
//! object store (S3, Google Cloud Storage, Azure Blob Storage through `object_store`), so that
//! workers on many machines share one corpus and one output folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::list::PaginatedListStore;
use object_store::path::{Path as ObjectPath, PathPart};

/// Where inputs are read or outputs written: a local path or an object-store prefix. (Not a
/// `Location`: that name is the model's, a box on a page.)
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Place {
    /// A path on this machine: a file or a folder.
    Local(PathBuf),
    /// A prefix in an object store.
    Store(StorePrefix),
}

impl Place {
    /// The path, or the URL, as a person would type it.
    pub fn display(&self) -> String {
        match self {
            Place::Local(path) => path.display().to_string(),
            Place::Store(at) => at.url().to_string(),
        }
    }
}

impl From<PathBuf> for Place {
    fn from(path: PathBuf) -> Place {
        Place::Local(path)
    }
}

impl From<&Path> for Place {
    fn from(path: &Path) -> Place {
        Place::Local(path.to_path_buf())
    }
}

impl From<&PathBuf> for Place {
    fn from(path: &PathBuf) -> Place {
        Place::Local(path.clone())
    }
}

impl From<&str> for Place {
    fn from(path: &str) -> Place {
        Place::Local(path.into())
    }
}

impl From<String> for Place {
    fn from(path: String) -> Place {
        Place::Local(path.into())
    }
}

impl From<StorePrefix> for Place {
    fn from(at: StorePrefix) -> Place {
        Place::Store(at)
    }
}

/// A prefix in an object store, with the URL that names it in messages and manifests.
#[derive(Clone)]
pub struct StorePrefix {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) prefix: ObjectPath,
    /// The same store's page-by-page listing, when it has one: what lets a listing step over
    /// a key the store holds but `object_store` cannot name (`in//x.pdf`, `in/../x.pdf`).
    pub(crate) pages: Option<Arc<dyn PaginatedListStore>>,
    url: String,
}

impl std::fmt::Debug for StorePrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The store holds credentials: only its URL is shown.
        f.debug_tuple("StorePrefix").field(&self.url).finish()
    }
}

impl StorePrefix {
    /// The objects under `prefix` in `store`; `url` names them (`s3://bucket/prefix`).
    /// Credentials in `url` (`user:secret@`, a query string) are dropped here, so that no
    /// message, manifest key or name hash ever holds them, whatever they are.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: ObjectPath, url: impl Into<String>) -> Self {
        let url = redact_url(&url.into()).trim_end_matches('/').to_string();
        StorePrefix {
            store,
            prefix,
            pages: None,
            url,
        }
    }

    /// The same store listed page by page (S3's `start-after`): a listing then skips, with a
    /// warning, an object whose key is not a valid path (an empty, `.` or `..` part, a control
    /// character) instead of failing on it. Without it such a key ends the listing with an
    /// error naming it.
    #[must_use]
    pub fn with_paged_listing(mut self, pages: Arc<dyn PaginatedListStore>) -> Self {
        self.pages = Some(pages);
        self
    }

    /// The URL of the prefix, without a trailing `/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The object at `relative` (parts separated by `/`) under the prefix. A part that is a
    /// valid key part is used as it is (`Société Générale`, `a%20b`): encoding it again would
    /// write a key other than the one reported. Only a part that could climb or that holds a
    /// control character is percent-encoded.
    pub(crate) fn child(&self, relative: &str) -> ObjectPath {
        self.prefix
            .parts()
            .chain(
                relative
                    .split('/')
                    .filter(|p| !p.is_empty())
                    .map(|p| PathPart::parse(p).unwrap_or_else(|_| PathPart::from(p))),
            )
            .collect()
    }

    /// The URL of the object at `relative`: made from the key [`Self::child`] writes, so the
    /// key a message or a report names is the key in the store.
    pub(crate) fn url_of(&self, relative: &str) -> String {
        let key = self.relative(&self.child(relative)).unwrap_or_default();
        format!("{}/{key}", self.url)
    }

    /// `path` relative to the prefix, or `None` when it is not under it.
    pub(crate) fn relative(&self, path: &ObjectPath) -> Option<String> {
        let rest: Vec<String> = path
            .prefix_match(&self.prefix)?
            .map(|p| p.as_ref().to_string())
            .collect();
        Some(rest.join("/"))
    }
}

/// `url` with what may be a credential replaced by `***`: the user and password
/// (`s3://user:secret@bucket`), every query value (`?client_secret=…`, a SAS token) and every
/// fragment value (`#access_token=…`; a fragment that is not `name=value` pairs is `***`
/// whole). The result does not depend on the secrets, so it can be printed, hashed and used in
/// keys. Text that is not a URL is returned as it is. The one redaction of URLs for people:
/// store locations here, `config show` in the CLI.
#[must_use]
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return redact_unparsed(url);
    };
    if parsed.cannot_be_a_base() {
        return redact_unparsed(url);
    }
    let mut changed = false;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        changed = true;
        let _ = parsed.set_password(None);
        let _ = parsed.set_username("***");
    }
    if parsed.query().is_some() {
        changed = true;
        let names: Vec<String> = parsed
            .query_pairs()
            .map(|(name, _)| name.into_owned())
            .collect();
        let query = names
            .iter()
            .map(|name| format!("{name}=***"))
            .collect::<Vec<_>>()
            .join("&");
        parsed.set_query(Some(&query));
    }
    if let Some(fragment) = parsed.fragment() {
        changed = true;
        let redacted = if fragment.contains('=') {
            fragment
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) => format!("{name}=***"),
                    None => pair.to_string(),
                })
                .collect::<Vec<_>>()
                .join("&")
        } else {
            "***".to_string()
        };
        parsed.set_fragment(Some(&redacted));
    }
    if changed {
        parsed.to_string()
    } else {
        // Unchanged text keeps its exact form (`url` would add a `/` to `s3://bucket`).
        url.to_string()
    }
}

/// Text that is not a URL (a mistyped one) redacted as one would be: everything after `?` or
/// `#` and a `user:password@` after `//` become `***`, so a typo never prints a secret.
fn redact_unparsed(text: &str) -> String {
    let (head, tail) = text.split_at(text.find(['?', '#']).unwrap_or(text.len()));
    let head = match head.split_once("//") {
        Some((scheme, rest)) => {
            let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
            match authority.rfind('@') {
                Some(at) => format!("{scheme}//***@{}", &rest[at + 1..]),
                None => head.to_string(),
            }
        }
        None => head.to_string(),
    };
    match tail.chars().next() {
        Some(mark) => format!("{head}{mark}***"),
        None => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_and_urls_stay_under_the_prefix() {
        let at = StorePrefix::new(
            Arc::new(object_store::memory::InMemory::new()),
            ObjectPath::from("in/2024"),
            "memory:///in/2024/",
        );
        assert_eq!(at.url(), "memory:///in/2024");
        let child = at.child("q1/a.pdf");
        assert_eq!(child.as_ref(), "in/2024/q1/a.pdf");
        assert_eq!(at.relative(&child).as_deref(), Some("q1/a.pdf"));
        assert_eq!(at.relative(&ObjectPath::from("other/a.pdf")), None);
        assert_eq!(at.url_of("q1/a.json"), "memory:///in/2024/q1/a.json");
        // A part that would climb is encoded, not followed.
        assert!(at.child("../x").as_ref().starts_with("in/2024/"));
    }

    #[test]
    fn a_key_part_is_written_as_it_is_reported() {
        let at = StorePrefix::new(
            Arc::new(object_store::memory::InMemory::new()),
            ObjectPath::from("out"),
            "s3://bucket/out",
        );
        for name in ["Société Générale", "a%20b", "報告書", "x y"] {
            let key = at.child(&format!("{name}.json"));
            assert_eq!(key.as_ref(), format!("out/{name}.json"));
            assert_eq!(
                at.url_of(&format!("{name}.json")),
                format!("s3://bucket/out/{name}.json")
            );
        }
        // A part that could not be a key part is encoded, and reported encoded.
        let odd = at.child("tab\there");
        assert_eq!(at.url_of("tab\there"), format!("s3://bucket/{odd}"));
    }

    #[test]
    fn credentials_in_a_store_url_are_never_kept() {
        for (given, kept) in [
            ("s3://user:secret@bucket/in/", "s3://***@bucket/in"),
            ("s3://AKIA:c2VjcmV0@bucket", "s3://***@bucket"),
            (
                "az://container/in?sig=abc&se=2027",
                "az://container/in?sig=***&se=***",
            ),
            ("s3://bucket/in", "s3://bucket/in"),
        ] {
            let at = StorePrefix::new(
                Arc::new(object_store::memory::InMemory::new()),
                ObjectPath::from("in"),
                given,
            );
            assert_eq!(at.url(), kept, "{given}");
            assert!(!at.url_of("x.pdf").contains("secret"));
        }
        for (given, shown) in [
            (
                "https://h/cb#access_token=abc&x=1",
                "https://h/cb#access_token=***&x=***",
            ),
            ("https://h/cb#tok3n", "https://h/cb#***"),
            (
                "https://alice:hunter2@h/t?client_secret=s3cr3t",
                "https://***@h/t?client_secret=***",
            ),
        ] {
            assert_eq!(redact_url(given), shown, "{given}");
        }
        // The same place with other secrets is the same URL: no hash or key changes.
        assert_eq!(redact_url("s3://a:one@b/in"), redact_url("s3://c:two@b/in"));
        assert_eq!(redact_url("not a url"), "not a url");
        // A mistyped URL keeps no secret either.
        assert_eq!(
            redact_url("htps//user:pw@host/x?secret=1"),
            "htps//***@host/x?***"
        );
        assert_eq!(redact_url("::bad?client_secret=abc"), "::bad?***");
        assert_eq!(redact_url("no-secret/here"), "no-secret/here");
    }

    proptest::proptest! {
        /// Whatever form a URL with a secret takes (or a mistyped one), the secret is not in
        /// what is shown.
        #[test]
        fn no_secret_survives_redaction(
            user in "[a-z]{1,8}",
            secret in "[A-Za-z0-9]{12,20}",
            host in "[a-z]{1,10}",
            form in 0..5usize,
        ) {
            let text = match form {
                0 => format!("s3://{user}:{secret}@{host}/in"),
                1 => format!("https://{host}/x?token={secret}&a=b"),
                2 => format!("https://{host}/#access_token={secret}"),
                3 => format!("s3://{secret}@{host}/in"),
                _ => format!("htps//{user}:{secret}@{host}?k={secret}"),
            };
            proptest::prop_assert!(!redact_url(&text).contains(&secret), "{}", redact_url(&text));
        }
    }
}
