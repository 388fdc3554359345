//! The five Kensho Extract v3 endpoints.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, Request, State as AxumState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::time::Instant;
use uuid::Uuid;

use crate::form::{self, Form};
use crate::output::{DOCUMENT_TYPES, OUTPUT_FORMATS};
use crate::reply::ApiError;
use crate::state::{Job, JobOptions, Mode, Phase, State, lock};
use crate::{pdf, storage};

/// Marks a request whose token the fault injector decided to treat as expired.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ForceExpired;

/// Checks the bearer token: issued by this emulator, signed by it, not expired.
fn authorize(state: &State, request: &Request) -> Result<(), ApiError> {
    let refuse = |why: &str| {
        state.count(|s| s.unauthorized += 1);
        ApiError::unauthorized(why)
    };
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| refuse("Not authenticated: send `Authorization: Bearer <access token>`"))?;
    let token = header
        .strip_prefix("Bearer ")
        .ok_or_else(|| refuse("The Authorization header must be `Bearer <access token>`"))?;
    let jwt = state
        .signer
        .verify(token.trim())
        .ok_or_else(|| refuse("The access token is invalid"))?;
    let exp = jwt.int_claim("exp").unwrap_or(0);
    if exp <= state.clock.now_unix() as i64 || request.extensions().get::<ForceExpired>().is_some()
    {
        return Err(refuse("The access token has expired"));
    }
    let revoke_after = lock(&state.faults).spec().revoke_after;
    if let Some(limit) = revoke_after {
        let id = jwt.str_claim("jti").unwrap_or(token);
        if state.use_token(id, exp) > limit {
            state.count(|s| *s.faults.entry("revoke".into()).or_default() += 1);
            // The words of a service that revokes tokens early: it calls them expired.
            return Err(refuse("The access token has expired"));
        }
    }
    Ok(())
}

fn job_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found())
}

/// Options common to both ways of creating a job.
fn options(form: &Form, output_format_required: bool) -> Result<JobOptions, ApiError> {
    let document_type = form
        .one_of("document_type", DOCUMENT_TYPES, true)?
        .unwrap_or_default();
    form.boolean("ocr", true)?;
    form.boolean("enhanced_table_extraction", true)?;
    for optional in ["figure_extraction", "include_images", "include_relations"] {
        form.boolean(optional, false)?;
    }
    let absolute_page_numbers = form
        .boolean("return_absolute_pdf_page_numbers", false)?
        .unwrap_or(false);
    let output_format = form.one_of("output_format", OUTPUT_FORMATS, output_format_required)?;
    let pages = form
        .optional("pages")
        .map(form::parse_pages)
        .transpose()
        .map_err(|why| ApiError::field("pages", why))?;
    if let Some(n) = form.optional("num_pages_to_extract")
        && n.parse::<u32>().is_err()
    {
        return Err(ApiError::field(
            "num_pages_to_extract",
            "must be a whole number",
        ));
    }
    Ok(JobOptions {
        document_type,
        output_format,
        pages,
        absolute_page_numbers,
        document_id: form.optional("document_id").map(String::from),
    })
}

/// Reads a document and checks the page selection against it; a selection past the end is
/// the caller's error (400), a document that is no PDF is the job's failure.
async fn process(
    path: std::path::PathBuf,
    pages: Option<Vec<u32>>,
) -> Result<Result<Vec<pdf::Page>, String>, ApiError> {
    let outcome = tokio::task::spawn_blocking(move || {
        let bytes =
            std::fs::read(&path).map_err(|e| format!("the document could not be read: {e}"))?;
        pdf::extract(&bytes)
    })
    .await
    .unwrap_or_else(|e| Err(format!("the extraction crashed: {e}")));
    if let (Ok(doc), Some(pages)) = (&outcome, pages) {
        let count = pdf::page_count(doc);
        if let Some(past) = pages.iter().find(|&&p| p > count) {
            return Err(ApiError::field(
                "pages",
                format!("page {past} is past the end of the document ({count} pages)"),
            ));
        }
    }
    Ok(outcome)
}

/// `POST /v3/extractions`.
pub(crate) async fn submit(
    AxumState(state): AxumState<Arc<State>>,
    request: Request,
) -> Result<Response, ApiError> {
    if let Err(refused) = authorize(&state, &request) {
        form::drain(request).await;
        return Err(refused);
    }
    let limit = state.config.max_document_bytes;
    if form::declared_too_large(&request, limit) {
        return Err(ApiError::too_large(limit));
    }
    let id = Uuid::new_v4();
    let path = form::document_path(&state.documents, &id);
    let form = form::read(request, &path, limit)
        .await
        .map_err(|e| match e {
            form::FormError::TooLarge => ApiError::too_large(limit),
            other => other.into(),
        })?;
    let result = async {
        let options = options(&form, false)?;
        if form.file.as_ref().is_none_or(|f| f.len == 0) {
            return Err(ApiError::field(
                "file",
                "field required: the document to extract",
            ));
        }
        let mut outcome = process(path.clone(), options.pages.clone()).await?;
        if state.take_failure() {
            outcome = Err("the emulator was told to fail this job".into());
        }
        let mode = if options.output_format.is_some() {
            Mode::Presigned
        } else {
            Mode::Inline
        };
        let job = Job {
            mode,
            options,
            phase: Phase::Processing {
                ready_at: Instant::now() + state.config.job_duration,
            },
            outcome: Some(outcome),
            document: path.clone(),
        };
        lock(&state.jobs).insert(id, job);
        state.count(|s| s.submissions += 1);
        Ok(axum::Json(json!({ "request_id": id })).into_response())
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&path).await;
    }
    result
}

