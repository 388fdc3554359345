//! One input's bytes: a file on this machine, or an object in a store read once when first
//! needed (into memory up to the direct-upload limit, else a temporary file); its identity, its
//! page count, and its submission.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use extract_api::{ApiError, ExtractApi, ExtractionOptions, JobHandle};
use futures_util::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::hex;

/// The largest object held in memory: from its first read (its page count) to its upload, so
/// every retry sends the same bytes without a copy on disk. The direct-upload limit: a larger
/// object is copied to a temporary file and sent through a pre-signed upload, as a local file
/// of its size is.
pub const MAX_OBJECT_BYTES: u64 = 100 * 1000 * 1000;

/// An object's content once read.
pub(crate) enum Held {
    /// Up to [`MAX_OBJECT_BYTES`].
    Memory(Bytes),
    /// Larger: a temporary file, deleted when the input is done.
    Spooled(tempfile::TempPath),
}

/// One input: where its bytes are.
pub(crate) enum InputFile {
    /// A file on this machine.
    Local(PathBuf),
    /// An object, read once when first needed.
    Object {
        store: Arc<dyn ObjectStore>,
        path: ObjectPath,
        size: u64,
        etag: Option<String>,
        shown: PathBuf,
        held: tokio::sync::OnceCell<Held>,
    },
}

impl InputFile {
    /// The path or URL shown in events and messages.
    pub(crate) fn shown(&self) -> &Path {
        match self {
            InputFile::Local(path) => path,
            InputFile::Object { shown, .. } => shown,
        }
    }

    /// What identifies this content in the manifest: a file's SHA-256; for an object, its
    /// ETag and size, which the listing gives without reading it (so a resumed worker does not
    /// download finished documents again), else the SHA-256 of its bytes.
    pub(crate) async fn identity(&self) -> std::io::Result<String> {
        match self {
            InputFile::Local(path) => crate::list::hash_file(path.clone()).await,
            InputFile::Object {
                etag: Some(etag),
                size,
                ..
            } => Ok(format!("etag:{}:{size}", etag.trim_matches('"'))),
            InputFile::Object { .. } => match self.held().await? {
                Held::Memory(bytes) => Ok(hex(&Sha256::digest(bytes))),
                Held::Spooled(path) => crate::list::hash_file(path.to_path_buf()).await,
            },
        }
    }

    /// Whether [`identity`](Self::identity) is the content's SHA-256 (the output cache's key).
    pub(crate) fn identity_is_sha256(&self) -> bool {
        !matches!(self, InputFile::Object { etag: Some(_), .. })
    }

    /// Reads what a submission will send, so a store that fails is a file error before any
    /// request (a file is read by the client as it sends).
    pub(crate) async fn ready(&self) -> std::io::Result<()> {
        match self {
            InputFile::Local(_) => Ok(()),
            InputFile::Object { .. } => self.held().await.map(drop),
        }
    }

