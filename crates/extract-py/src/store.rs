//! Object-store URLs for `run`: `s3://bucket/prefix`, `gs://…`, `az://…` and `file://…`, as
//! inputs and as the output folder, as the CLI takes them. Credentials, regions and endpoints
//! come from each cloud's standard environment (`AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL`,
//! `GOOGLE_APPLICATION_CREDENTIALS`, `AZURE_STORAGE_ACCOUNT_NAME`, …); credentials written in a
//! URL are used and never shown (`redact_url`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use extract_batch::{Place, StorePrefix, redact_url};
use object_store::client::{ClientOptions, HttpClient, HttpConnector};
use object_store::{ObjectStore, ObjectStoreScheme};

use crate::failure::{Failure, Result};

/// The longest a store may take to send the next bytes of an answer.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The place `text` names: a URL with a scheme, else a local path.
pub fn place(text: &str) -> Result<Place> {
    let is_url = text.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !is_url {
        return Ok(Place::Local(PathBuf::from(text)));
    }
    let shown = redact_url(text);
    let url =
        url::Url::parse(text).map_err(|e| Failure::input(format!("{shown}: not a URL ({e})")))?;
    if url.scheme() == "file" {
        return url.to_file_path().map(Place::Local).map_err(|()| {
            Failure::input(format!(
                "{shown}: not a local path; write file:///absolute/path"
            ))
        });
    }
    let (scheme, prefix) = ObjectStoreScheme::parse(&url)
        // The parser's message repeats the URL, credentials and all: the scheme says enough.
        .map_err(|_| unsupported(&shown, format!("scheme {}", url.scheme())))?;
    let configuration = |variables: &str, e: object_store::Error| {
        Failure::new(
            extract_api::ErrorKind::Config,
            format!(
                "{shown}: cannot use this store ({e}); set {variables} or the cloud's other standard variables"
            ),
        )
    };
    let at = match scheme {
        ObjectStoreScheme::AmazonS3 => {
            let s3 = Arc::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_url(text)
                    .with_http_connector(Connector)
                    .build()
                    .map_err(|e| {
                        configuration("AWS_ACCESS_KEY_ID, AWS_REGION, AWS_ENDPOINT_URL", e)
                    })?,
            );
            // Listed page by page, so one odd key is skipped rather than failing the listing.
            StorePrefix::new(s3.clone(), object_path(&shown, prefix)?, text).with_paged_listing(s3)
        }
        ObjectStoreScheme::GoogleCloudStorage => StorePrefix::new(
            store(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(text)
                    .with_http_connector(Connector)
                    .build()
                    .map_err(|e| configuration("GOOGLE_APPLICATION_CREDENTIALS", e))?,
            ),
            object_path(&shown, prefix)?,
            text,
        ),
        ObjectStoreScheme::MicrosoftAzure => StorePrefix::new(
            store(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(text)
                    .with_http_connector(Connector)
                    .build()
                    .map_err(|e| {
                        configuration("AZURE_STORAGE_ACCOUNT_NAME, AZURE_STORAGE_ACCESS_KEY", e)
                    })?,
            ),
            object_path(&shown, prefix)?,
            text,
        ),
        other => return Err(unsupported(&shown, format!("{other:?}"))),
    };
    Ok(Place::Store(at))
}

fn store(store: impl ObjectStore) -> Arc<dyn ObjectStore> {
    Arc::new(store)
}

fn object_path(shown: &str, prefix: object_store::path::Path) -> Result<object_store::path::Path> {
    object_store::path::Path::parse(prefix)
        .map_err(|e| Failure::input(format!("{shown}: not an object path ({e})")))
}

fn unsupported(shown: &str, why: impl std::fmt::Display) -> Failure {
    Failure::input(format!(
        "{shown}: not a supported location ({why}); give a path, or an s3://, gs://, az:// or file:// URL"
    ))
}

/// The stores' HTTP client: this workspace's (its TLS stack and redirect rules), with a read
/// timeout.
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
