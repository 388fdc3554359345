//! Where a batch reads its inputs and writes its outputs: a local path, or a prefix in an
//! object store (S3, Google Cloud Storage, Azure Blob Storage through `object_store`), so that
//! workers on many machines share one corpus and one output folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::{Path as ObjectPath, PathPart};

/// A folder of inputs or outputs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Location {
    /// A path on this machine: a file or a folder.
    Local(PathBuf),
    /// A prefix in an object store.
    Store(StoreLocation),
}

impl Location {
    /// The path, or the URL, as a person would type it.
    pub fn display(&self) -> String {
        match self {
            Location::Local(path) => path.display().to_string(),
            Location::Store(at) => at.url().to_string(),
        }
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Location {
        Location::Local(path)
    }
}

impl From<&Path> for Location {
    fn from(path: &Path) -> Location {
        Location::Local(path.to_path_buf())
    }
}

impl From<&PathBuf> for Location {
    fn from(path: &PathBuf) -> Location {
        Location::Local(path.clone())
    }
}

impl From<&str> for Location {
    fn from(path: &str) -> Location {
        Location::Local(path.into())
    }
}

impl From<String> for Location {
    fn from(path: String) -> Location {
        Location::Local(path.into())
    }
}

impl From<StoreLocation> for Location {
    fn from(at: StoreLocation) -> Location {
        Location::Store(at)
    }
}

/// A prefix in an object store, with the URL that names it in messages and manifests.
#[derive(Clone)]
pub struct StoreLocation {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) prefix: ObjectPath,
    url: String,
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The store holds credentials: only its URL is shown.
        f.debug_tuple("StoreLocation").field(&self.url).finish()
    }
}

impl StoreLocation {
    /// The objects under `prefix` in `store`; `url` names them (`s3://bucket/prefix`).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: ObjectPath, url: impl Into<String>) -> Self {
        let url = url.into().trim_end_matches('/').to_string();
        StoreLocation { store, prefix, url }
    }

    /// The URL of the prefix, without a trailing `/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The object at `relative` (parts separated by `/`) under the prefix.
    pub(crate) fn child(&self, relative: &str) -> ObjectPath {
        self.prefix
            .parts()
            .chain(
                relative
                    .split('/')
                    .filter(|p| !p.is_empty())
                    .map(PathPart::from),
            )
            .collect()
    }

    /// The URL of the object at `relative`.
    pub(crate) fn url_of(&self, relative: &str) -> String {
        format!("{}/{relative}", self.url)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_and_urls_stay_under_the_prefix() {
        let at = StoreLocation::new(
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
}