    /// An object's content, fetched on the first call: into memory up to
    /// [`MAX_OBJECT_BYTES`], else into a temporary file (up to the pre-signed limit). The
    /// listing's size is a claim: a body is read up to its limit, no further.
    async fn held(&self) -> std::io::Result<&Held> {
        let InputFile::Object {
            store,
            path,
            size,
            shown,
            held,
            ..
        } = self
        else {
            return Err(std::io::Error::other("not an object"));
        };
        held.get_or_try_init(|| async {
            let limit = if *size > MAX_OBJECT_BYTES {
                extract_api::PRESIGNED_LIMIT
            } else {
                MAX_OBJECT_BYTES
            };
            let too_large = || {
                std::io::Error::new(
                    std::io::ErrorKind::FileTooLarge,
                    format!("{} is larger than {limit} bytes; not read", shown.display()),
                )
            };
            if *size > limit {
                return Err(too_large());
            }
            let mut body = store.get(path).await.map_err(store_error)?.into_stream();
            let mut read = 0u64;
            if *size <= MAX_OBJECT_BYTES {
                let mut bytes = bytes::BytesMut::with_capacity(usize::try_from(*size).unwrap_or(0));
                while let Some(chunk) = body.try_next().await.map_err(store_error)? {
                    read += chunk.len() as u64;
                    if read > limit {
                        return Err(too_large());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                return Ok(Held::Memory(bytes.freeze()));
            }
            let spool = tokio::task::spawn_blocking(|| {
                tempfile::Builder::new()
                    .prefix(".kensho-extract-object-")
                    .tempfile()
            })
            .await
            .map_err(std::io::Error::other)??;
            let (file, temp) = spool.into_parts();
            let mut file = tokio::fs::File::from_std(file);
            while let Some(chunk) = body.try_next().await.map_err(store_error)? {
                read += chunk.len() as u64;
                if read > limit {
                    return Err(too_large());
                }
                file.write_all(&chunk).await?;
            }
            file.flush().await?;
            Ok(Held::Spooled(temp))
        })
        .await
    }

    /// The page count, if the document can be read (one that cannot is sent whole).
    pub(crate) async fn page_count(&self) -> Option<u32> {
        let data = match self {
            InputFile::Local(path) => return file_pages(path.clone()).await,
            InputFile::Object { .. } => match self.held().await.ok()? {
                Held::Memory(bytes) => bytes.clone(),
                Held::Spooled(path) => return file_pages(path.to_path_buf()).await,
            },
        };
        // Read from its structure, in place: no copy of the object's bytes.
        tokio::task::spawn_blocking(move || {
            let len = data.len() as u64;
            extract_api::count_pages_in(&mut std::io::Cursor::new(data), len).ok()
        })
        .await
        .ok()
        .flatten()
    }

    /// Submits the document: a file by the client's own path choice, an object from the
    /// bytes read once.
    pub(crate) async fn submit<A: ExtractApi>(
        &self,
        api: &A,
        options: &ExtractionOptions,
    ) -> Result<JobHandle, ApiError> {
        match self {
            InputFile::Local(path) => api.submit_file(path, options).await,
            InputFile::Object { path, .. } => {
                // Read before the submission is recorded ([`InputFile::ready`]): nothing sent.
                match self.held().await.map_err(|e| {
                    ApiError::build(e.kind().into(), format!("{path}: cannot read")).with_source(e)
                })? {
                    Held::Memory(bytes) => {
                        let name = path.filename().unwrap_or("document.pdf");
                        api.submit_bytes(bytes.clone(), name, options).await
                    }
                    Held::Spooled(file) => api.submit_file(file, options).await,
                }
            }
        }
    }
}

/// A file's page count, read from its structure off the runtime's threads.
async fn file_pages(path: PathBuf) -> Option<u32> {
    tokio::task::spawn_blocking(move || extract_api::count_pages_of_file(&path).ok())
        .await
        .ok()
        .flatten()
}

/// An object store's error as an I/O error, keeping its kind where there is one.
pub(crate) fn store_error(error: object_store::Error) -> std::io::Error {
    let kind = match &error {
        object_store::Error::NotFound { .. } => std::io::ErrorKind::NotFound,
        object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. } => {
            std::io::ErrorKind::AlreadyExists
        }
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => std::io::ErrorKind::PermissionDenied,
        _ => std::io::ErrorKind::Other,
    };
    std::io::Error::new(kind, error.to_string())
}

#[cfg(test)]
mod tests {
    use object_store::PutPayload;
    use object_store::memory::InMemory;

    use crate::place::{Place, StorePrefix};
    use crate::shard::Shard;
    use proptest::prelude::*;

    use super::*;
    use crate::list::list;
    use crate::name::mirror_name;

    #[test]
    fn mirrored_names_keep_the_folders_and_stay_apart() {
        assert_eq!(mirror_name(Some("2024/q1/a.pdf"), "k"), "2024/q1/a");
        assert_eq!(mirror_name(Some("a.pdf"), "k"), "a");
        assert_eq!(mirror_name(Some("/data/in/a.pdf"), "k"), "data/in/a");
        // Upper-case extensions, unsafe parts and unknown paths get the key's hash.
        let upper = mirror_name(Some("a.PDF"), "s3://b/a.PDF");
        assert!(
            upper.starts_with("a.PDF-") && upper.len() == "a.PDF-".len() + 8,
            "{upper}"
        );
        let climbing = mirror_name(Some("../x.pdf"), "k1");
        assert!(
            climbing.starts_with("__-") || climbing.starts_with("__/"),
            "{climbing}"
        );
        assert_ne!(
            mirror_name(Some("a:b.pdf"), "k1"),
            mirror_name(Some("a_b.pdf"), "k2")
        );
        assert!(mirror_name(None, "k").starts_with("document-"));
    }

    #[test]
    fn a_real_input_named_like_a_made_name_gets_a_name_of_its_own() {
        // `x y.pdf` is made into `x y`… no: `x:y.pdf` into `x_y-<hash>`; an input really
        // called that must not be given the same name.
        let made = mirror_name(Some("x:y.pdf"), "s3://b/in/x:y.pdf");
        let real = mirror_name(
            Some(&format!("{made}.pdf")),
            &format!("s3://b/in/{made}.pdf"),
        );
        assert_ne!(made, real);
        assert!(real.starts_with(&format!("{made}-")), "{real}");
        // Names that only look a little like made ones are kept.
        assert_eq!(mirror_name(Some("report-2024.pdf"), "k"), "report-2024");
        assert_eq!(mirror_name(Some("x-1A2B3C4D.pdf"), "k"), "x-1A2B3C4D");
    }

