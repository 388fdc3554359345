//! The HTTP server: routes, the observing/fault-injecting middleware, and an accept loop that
//! can drop a connection without answering.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State as AxumState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

use crate::api::{self, ForceExpired};
use crate::faults::Fault;
use crate::reply::ApiError;
use crate::state::{LoggedRequest, State, lock};
use crate::{okta, storage};

/// Lets a handler's middleware close its connection without an answer.
#[derive(Debug, Clone)]
struct ConnectionKill(Arc<Notify>);

/// The largest body of a request that carries no document (a token exchange, a form of
/// options, an inspection call): such a request is never read past it.
pub(crate) const SMALL_BODY: usize = 64 * 1024;

pub(crate) fn router(state: Arc<State>) -> Router {
    let small = || DefaultBodyLimit::max(SMALL_BODY);
    Router::new()
        .route("/oauth2/default/v1/token", post(okta::token).layer(small()))
        .route("/oauth2/refresh", get(okta::refresh))
        .route("/v3/extractions", post(api::submit))
        .route(
            "/v3/extractions/upload-url",
            post(api::upload_url).layer(small()),
        )
        .route(
            "/v3/extractions/upload-complete",
            put(api::upload_complete).layer(small()),
        )
        .route(
            "/v3/extractions/download-url/{request_id}",
            get(api::download_url),
        )
        .route("/v3/extractions/{request_id}", get(api::status))
        .route("/_storage/upload", post(storage::upload))
        .route("/_storage/output/{id}", get(storage::output))
        .route("/_emulator/stats", get(stats))
        .route("/_emulator/clients", post(register_client).layer(small()))
        .route(
            "/_emulator/refresh-tokens",
            post(add_refresh_token).layer(small()),
        )
        .route("/_emulator/faults", put(set_faults).layer(small()))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "Not Found") })
        // Documents' size limits are the handlers' own (413 for the API, EntityTooLarge for
        // storage); other routes take SMALL_BODY at most.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Serves until `shutdown` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: std::time::Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let kill = Arc::new(Notify::new());
        let marked = ConnectionKill(kill.clone());
        let service =
            router
                .clone()
                .map_request(move |mut request: Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(marked.clone());
                    request
                });
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            // A client that opens a connection and trickles (or never sends) its headers is
            // cut off instead of holding the connection.
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            tokio::select! {
                _ = connection => {}
                // Dropping the connection future closes the socket with nothing sent.
                _ = kill.notified() => {}
                _ = shutdown.changed() => {}
            }
        });
    }
}

/// Logs every request and injects faults into the emulated services (not `/_emulator`).
async fn observe(
    AxumState(state): AxumState<Arc<State>>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let emulated = ["/v3/", "/oauth2/", "/_storage/"]
        .iter()
        .any(|p| path.starts_with(p));
    let fault = if emulated {
        lock(&state.faults).draw()
    } else {
        Fault::None
    };
    if path.starts_with("/v3/") {
        if !state.within_rate() {
            state.count(|s| s.rate_limited += 1);
            crate::form::drain(request).await;
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit exceeded (emulated)",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return response;
        }
        state.count(|s| s.api_requests += 1);
    }
    let uri = request
        .uri()
        .path_and_query()
        .map_or_else(|| path.to_string(), ToString::to_string);
    // Queries can carry refresh tokens and URL signatures: keep them out of the log output.
    tracing::debug!(method = %request.method(), path = %path, fault = ?fault.name(), "request");
    let index = {
        lock(&state.log).push(LoggedRequest {
            method: request.method().to_string(),
            uri,
            status: None,
            fault: fault.name().map(String::from),
        })
    };
    if let Some(name) = fault.name() {
        state.count(|s| *s.faults.entry(name.to_string()).or_default() += 1);
    }
    let response = match fault {
        Fault::None => next.run(request).await,
        Fault::Throttle => {
            crate::form::drain(request).await;
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests (emulated)",
            )
            .into_response();
            let seconds = lock(&state.faults).spec().retry_after_secs;
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Fault::Slow => {
            let delay = lock(&state.faults).spec().slow_delay;
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Fault::Error500 => {
            let _ = next.run(request).await;
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error (emulated)",
            )
            .into_response()
        }
        Fault::Drop => {
            let kill = request.extensions().get::<ConnectionKill>().cloned();
            let _ = next.run(request).await;
            if let Some(ConnectionKill(kill)) = kill {
                kill.notify_one();
                return std::future::pending().await;
            }
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "connection drop (emulated)",
            )
            .into_response()
        }
        Fault::Truncate => {
            let response = next.run(request).await;
            let (mut parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(
                parts,
                axum::body::Body::from(bytes.slice(..bytes.len() / 2)),
            )
        }
        Fault::ExpireToken => {
            request.extensions_mut().insert(ForceExpired);
            next.run(request).await
        }
    };
    if let Some(entry) = lock(&state.log).get_mut(index) {
        entry.status = Some(response.status().as_u16());
    }
    response
}

async fn stats(AxumState(state): AxumState<Arc<State>>) -> Response {
    let stats = lock(&state.stats).clone();
    let requests = lock(&state.log).to_vec();
    axum::Json(serde_json::json!({ "stats": stats, "requests": requests })).into_response()
}

#[derive(Deserialize)]
struct NewClient {
    public_key_pem: String,
}

async fn register_client(
    AxumState(state): AxumState<Arc<State>>,
    axum::Json(body): axum::Json<NewClient>,
) -> Response {
    let key = match extract_keys::PublicKey::from_pem_or_der(body.public_key_pem.as_bytes()) {
        Ok(key) => key,
        Err(e) => return ApiError::field("public_key_pem", e.to_string()).into_response(),
    };
    match state.register_client(key) {
        Ok(client_id) => axum::Json(serde_json::json!({ "client_id": client_id })).into_response(),
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
struct NewRefreshToken {
    refresh_token: String,
}

async fn add_refresh_token(
    AxumState(state): AxumState<Arc<State>>,
    axum::Json(body): axum::Json<NewRefreshToken>,
) -> Response {
    match state.add_refresh_token(&body.refresh_token) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
struct NewFaults {
    spec: String,
}

async fn set_faults(
    AxumState(state): AxumState<Arc<State>>,
    axum::Json(body): axum::Json<NewFaults>,
) -> Response {
    match body.spec.parse() {
        Ok(spec) => {
            lock(&state.faults).set_spec(spec);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => ApiError::field("spec", e).into_response(),
    }
}
