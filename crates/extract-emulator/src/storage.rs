//! The pre-signed storage side: an S3-style POST upload and a signed output download.
//!
//! Signatures are HMAC-SHA256 over what the URL or policy grants, with a key made at start, so
//! a URL cannot be forged or stretched past its expiry.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, Request, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::form::{self, FormError};
use crate::reply::s3_error;
use crate::state::{Phase, State, lock};

/// The fields a pre-signed POST carries, in the order the service lists them.
const POLICY_FIELDS: &[&str] = &[
    "key",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "policy",
    "x-amz-signature",
];

fn sign(state: &State, data: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::hmac::sign(&state.storage_key, data.as_bytes()))
}

/// The `upload_spec` for a job: the URL to POST to and the fields to send before the file.
pub(crate) fn upload_spec(state: &State, id: &Uuid) -> Value {
    let expires = state.clock.now_unix() + state.config.presigned_lifetime.as_secs();
    let key = format!("uploads/{id}.pdf");
    let policy = STANDARD.encode(
        json!({
            "expiration": expires,
            "conditions": [{"key": key}, ["content-length-range", 1, state.config.max_upload_bytes]],
        })
        .to_string(),
    );
    json!({
        "url": format!("{}/_storage/upload", state.base_url),
        "fields": {
            "key": key,
            "x-amz-algorithm": "AWS4-HMAC-SHA256",
            "x-amz-credential": "EMULATOR/us-east-1/s3/aws4_request",
            "x-amz-date": expires.to_string(),
            "policy": policy,
            "x-amz-signature": sign(state, &policy),
        }
    })
}

/// A pre-signed URL for a finished job's output.
pub(crate) fn download_url(state: &State, id: &Uuid) -> String {
    let expires = state.clock.now_unix() + state.config.presigned_lifetime.as_secs();
    let signature = sign(state, &format!("{id}:{expires}"));
    format!(
        "{}/_storage/output/{id}?expires={expires}&signature={signature}",
        state.base_url
    )
}

/// `POST /_storage/upload`: the S3-style pre-signed POST (fields first, then `file`; 204).
pub(crate) async fn upload(AxumState(state): AxumState<Arc<State>>, request: Request) -> Response {
    let limit = state.config.max_upload_bytes;
    if form::declared_too_large(&request, limit) {
        return s3_error(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
        );
    }
    let scratch = state.documents.join(format!("{}.upload", Uuid::new_v4()));
    let form = match form::read(request, &scratch, limit).await {
        Ok(form) => form,
        Err(FormError::TooLarge) => {
            return s3_error(
                StatusCode::BAD_REQUEST,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
            );
        }
        Err(_) => {
            return s3_error(
                StatusCode::BAD_REQUEST,
                "MalformedPOSTRequest",
                "The body of your POST request is not well-formed multipart/form-data.",
            );
        }
    };
    let refuse = |status, code, message: &str| {
        let _ = std::fs::remove_file(&scratch);
        s3_error(status, code, message)
    };
    for field in POLICY_FIELDS {
        if !form.fields.contains_key(*field) {
            return refuse(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                &format!("Bucket POST must contain a field named '{field}'."),
            );
        }
    }
    if form.file.is_none() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "POST requires exactly one file upload per request.",
        );
    }
    if form.order.last().map(String::as_str) != Some("file") {
        return refuse(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "The file must be the last field of the form.",
        );
    }
    let policy = &form.fields["policy"];
    if sign(&state, policy) != form.fields["x-amz-signature"] {
        return refuse(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
    }
    let Some(grant) = STANDARD
        .decode(policy)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "InvalidPolicyDocument",
            "Invalid Policy: Invalid JSON.",
        );
    };
    if grant["expiration"]
        .as_u64()
        .is_none_or(|exp| exp <= state.clock.now_unix())
    {
        return refuse(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Invalid according to Policy: Policy expired.",
        );
    }
    let key = &form.fields["key"];
    if grant["conditions"][0]["key"].as_str() != Some(key.as_str()) {
        return refuse(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Invalid according to Policy: Policy Condition failed: [\"eq\", \"$key\"]",
        );
    }
    let Some(id) = key
        .strip_prefix("uploads/")
        .and_then(|k| k.strip_suffix(".pdf"))
        .and_then(|k| Uuid::parse_str(k).ok())
    else {
        return refuse(StatusCode::FORBIDDEN, "AccessDenied", "Unknown key");
    };
    let mut jobs = lock(&state.jobs);
    let Some(job) = jobs.get_mut(&id) else {
        return refuse(StatusCode::FORBIDDEN, "AccessDenied", "Unknown key");
    };
    if let Err(e) = std::fs::rename(&scratch, &job.document) {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            &format!("could not store the upload: {e}"),
        );
    }
    if matches!(job.phase, Phase::AwaitingUpload) {
        job.phase = Phase::AwaitingUploadComplete;
    }
    drop(jobs);
    state.count(|s| s.uploads += 1);
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /_storage/output/{id}?expires=…&signature=…`: the bare output document.
pub(crate) async fn output(
    AxumState(state): AxumState<Arc<State>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let denied = |message: &str| s3_error(StatusCode::FORBIDDEN, "AccessDenied", message);
    let (Some(expires), Some(signature)) = (query.get("expires"), query.get("signature")) else {
        return denied("Query-string authentication requires the expires and signature parameters");
    };
    if sign(&state, &format!("{id}:{expires}")) != *signature {
        return s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
    }
    if expires
        .parse::<u64>()
        .map_or(true, |e| e <= state.clock.now_unix())
    {
        return denied("Request has expired");
    }
    let Ok(id) = Uuid::parse_str(&id) else {
        return s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    let jobs = lock(&state.jobs);
    let output = jobs.get(&id).and_then(|job| {
        let format = job
            .options
            .output_format
            .clone()
            .unwrap_or_else(|| "structured_document_with_locations".into());
        job.output(&format)
    });
    drop(jobs);
    match output {
        Some(document) => {
            state.count(|s| s.downloads += 1);
            axum::Json(document).into_response()
        }
        None => s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        ),
    }
}
