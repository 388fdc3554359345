//! Object-store URLs on the command line: `s3://bucket/prefix`, `gs://…`, `az://…` and
//! `file://…`, for `run`'s inputs and `--out-dir`. Credentials, regions and endpoints come from
//! each cloud's standard environment (`AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL`,
//! `AWS_ALLOW_HTTP`, `GOOGLE_APPLICATION_CREDENTIALS`, `AZURE_STORAGE_ACCOUNT_NAME`, …), as the
//! clouds' own tools read them.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use extract_batch::{Place, StorePrefix};
use object_store::client::{ClientOptions, HttpClient, HttpConnector};
use object_store::list::PaginatedListStore;
use object_store::{ObjectStore, ObjectStoreScheme};

use crate::Failure;

/// How long a store may keep a request without sending a byte before the request is retried
/// (object_store retries with backoff): a silent store never stalls a run.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A path, or an object-store URL, as the location it names.
pub fn place(raw: &Path) -> Result<Place, Failure> {
    let Some(text) = raw.to_str().filter(|t| is_url(t)) else {
        return Ok(Place::Local(raw.to_path_buf()));
    };
    let url = url::Url::parse(text).map_err(|e| format!("{text}: not a URL ({e})"))?;
    if url.scheme() == "file" {
        let path = url
            .to_file_path()
            .map_err(|()| format!("{text}: not a local path; write file:///absolute/path"))?;
        return Ok(Place::Local(path));
    }
    // Credentials in the URL are used to reach the store, never shown.
    let shown = extract_batch::redact_url(text);
    let shown = shown.as_str();
    let (scheme, prefix) = ObjectStoreScheme::parse(&url)
        // The parser's message repeats the URL, credentials and all: the scheme says enough.
        .map_err(|_| unsupported(shown, format!("scheme {}", url.scheme())))?;
    // S3 is listed page by page, so one odd key is skipped rather than failing the listing.
    let mut pages: Option<Arc<dyn PaginatedListStore>> = None;
    let store: Arc<dyn ObjectStore> = match scheme {
        ObjectStoreScheme::AmazonS3 => {
            let s3 = Arc::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_url(text)
                    .with_http_connector(Connector)
                    .build()
                    .map_err(|e| {
                        configuration(shown, "AWS_ACCESS_KEY_ID, AWS_REGION, AWS_ENDPOINT_URL", e)
                    })?,
            );
            pages = Some(s3.clone());
            s3
        }
        ObjectStoreScheme::GoogleCloudStorage => Arc::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(text)
                .with_http_connector(Connector)
                .build()
                .map_err(|e| configuration(shown, "GOOGLE_APPLICATION_CREDENTIALS", e))?,
        ),
        ObjectStoreScheme::MicrosoftAzure => Arc::new(
            object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(text)
                .with_http_connector(Connector)
                .build()
                .map_err(|e| {
                    configuration(
                        shown,
                        "AZURE_STORAGE_ACCOUNT_NAME, AZURE_STORAGE_ACCESS_KEY",
                        e,
                    )
                })?,
        ),
        other => return Err(unsupported(shown, format!("{other:?}")).into()),
    };
    let prefix = object_store::path::Path::parse(prefix)
        .map_err(|e| format!("{shown}: not an object path ({e})"))?;
    let at = StorePrefix::new(store, prefix, text);
    Ok(Place::Store(match pages {
        Some(pages) => at.with_paged_listing(pages),
        None => at,
    }))
}

/// Whether `text` starts like a URL (`scheme://`), not a path.
fn is_url(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

fn unsupported(text: &str, why: impl std::fmt::Display) -> String {
    format!(
        "{text}: not a supported location ({why}); give a path, or an s3://, gs://, az:// or file:// URL"
    )
}

fn configuration(text: &str, variables: &str, error: object_store::Error) -> String {
    format!(
        "{text}: cannot use this store ({error}); set {variables} or the cloud's other standard variables"
    )
}

/// The HTTP client for stores: this tool's own (the TLS stack the build chose, the platform's
/// roots, no redirect to another origin), with a read timeout.
#[derive(Debug)]
struct Connector;

impl HttpConnector for Connector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        let client = extract_auth::http::client_builder()
            .read_timeout(READ_TIMEOUT)
            .build()
            .map_err(|e| object_store::Error::Generic {
                store: "HTTP",
                source: Box::new(e),
            })?;
        Ok(HttpClient::new(client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths_are_told_apart() {
        assert!(is_url("s3://bucket/in"));
        assert!(is_url("file:///tmp/x"));
        assert!(!is_url("in/s3:/x"));
        assert!(!is_url("report.pdf"));
        assert!(matches!(place(Path::new("in")), Ok(Place::Local(_))));
        assert!(matches!(
            place(Path::new("file:///tmp/in")),
            Ok(Place::Local(p)) if p == Path::new("/tmp/in")
        ));
        let ftp = place(Path::new("ftp://host/x"))
            .expect_err("refused")
            .to_string();
        assert!(ftp.contains("s3://"), "{ftp}");
    }

    #[test]
    fn an_unsupported_url_keeps_its_credentials_to_itself() {
        let refused = place(Path::new("ftp://user:hunter2@host/x?token=tok-123"))
            .expect_err("refused")
            .to_string();
        assert!(refused.contains("scheme ftp"), "{refused}");
        assert!(
            !refused.contains("hunter2") && !refused.contains("tok-123"),
            "{refused}"
        );
    }

    #[test]
    fn an_s3_url_names_its_prefix() {
        let Ok(Place::Store(at)) = place(Path::new("s3://bucket/in/2024/")) else {
            panic!("a store");
        };
        assert_eq!(at.url(), "s3://bucket/in/2024");
    }
}