/// `GET /v3/extractions/{request_id}`: status, and the output inline once done.
pub(crate) async fn status(
    AxumState(state): AxumState<Arc<State>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Result<Response, ApiError> {
    authorize(&state, &request)?;
    let id = job_id(&id)?;
    let format = match query.get("output_format") {
        None => "structured_document_with_locations",
        Some(f) if OUTPUT_FORMATS.contains(&f.as_str()) => f,
        Some(f) => {
            return Err(ApiError::field(
                "output_format",
                format!("`{f}` is not one of {}", OUTPUT_FORMATS.join(", ")),
            ));
        }
    };
    let jobs = lock(&state.jobs);
    let job = jobs.get(&id).ok_or_else(ApiError::not_found)?;
    if job.mode == Mode::Presigned {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "This request was created with an output_format: poll /v3/extractions/download-url/{request_id} instead",
        ));
    }
    state.count(|s| *s.polls.entry(id.to_string()).or_default() += 1);
    Ok(axum::Json(json!({
        "status": job.status(),
        "error": job.error(),
        "output": job.output(format),
        "metadata": job.metadata(),
    }))
    .into_response())
}

/// `POST /v3/extractions/upload-url`: a job awaiting its document, and where to upload it.
pub(crate) async fn upload_url(
    AxumState(state): AxumState<Arc<State>>,
    request: Request,
) -> Result<Response, ApiError> {
    if let Err(refused) = authorize(&state, &request) {
        form::drain(request).await;
        return Err(refused);
    }
    let id = Uuid::new_v4();
    let path = form::document_path(&state.documents, &id);
    // This form has no file part; a small limit keeps a misdirected upload from being read.
    let form = form::read(request, &path, 0).await?;
    let options = options(&form, true)?;
    let job = Job {
        mode: Mode::Presigned,
        options,
        phase: Phase::AwaitingUpload,
        outcome: None,
        document: path,
    };
    lock(&state.jobs).insert(id, job);
    state.count(|s| s.upload_urls += 1);
    Ok(
        axum::Json(json!({ "request_id": id, "upload_spec": storage::upload_spec(&state, &id) }))
            .into_response(),
    )
}

/// `PUT /v3/extractions/upload-complete`: the document is uploaded, start processing.
pub(crate) async fn upload_complete(
    AxumState(state): AxumState<Arc<State>>,
    request: Request,
) -> Result<Response, ApiError> {
    if let Err(refused) = authorize(&state, &request) {
        form::drain(request).await;
        return Err(refused);
    }
    let scratch = state.documents.join(format!("{}.ignored", Uuid::new_v4()));
    let form = form::read(request, &scratch, 0).await?;
    let id = job_id(form.required("request_id")?)?;
    let (path, pages) = {
        let jobs = lock(&state.jobs);
        let job = jobs.get(&id).ok_or_else(ApiError::not_found)?;
        match job.phase {
            Phase::AwaitingUpload => {
                return Err(ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "The document has not been uploaded yet: POST it to the upload_spec url first",
                ));
            }
            Phase::AwaitingUploadComplete => (job.document.clone(), job.options.pages.clone()),
            Phase::Processing { .. } => return Ok(StatusCode::NO_CONTENT.into_response()),
        }
    };
    // With pre-signed uploads the page check can only fail the job, not the request.
    let outcome = match process(path, pages).await {
        Ok(outcome) => outcome,
        Err(_) => Err("the `pages` selection goes past the end of the document".to_string()),
    };
    if let Some(job) = lock(&state.jobs).get_mut(&id) {
        job.outcome = Some(outcome);
        job.phase = Phase::Processing {
            ready_at: Instant::now() + state.config.job_duration,
        };
    }
    state.count(|s| s.upload_completions += 1);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v3/extractions/download-url/{request_id}`: status, and a pre-signed output URL once done.
pub(crate) async fn download_url(
    AxumState(state): AxumState<Arc<State>>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    authorize(&state, &request)?;
    let id = job_id(&id)?;
    let jobs = lock(&state.jobs);
    let job = jobs.get(&id).ok_or_else(ApiError::not_found)?;
    if job.mode == Mode::Inline {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "This request was created without an output_format: poll /v3/extractions/{request_id} instead",
        ));
    }
    state.count(|s| *s.polls.entry(id.to_string()).or_default() += 1);
    let status = job.status();
    let output_url = (status == "success").then(|| storage::download_url(&state, &id));
    Ok(axum::Json(json!({
        "status": status,
        "error": job.error(),
        "output_url": output_url,
        "metadata": job.metadata(),
    }))
    .into_response())
}
