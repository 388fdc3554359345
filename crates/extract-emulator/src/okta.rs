//! Okta's token endpoint (client-assertion grant) and the refresh-token endpoint.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;

use crate::jwt::Jwt;
use crate::reply::oauth_error;
use crate::state::{State, lock};

/// The scope every Kensho Extract token needs.
pub(crate) const EXTRACT_SCOPE: &str = "kensho:app:extract";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Okta refuses client assertions meant to live longer than an hour.
const MAX_ASSERTION_LIFETIME: i64 = 3600;

/// A refusal: status, OAuth error code, description.
type Refusal = (StatusCode, &'static str, String);

fn invalid_request(description: impl Into<String>) -> Refusal {
    (
        StatusCode::BAD_REQUEST,
        "invalid_request",
        description.into(),
    )
}

fn invalid_client(description: impl Into<String>) -> Refusal {
    (
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        description.into(),
    )
}

/// `POST /oauth2/default/v1/token`.
pub(crate) async fn token(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refusal) = refused_by_fault(&state, "invalid_client") {
        return refusal;
    }
    match exchange(&state, &headers, &body) {
        Ok(response) => {
            state.count(|s| s.token_exchanges += 1);
            response
        }
        Err((status, error, description)) => {
            state.count(|s| s.token_rejections += 1);
            oauth_error(status, error, &description)
        }
    }
}

fn exchange(state: &State, headers: &HeaderMap, body: &[u8]) -> Result<Response, Refusal> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(invalid_request(format!(
            "The token request must be application/x-www-form-urlencoded, not `{content_type}`"
        )));
    }
    let form: HashMap<String, String> = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .map_err(|_| invalid_request("The request body is not a valid form"))?
        .into_iter()
        .collect();
    let field = |name: &str| {
        form.get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| invalid_request(format!("The '{name}' parameter is required")))
    };
    let grant_type = field("grant_type")?;
    let scope = field("scope")?;
    let assertion_type = field("client_assertion_type")?;
    let assertion = field("client_assertion")?;

    if grant_type != "client_credentials" {
        return Err((
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("The grant type `{grant_type}` is not supported; use client_credentials"),
        ));
    }
    if assertion_type != ASSERTION_TYPE {
        return Err(invalid_request(format!(
            "The client_assertion_type must be {ASSERTION_TYPE}"
        )));
    }
    let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    if !scopes.contains(&EXTRACT_SCOPE) {
        return Err((
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            format!("The requested scope is invalid: `{EXTRACT_SCOPE}` is required"),
        ));
    }

    let client_id = verify_assertion(state, assertion)?;
    let (access_token, lifetime) = issue(state, &client_id, &scopes);
    Ok(axum::Json(json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "access_token": access_token,
        "scope": scopes.join(" "),
    }))
    .into_response())
}

/// Signs an access token for `subject`, as Okta would: an RS256 JWT with `exp`.
fn issue(state: &State, subject: &str, scopes: &[&str]) -> (String, i64) {
    let now = state.clock.now_unix() as i64;
    // Saturating: the token lifetime option takes any u64, and `as i64` would wrap it negative.
    let lifetime = i64::try_from(state.config.token_lifetime.as_secs()).unwrap_or(i64::MAX);
    let claims = json!({
        "ver": 1,
        "jti": format!("AT.{}", uuid::Uuid::new_v4().simple()),
        "iss": format!("{}/oauth2/default", state.base_url),
        "aud": "api://default",
        "iat": now,
        "exp": now.saturating_add(lifetime),
        "cid": subject,
        "sub": subject,
        "scp": scopes,
    });
    (state.signer.sign(&claims), lifetime)
}

