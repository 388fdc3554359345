//! A place named by text (feature `clouds`): a path, or an `s3://`, `gs://`, `az://` or
//! `file://` URL, as a command line or a Python caller gives it. Credentials, regions and
//! endpoints come from each cloud's standard environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, `GOOGLE_APPLICATION_CREDENTIALS`,
//! `AZURE_STORAGE_ACCOUNT_NAME`, …), as the clouds' own tools read them; credentials written in
//! the URL are used and never shown (errors name the place by [`redact_url`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use extract_api::ErrorKind;
use object_store::client::{ClientOptions, HttpClient, HttpConnector};
use object_store::{ObjectStore, ObjectStoreScheme};

use crate::{Place, StorePrefix, redact_url};

/// How long a store may keep a request without sending a byte before the request is retried
/// (object_store retries with backoff): a silent store never stalls a run.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Why text names no place this build can use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlaceError {
    /// It starts like a URL (`scheme://`) but is not one.
    #[error("{shown}: not a URL ({reason})")]
    #[non_exhaustive]
    NotAUrl {
        /// The text, credentials redacted.
        shown: String,
        /// What the URL parser found wrong.
        reason: String,
    },
    /// A `file://` URL that names no local path.
    #[error("{shown}: not a local path; write file:///absolute/path")]
    #[non_exhaustive]
    NotALocalPath {
        /// The text, credentials redacted.
        shown: String,
    },
    /// A URL of a scheme (or store) this crate does not read.
    #[error(
        "{shown}: not a supported location ({what}); give a path, or an s3://, gs://, az:// or file:// URL"
    )]
    #[non_exhaustive]
    Unsupported {
        /// The text, credentials redacted.
        shown: String,
        /// The scheme or store found.
        what: String,
    },
    /// The store's client cannot be made from the URL and the environment.
    #[error(
        "{shown}: cannot use this store ({reason}); set {variables} or the cloud's other standard variables"
    )]
    #[non_exhaustive]
    Store {
        /// The text, credentials redacted.
        shown: String,
        /// The cloud's main variables.
        variables: &'static str,
        /// What the store's builder refused, credentials redacted (its own message may repeat
        /// the URL whole, so it is kept as redacted text, not as the builder's error).
        reason: String,
    },
    /// The prefix is not an object path (an empty or `.` segment, …).
    #[error("{shown}: not an object path ({reason})")]
    #[non_exhaustive]
    NotAnObjectPath {
        /// The text, credentials redacted.
        shown: String,
        /// What is wrong with the path.
        reason: String,
    },
}

impl PlaceError {
    /// What kind of failure this is: a store that cannot be configured, else the text itself.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PlaceError::Store { .. } => ErrorKind::Config,
            _ => ErrorKind::InvalidInput,
        }
    }
}

impl Place {
    /// The place `text` names: an `s3://`, `gs://`, `az://` or `file://` URL, else a local
    /// path. A store's client uses the workspace's HTTP stack (its TLS, no redirect to another
    /// origin) with a read timeout; S3 is listed page by page, so one odd key is skipped rather
    /// than failing the listing.
    pub fn parse(text: &str) -> Result<Place, PlaceError> {
        if !is_url(text) {
            return Ok(Place::Local(PathBuf::from(text)));
        }
        let shown = redact_url(text);
        let url = url::Url::parse(text).map_err(|e| PlaceError::NotAUrl {
            shown: shown.clone(),
            reason: e.to_string(),
        })?;
        if url.scheme() == "file" {
            return url
                .to_file_path()
                .map(Place::Local)
                .map_err(|()| PlaceError::NotALocalPath { shown });
        }
        // The parser's message repeats the URL, credentials and all: the scheme says enough.
        let (scheme, prefix) =
            ObjectStoreScheme::parse(&url).map_err(|_| PlaceError::Unsupported {
                shown: shown.clone(),
                what: format!("scheme {}", url.scheme()),
            })?;
        let refused = |variables: &'static str| {
            let shown = shown.clone();
            let url = &url;
            move |e: object_store::Error| PlaceError::Store {
                reason: redacted(&e.to_string(), text, &shown, url),
                shown,
                variables,
            }
        };
        let mut paged = None;
        let store: Arc<dyn ObjectStore> = match scheme {
            ObjectStoreScheme::AmazonS3 => {
                let s3 = Arc::new(
                    object_store::aws::AmazonS3Builder::from_env()
                        .with_url(text)
                        .with_http_connector(Connector)
                        .build()
                        .map_err(refused("AWS_ACCESS_KEY_ID, AWS_REGION, AWS_ENDPOINT_URL"))?,
                );
                paged = Some(s3.clone());
                s3
            }
            ObjectStoreScheme::GoogleCloudStorage => Arc::new(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(text)
                    .with_http_connector(Connector)
                    .build()
                    .map_err(refused("GOOGLE_APPLICATION_CREDENTIALS"))?,
            ),
            ObjectStoreScheme::MicrosoftAzure => Arc::new(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(text)
                    .with_http_connector(Connector)
                    .build()
                    .map_err(refused(
                        "AZURE_STORAGE_ACCOUNT_NAME, AZURE_STORAGE_ACCESS_KEY",
                    ))?,
            ),
            other => {
                return Err(PlaceError::Unsupported {
                    shown,
                    what: format!("{other:?}"),
                });
            }
        };
        let prefix =
            object_store::path::Path::parse(prefix).map_err(|e| PlaceError::NotAnObjectPath {
                shown: shown.clone(),
                reason: e.to_string(),
            })?;
        let at = StorePrefix::new(store, prefix, text);
        Ok(Place::Store(match paged {
            Some(s3) => at.with_paged_listing(s3),
            None => at,
        }))
    }
}

