//! Reading `multipart/form-data` bodies as the service does: text fields, one streamed file,
//! strict `true`/`false` booleans, and the size limit enforced without reading past it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use tokio::io::AsyncWriteExt;

use crate::reply::ApiError;

/// A parsed form: its text fields, and the file part when there was one.
#[derive(Debug, Default)]
pub(crate) struct Form {
    pub fields: HashMap<String, String>,
    pub file: Option<StoredFile>,
    /// Text field names in the order they arrived, then `file` where the file came.
    pub order: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct StoredFile {
    pub len: u64,
}

/// Why a form could not be read.
#[derive(Debug)]
pub(crate) enum FormError {
    NotMultipart,
    TooLarge,
    Broken(String),
}

impl From<FormError> for ApiError {
    fn from(e: FormError) -> Self {
        match e {
            FormError::NotMultipart => ApiError::new(
                StatusCode::BAD_REQUEST,
                "The request body must be multipart/form-data",
            ),
            FormError::TooLarge => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "The document is too large")
            }
            FormError::Broken(why) => ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("Malformed multipart body: {why}"),
            ),
        }
    }
}

/// True when the declared body length is over `limit` (plus room for the form's other parts),
/// so the request can be refused before a byte of it is read.
pub(crate) fn declared_too_large(request: &Request, limit: u64) -> bool {
    request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|len| len > limit + 64 * 1024)
}

/// Reads the form; the part named `file` is streamed to `file_path`, never held in memory, and
/// reading stops as soon as it passes `limit` bytes.
pub(crate) async fn read(
    request: Request,
    file_path: &Path,
    limit: u64,
) -> Result<Form, FormError> {
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|_| FormError::NotMultipart)?;
    let mut form = Form::default();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| FormError::Broken(e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        form.order.push(name.clone());
        if name == "file" {
            let mut out = tokio::fs::File::create(file_path)
                .await
                .map_err(|e| FormError::Broken(format!("cannot store the document: {e}")))?;
            let mut len = 0u64;
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| FormError::Broken(e.body_text()))?
            {
                len += chunk.len() as u64;
                if len > limit {
                    drop(out);
                    let _ = tokio::fs::remove_file(file_path).await;
                    return Err(FormError::TooLarge);
                }
                out.write_all(&chunk)
                    .await
                    .map_err(|e| FormError::Broken(format!("cannot store the document: {e}")))?;
            }
            out.flush()
                .await
                .map_err(|e| FormError::Broken(e.to_string()))?;
            form.file = Some(StoredFile { len });
        } else {
            // A text field is an option value: read it to a bound, never whole.
            let mut value = Vec::new();
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| FormError::Broken(e.body_text()))?
            {
                if value.len() + chunk.len() > MAX_FIELD_BYTES {
                    return Err(FormError::Broken(format!(
                        "the field `{name}` is over {MAX_FIELD_BYTES} bytes"
                    )));
                }
                value.extend_from_slice(&chunk);
            }
            let value = String::from_utf8(value)
                .map_err(|_| FormError::Broken(format!("the field `{name}` is not UTF-8")))?;
            form.fields.insert(name, value);
        }
    }
    Ok(form)
}

impl Form {
    pub(crate) fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.fields
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| ApiError::field(name, "field required"))
    }

    pub(crate) fn optional(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// A boolean field: exactly `true` or `false`, as the service requires.
    pub(crate) fn boolean(&self, name: &str, required: bool) -> Result<Option<bool>, ApiError> {
        let value = if required {
            Some(self.required(name)?)
        } else {
            self.optional(name)
        };
        match value {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::field(
                name,
                format!("must be `true` or `false`, not `{other}`"),
            )),
        }
    }

    /// A field that must be one of `allowed`.
    pub(crate) fn one_of(
        &self,
        name: &str,
        allowed: &[&str],
        required: bool,
    ) -> Result<Option<String>, ApiError> {
        let value = if required {
            Some(self.required(name)?)
        } else {
            self.optional(name)
        };
        match value {
            None => Ok(None),
            Some(v) if allowed.contains(&v) => Ok(Some(v.to_string())),
            Some(v) => Err(ApiError::field(
                name,
                format!("`{v}` is not one of {}", allowed.join(", ")),
            )),
        }
    }
}

/// Parses a 1-based page selection such as `1-5,7,11,14-16` into page numbers, in order.
pub(crate) fn parse_pages(spec: &str) -> Result<Vec<u32>, String> {
    let mut pages = Vec::new();
    for part in spec.split(',').map(str::trim) {
        let bad = || format!("`{part}` is not a page or a range like 3-5");
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (
                a.trim().parse::<u32>().map_err(|_| bad())?,
                b.trim().parse::<u32>().map_err(|_| bad())?,
            ),
            None => {
                let n = part.parse::<u32>().map_err(|_| bad())?;
                (n, n)
            }
        };
        if first == 0 || last < first {
            return Err(format!(
                "`{part}`: pages count from 1 and ranges go upwards"
            ));
        }
        for page in first..=last {
            if !pages.contains(&page) {
                pages.push(page);
            }
        }
    }
    Ok(pages)
}

/// Reads a request's body to its end, keeping none of it. A refusal sent in the middle of an
/// upload reaches the client as a broken connection, not as the refusal; servers and gateways
/// read the request out first (except to refuse a body too large to read, 413).
pub(crate) async fn drain(request: Request) {
    // Read out so the client sees the refusal, up to a bound; past it the connection closes.
    let mut body = request.into_body().into_data_stream();
    let mut read = 0usize;
    while let Some(Ok(chunk)) = futures_util::StreamExt::next(&mut body).await {
        read += chunk.len();
        if read > MAX_DRAIN_BYTES {
            break;
        }
    }
}

/// The largest text field a form may carry.
const MAX_FIELD_BYTES: usize = 64 * 1024;

/// The most of a refused request's body that is read before closing its connection.
const MAX_DRAIN_BYTES: usize = 128 << 20;

/// Where a job's document is kept.
pub(crate) fn document_path(dir: &Path, id: &uuid::Uuid) -> PathBuf {
    dir.join(format!("{id}.document"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_selections() {
        assert_eq!(parse_pages("1-3,7,2,10-11"), Ok(vec![1, 2, 3, 7, 10, 11]));
        assert_eq!(parse_pages("4"), Ok(vec![4]));
        for bad in ["0", "3-1", "a", "1,,2", "1-", ""] {
            assert!(parse_pages(bad).is_err(), "{bad}");
        }
    }
}