    proptest! {
        /// A name from any listing stays below the output folder.
        #[test]
        fn mirrored_names_stay_inside(relative in "[a-z./\\\\:]{0,30}", key in ".{0,20}") {
            let name = mirror_name(Some(&relative), &key);
            let path = std::path::Path::new("/out").join(&name);
            prop_assert!(path.starts_with("/out"));
            prop_assert!(!path.components().any(|c| matches!(c, std::path::Component::ParentDir)));
            prop_assert!(name.split('/').all(|p| !p.is_empty() && !p.starts_with('.')));
            // What a run names, a later run reads back as safe (and keeps).
            prop_assert!(crate::names::is_safe_name(&name), "{}", name);
        }

        /// Two inputs of one listing never get one name, whatever they are called: a kept
        /// name never ends as a made one does, so the two kinds never meet.
        #[test]
        fn two_inputs_never_share_a_mirrored_name(
            a in "([a-z_:]{1,3}(-[0-9a-f]{8})?/){0,2}[a-z_:]{1,3}(-[0-9a-f]{8})?(\\.pdf|\\.PDF)?",
            b in "([a-z_:]{1,3}(-[0-9a-f]{8})?/){0,2}[a-z_:]{1,3}(-[0-9a-f]{8})?(\\.pdf|\\.PDF)?",
        ) {
            prop_assume!(a != b);
            let (key_a, key_b) = (format!("s3://b/in/{a}"), format!("s3://b/in/{b}"));
            prop_assert_ne!(mirror_name(Some(&a), &key_a), mirror_name(Some(&b), &key_b));
            // Nor does a made name meet the name of another input called as it is.
            let made = mirror_name(Some(&a), &key_a);
            let named = format!("{made}.pdf");
            if named != a {
                prop_assert_ne!(mirror_name(Some(&named), &format!("s3://b/in/{named}")), made.clone());
            }
        }
    }

    #[tokio::test]
    async fn a_store_listing_keeps_this_shards_pdfs_sorted() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        for name in [
            "in/b.pdf",
            "in/a.pdf",
            "in/sub/c.PDF",
            "in/notes.txt",
            "other/d.pdf",
        ] {
            store
                .put(
                    &ObjectPath::from(name),
                    PutPayload::from_static(b"%PDF-1.4"),
                )
                .await
                .expect("puts");
        }
        let at = StorePrefix::new(store, ObjectPath::from("in"), "memory:///in");
        let all = list(&[Place::Store(at.clone())], None)
            .await
            .expect("lists");
        let keys: Vec<&str> = all.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "memory:///in/a.pdf",
                "memory:///in/b.pdf",
                "memory:///in/sub/c.PDF"
            ]
        );
        assert_eq!(all[2].relative.as_deref(), Some("sub/c.PDF"));
        let mut seen = 0;
        for index in 0..2 {
            let shard = Shard::new(index, 2).expect("shard");
            let part = list(&[Place::Store(at.clone())], Some(shard))
                .await
                .expect("lists");
            assert!(part.iter().all(|l| shard.contains(&l.key)));
            seen += part.len();
        }
        assert_eq!(seen, 3);
        // Two prefixes with the same files: their names go under each prefix's own.
        let other = StorePrefix::new(
            at.store().clone(),
            ObjectPath::from("other"),
            "memory:///other",
        );
        other
            .store()
            .put(
                &ObjectPath::from("other/sub/c.PDF"),
                PutPayload::from_static(b"%PDF"),
            )
            .await
            .expect("puts");
        let both = list(&[Place::Store(at.clone()), Place::Store(other)], None)
            .await
            .expect("lists");
        let relatives: Vec<&str> = both.iter().filter_map(|l| l.relative.as_deref()).collect();
        assert_eq!(
            relatives,
            [
                "in/a.pdf",
                "in/b.pdf",
                "in/sub/c.PDF",
                "other/d.pdf",
                "other/sub/c.PDF"
            ]
        );
        let identity = all[0].file.identity().await.expect("identity");
        assert!(identity.starts_with("etag:"), "{identity}");
    }

    #[tokio::test]
    async fn an_object_above_the_direct_limit_goes_from_a_temporary_file_that_is_then_deleted() {
        use extract_api::{MockExtractApi, RetrievalMode};

        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let size = MAX_OBJECT_BYTES as usize + 1;
        let mut big = vec![b' '; size];
        big[..8].copy_from_slice(b"%PDF-1.4");
        store
            .put(&ObjectPath::from("in/big.pdf"), big.into())
            .await
            .expect("puts");
        let at = StorePrefix::new(store, ObjectPath::from("in"), "memory:///in");
        let listed = list(&[Place::Store(at)], None).await.expect("lists");
        let file = &listed[0].file;
        file.ready().await.expect("spooled");
        let spooled = match file {
            InputFile::Object { held, .. } => match held.get() {
                Some(Held::Spooled(path)) => path.to_path_buf(),
                _ => panic!("not spooled"),
            },
            InputFile::Local(_) => panic!("an object"),
        };
        assert_eq!(
            std::fs::metadata(&spooled).expect("there").len(),
            size as u64
        );
        let mut api = MockExtractApi::new();
        let expected = spooled.clone();
        api.expect_submit_file()
            .withf(move |path, _| path == expected)
            .returning(|_, _| Ok(JobHandle::new("r", RetrievalMode::Presigned)));
        let submitted = file
            .submit(&api, &ExtractionOptions::new())
            .await
            .expect("submits");
        assert_eq!(submitted.request_id, "r");
        drop(listed);
        assert!(
            !spooled.exists(),
            "the temporary copy is gone with its input"
        );
    }
}