/// `message` with the URL `text` (parsed as `url`) shown redacted, and each of its secrets
/// (user, password, query, fragment) wherever else it appears.
fn redacted(message: &str, text: &str, shown: &str, url: &url::Url) -> String {
    let mut message = message.replace(text, shown);
    let secrets = [
        Some(url.username()),
        url.password(),
        url.query(),
        url.fragment(),
    ];
    for secret in secrets.into_iter().flatten().filter(|s| !s.is_empty()) {
        message = message.replace(secret, "***");
    }
    message
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

/// The HTTP client for stores: the workspace's own (the TLS stack the build chose, the
/// platform's roots, no redirect to another origin), with a read timeout.
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
        assert!(matches!(Place::parse("in"), Ok(Place::Local(_))));
        assert!(matches!(
            Place::parse("file:///tmp/in"),
            Ok(Place::Local(p)) if p == std::path::Path::new("/tmp/in")
        ));
        let ftp = Place::parse("ftp://host/x").expect_err("refused");
        assert_eq!(ftp.kind(), ErrorKind::InvalidInput);
        assert!(ftp.to_string().contains("s3://"), "{ftp}");
    }

    #[test]
    fn a_refused_url_keeps_its_credentials_to_itself() {
        for text in [
            "ftp://user:hunter2@host/x?token=tok-123",
            "s3://user:hunter2@[::1/x?token=tok-123",
            "file://user:hunter2@remote-host/x?token=tok-123",
        ] {
            let refused = Place::parse(text).expect_err("refused");
            let shown = extract_api::Chain(&refused).to_string();
            assert!(
                !shown.contains("hunter2") && !shown.contains("tok-123"),
                "{shown}"
            );
        }
        let ftp = Place::parse("ftp://user:hunter2@host/x").expect_err("refused");
        assert!(matches!(ftp, PlaceError::Unsupported { ref what, .. } if what == "scheme ftp"));
    }

    proptest::proptest! {
        /// Any text, shaped like a URL with credentials or not: a place or a typed error,
        /// never a panic, and no error shows the password or the query's values.
        #[test]
        fn any_text_is_a_place_or_an_error_without_its_secrets(
            scheme in "(s3|gs|az|file|ftp|http|x\\+y|S3|)",
            user in "[a-z%:@]{0,6}",
            host in "[a-z0-9.\\[\\]:%-]{0,12}",
            path in "[a-z0-9/.%?#=&~ -]{0,16}",
            secret in "[0-9]{6}",
        ) {
            let text = format!("{scheme}://{user}:pw-{secret}@{host}/{path}?sig=tok-{secret}");
            if let Err(refused) = Place::parse(&text) {
                let shown = extract_api::Chain(&refused).to_string();
                proptest::prop_assert!(!shown.contains(&format!("pw-{secret}")), "{}", shown);
                proptest::prop_assert!(!shown.contains(&format!("tok-{secret}")), "{}", shown);
            }
        }
    }

    #[test]
    fn an_s3_url_names_its_prefix() {
        let Ok(Place::Store(at)) = Place::parse("s3://bucket/in/2024/") else {
            panic!("a store");
        };
        assert_eq!(at.url(), "s3://bucket/in/2024");
    }
}