/// Checks a client assertion as Okta does; returns the client id.
fn verify_assertion(state: &State, assertion: &str) -> Result<String, Refusal> {
    let jwt = Jwt::parse(assertion)
        .ok_or_else(|| invalid_client("The client_assertion is not a valid JWT"))?;
    match jwt.alg() {
        Some("RS256") => {}
        other => {
            return Err(invalid_client(format!(
                "The client_assertion signature algorithm `{}` is not allowed; use RS256",
                other.unwrap_or("(none)")
            )));
        }
    }
    // RFC 7515 section 4.1.11: a `crit` header lists extensions the recipient must understand;
    // this recipient understands none.
    if jwt.header.contains_key("crit") {
        return Err(invalid_client(
            "The client_assertion has a `crit` header with extensions this server does not understand",
        ));
    }
    let iss = jwt
        .str_claim("iss")
        .ok_or_else(|| invalid_client("The client_assertion has no `iss` claim"))?;
    let sub = jwt
        .str_claim("sub")
        .ok_or_else(|| invalid_client("The client_assertion has no `sub` claim"))?;
    if iss != sub {
        return Err(invalid_client(
            "The `iss` and `sub` claims of the client_assertion must both be the client id",
        ));
    }
    let key = lock(&state.clients)
        .get(iss)
        .cloned()
        .ok_or_else(|| invalid_client(format!("The client `{iss}` is not registered")))?;
    if !jwt.verify_rs256(&key.to_pkcs1_der()) {
        return Err(invalid_client(
            "The client_assertion signature is invalid for this client's key",
        ));
    }
    let token_url = state.token_url();
    let audience_ok = match jwt.claims.get("aud") {
        Some(serde_json::Value::String(aud)) => *aud == token_url,
        Some(serde_json::Value::Array(auds)) => auds.len() == 1 && auds[0] == token_url.as_str(),
        _ => false,
    };
    if !audience_ok {
        return Err(invalid_client(format!(
            "The `aud` claim must be the token endpoint `{token_url}`"
        )));
    }
    let now = state.clock.now_unix() as i64;
    let skew = state.config.clock_skew.as_secs() as i64;
    let exp = jwt
        .int_claim("exp")
        .ok_or_else(|| invalid_client("The client_assertion needs an integer `exp` claim"))?;
    let iat = jwt
        .int_claim("iat")
        .ok_or_else(|| invalid_client("The client_assertion needs an integer `iat` claim"))?;
    if exp + skew <= now {
        return Err(invalid_client("The client_assertion has expired"));
    }
    if iat > now + skew {
        return Err(invalid_client(
            "The client_assertion was issued in the future; check this machine's clock",
        ));
    }
    if exp - iat > MAX_ASSERTION_LIFETIME {
        return Err(invalid_client(
            "The client_assertion lifetime (exp - iat) must be at most 60 minutes",
        ));
    }
    if let Some(jti) = jwt.str_claim("jti") {
        let mut seen = lock(&state.seen_jti);
        seen.retain(|_, expires| *expires + skew > now);
        if seen.insert(jti.to_string(), exp).is_some() {
            return Err(invalid_client(
                "The client_assertion `jti` was already used",
            ));
        }
    }
    Ok(iss.to_string())
}

/// The refusal of the `refuse-tokens-after=N` fault, once N tokens were issued.
fn refused_by_fault(state: &State, error: &'static str) -> Option<Response> {
    let limit = lock(&state.faults).spec().refuse_tokens_after?;
    let mut issued = 0;
    state.count(|s| issued = s.token_exchanges + s.refresh_exchanges);
    if issued < limit {
        return None;
    }
    state.count(|s| {
        s.token_rejections += 1;
        *s.faults.entry("refuse-tokens".into()).or_default() += 1;
    });
    let description = if error == "invalid_grant" {
        "The refresh token is invalid or expired"
    } else {
        "The client has been deactivated"
    };
    Some(oauth_error(StatusCode::UNAUTHORIZED, error, description))
}

/// `GET /oauth2/refresh?refresh_token=…`.
pub(crate) async fn refresh(
    AxumState(state): AxumState<Arc<State>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refusal) = refused_by_fault(&state, "invalid_grant") {
        return refusal;
    }
    let Some(token) = query.get("refresh_token").filter(|t| !t.is_empty()) else {
        state.count(|s| s.token_rejections += 1);
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The 'refresh_token' parameter is required",
        );
    };
    if !lock(&state.refresh_tokens).contains(token) {
        state.count(|s| s.token_rejections += 1);
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "The refresh token is invalid or expired",
        );
    }
    let (access_token, lifetime) = issue(&state, "refresh-token-user", &[EXTRACT_SCOPE]);
    state.count(|s| s.refresh_exchanges += 1);
    axum::Json(json!({ "access_token": access_token, "expires_in": lifetime })).into_response()
}
