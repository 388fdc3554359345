//! The production flow: a client assertion exchanged at Okta's token endpoint.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use url::Url;

use crate::endpoint::{checked_url, redacted};
use crate::http::{body_excerpt, retry_after, send_error};
use crate::token::expiry_in;
use crate::{AuthError, ClientAssertion, Secret, Token, TokenSource};

/// The scope of Kensho Extract.
pub const EXTRACT_SCOPE: &str = "kensho:app:extract";
/// Kensho's Okta token endpoint.
pub const KENSHO_TOKEN_URL: &str = "https://kensho.okta.com/oauth2/default/v1/token";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Exchanges a fresh client assertion for an access token on every call.
#[derive(Debug, Clone)]
pub struct KeypairSource {
    http: reqwest::Client,
    token_url: Url,
    assertion: ClientAssertion,
    scopes: Vec<String>,
    timeout: Duration,
}

/// The parts of Okta's answer we read; the rest is optional by OAuth and ignored.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    /// Seconds, as any JSON value: only a number (or a string of one) is read, clamped.
    pub expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    error_description: Option<String>,
}

impl KeypairSource {
    /// A source for `assertion`'s client at `token_url` (use [`KENSHO_TOKEN_URL`] for Kensho),
    /// asking for the Extract scope.
    pub fn new(
        http: reqwest::Client,
        token_url: &str,
        assertion: ClientAssertion,
    ) -> Result<Self, AuthError> {
        Ok(KeypairSource {
            http,
            token_url: checked_url(token_url, "token URL")?,
            assertion,
            scopes: vec![EXTRACT_SCOPE.to_string()],
            timeout: Duration::from_secs(30),
        })
    }

    /// Asks for these scopes instead (sent space-joined).
    pub fn with_scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The time one exchange may take (30 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

#[async_trait]
impl TokenSource for KeypairSource {
    async fn token(&self) -> Result<Token, AuthError> {
        let assertion = self.assertion.sign()?;
        let scope = self.scopes.join(" ");
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", scope.as_str()),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion.expose()),
        ];
        let response = self
            .http
            .post(self.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| send_error(&self.token_url, e, self.timeout))?;
        read_token_response(&self.token_url, response, self.timeout).await
    }

    fn method(&self) -> &'static str {
        "keypair"
    }
}

/// Reads a token endpoint's answer: a token, an OAuth error, or another refusal.
pub(crate) async fn read_token_response(
    url: &Url,
    response: reqwest::Response,
    timeout: Duration,
) -> Result<Token, AuthError> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .text()
        .await
        .map_err(|e| send_error(url, e, timeout))?;
    token_from_answer(url, status, &headers, &body)
}

/// Turns a token endpoint's answer (status, headers, body) into a token or the error it says.
///
/// Every number in it is the server's, so none is trusted: `expires_in` is read leniently and
/// clamped ([`crate::MAX_TOKEN_LIFETIME`]), `Retry-After` is bounded
/// ([`crate::http::retry_after`]), and an `access_token` that could not travel in an
/// `Authorization` header is refused here, before any request carries it.
pub(crate) fn token_from_answer(
    url: &Url,
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
) -> Result<Token, AuthError> {
    let retry = retry_after(headers);
    if !status.is_success() {
        if let Ok(oauth) = serde_json::from_str::<OAuthError>(body) {
            return Err(AuthError::OAuth {
                status: status.as_u16(),
                error: oauth.error,
                description: oauth.error_description.unwrap_or_default(),
                retry_after: retry,
            });
        }
        return Err(AuthError::Rejected {
            url: redacted(url),
            status: status.as_u16(),
            body: body_excerpt(body),
            retry_after: retry,
        });
    }
    let parsed: TokenResponse = serde_json::from_str(body).map_err(|e| AuthError::BadResponse {
        url: redacted(url),
        // serde's message names the field and position, never the token text.
        detail: e.to_string(),
    })?;
    if parsed.access_token.is_empty() {
        return Err(AuthError::BadResponse {
            url: redacted(url),
            detail: "the access_token is empty".into(),
        });
    }
    // RFC 6750's token characters are all visible ASCII; anything else would make every
    // request that carries it fail to build (and a submission look sent when it was not).
    if !parsed.access_token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AuthError::BadResponse {
            url: redacted(url),
            detail: "the access_token has characters an Authorization header cannot carry".into(),
        });
    }
    let expires_at = parsed.expires_in.as_ref().and_then(expiry_in);
    let secret = Secret::new(parsed.access_token);
    Ok(match expires_at {
        Some(at) => Token::new(secret, Some(at)),
        None => Token::from_jwt_or_opaque(secret),
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use proptest::prelude::*;
    use reqwest::StatusCode;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
    use serde_json::{Value, json};

    use super::*;
    use crate::{CachedTokenSource, MAX_TOKEN_LIFETIME, MockTokenSource};

    fn url() -> Url {
        Url::parse("https://kensho.okta.com/oauth2/default/v1/token").expect("url")
    }

    fn answer(status: u16, body: &str) -> Result<Token, AuthError> {
        let status = StatusCode::from_u16(status).expect("status");
        token_from_answer(&url(), status, &HeaderMap::new(), body)
    }

    /// A JWT (unsigned: only its claims are read) with these claims.
    fn jwt(claims: &Value) -> String {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.sig",
            b64(r#"{"alg":"RS256"}"#),
            b64(&claims.to_string())
        )
    }

    #[test]
    fn a_lifetime_past_any_clock_is_clamped_not_a_panic() {
        let token = answer(
            200,
            r#"{"access_token":"x","token_type":"Bearer","expires_in":18446744073709551615}"#,
        )
        .expect("a token");
        let left = token.remaining().expect("known");
        assert!(
            left <= MAX_TOKEN_LIFETIME && left >= MAX_TOKEN_LIFETIME - Duration::from_secs(60),
            "{left:?}"
        );
        for (expires_in, about) in [
            ("-5", 0),
            ("0", 0),
            ("3600.9", 3600),
            (r#""3600""#, 3600),
            ("1e308", 86_400),
        ] {
            let body = format!(r#"{{"access_token":"x","expires_in":{expires_in}}}"#);
            let left = answer(200, &body)
                .expect("a token")
                .remaining()
                .expect("known");
            assert!(
                left.as_secs() <= about && left.as_secs() + 60 >= about,
                "{expires_in}: {left:?}"
            );
        }
        // Not a number: the expiry is read from the token itself, or unknown.
        let opaque = answer(200, r#"{"access_token":"x","expires_in":{"a":1}}"#).expect("token");
        assert_eq!(opaque.remaining(), None);
    }

    #[test]
    fn a_jwt_exp_past_any_clock_is_clamped_not_a_panic() {
        for (exp, expired) in [
            (json!(u64::MAX), false),
            (json!(1e300), false),
            (json!(-1), true),
            (json!(-1e300), true),
            (json!(1.5), true),
        ] {
            let token = Token::from_jwt_or_opaque(Secret::new(jwt(&json!({ "exp": exp }))));
            let at = token.expires_at().expect("an exp");
            let left = token.remaining().expect("an exp");
            assert!(left <= MAX_TOKEN_LIFETIME, "{exp}");
            assert_eq!(at <= SystemTime::now(), expired, "{exp}");
            assert!(at >= UNIX_EPOCH);
        }
        let stringly = Token::from_jwt_or_opaque(Secret::new(jwt(&json!({ "exp": "soon" }))));
        assert_eq!(stringly.expires_at(), None);
    }

    #[test]
    fn a_token_no_header_can_carry_is_refused_before_it_is_sent() {
        for bad in ["a b", "line\nbreak", "tab\there", "é"] {
            let body = json!({ "access_token": bad }).to_string();
            assert!(
                matches!(answer(200, &body), Err(AuthError::BadResponse { .. })),
                "{bad:?}"
            );
        }
    }

    /// Any JSON value: the numbers servers get wrong (`u64::MAX`, negative, fractions, huge),
    /// strings (of digits too, some huge), and nested arrays and objects.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            Just(Value::from(u64::MAX)),
            any::<i64>().prop_map(Value::from),
            Just(Value::from(i64::MIN)),
            any::<f64>().prop_filter_map("JSON has no NaN or infinity", |f| {
                serde_json::Number::from_f64(f).map(Value::Number)
            }),
            prop_oneof![Just(1e308), Just(-1e308), Just(0.5), Just(-0.0), Just(4e19)]
                .prop_map(Value::from),
            ".{0,40}".prop_map(Value::from),
            any::<u64>().prop_map(|n| Value::from(n.to_string())),
            any::<f64>().prop_map(|f| Value::from(f.to_string())),
            (1usize..5_000).prop_map(|n| Value::from("9".repeat(n))),
            (1usize..100_000).prop_map(|n| Value::from("x".repeat(n))),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(".{0,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A number as servers get them wrong: past any clock, negative, fractional, huge.
    fn any_number() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<u64>().prop_map(Value::from),
            Just(Value::from(u64::MAX)),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter_map("JSON has no NaN or infinity", |f| {
                serde_json::Number::from_f64(f).map(Value::Number)
            }),
            (0u64..200_000).prop_map(Value::from),
        ]
    }

    /// An access token: an arbitrary value, or a JWT whose `exp` is any number or value.
    fn any_access_token() -> impl Strategy<Value = Value> {
        prop_oneof![
            any_json(),
            prop_oneof![any_number(), any_json()]
                .prop_map(|exp| Value::from(jwt(&json!({ "exp": exp })))),
            Just(Value::from("opaque-token")),
        ]
    }

    /// A token endpoint's body: an object whose fields are each absent or any value, or text
    /// that is not JSON at all.
    fn any_body() -> impl Strategy<Value = String> {
        let field = |value: BoxedStrategy<Value>| prop::option::weighted(0.8, value);
        prop_oneof![
            4 => (
                field(any_access_token().boxed()),
                field(any_json().boxed()),
                field(prop_oneof![any_number(), any_json()].boxed()),
                field(any_json().boxed()),
                field(any_json().boxed()),
                field(any_json().boxed()),
            )
                .prop_map(|(access_token, token_type, expires_in, scope, error, description)| {
                    let mut body = serde_json::Map::new();
                    for (name, value) in [
                        ("access_token", access_token),
                        ("token_type", token_type),
                        ("expires_in", expires_in),
                        ("scope", scope),
                        ("error", error),
                        ("error_description", description),
                    ] {
                        if let Some(value) = value {
                            body.insert(name.into(), value);
                        }
                    }
                    Value::Object(body).to_string()
                }),
            1 => ".{0,200}",
        ]
    }

    /// A `Retry-After` value: seconds (huge ones too), dates, or garbage.
    fn any_retry_after() -> impl Strategy<Value = Option<String>> {
        prop::option::of(prop_oneof![
            any::<u64>().prop_map(|n| n.to_string()),
            Just(u64::MAX.to_string()),
            (1usize..400).prop_map(|n| "9".repeat(n)),
            Just("Sun, 06 Nov 1994 08:49:37 GMT".to_string()),
            Just("Fri, 31 Dec 9999 23:59:59 GMT".to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            "[ -~]{0,40}",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever a token endpoint answers, reading it never panics, a token's expiry is at
        /// most a day away, a `Retry-After` is bounded, and the cache in front of every source
        /// handles the token it makes.
        #[test]
        fn no_token_answer_panics(
            status in prop_oneof![3 => Just(200u16), 1 => 100u16..=999],
            retry_after in any_retry_after(),
            body in any_body(),
        ) {
            let status = StatusCode::from_u16(status).expect("three digits");
            let mut headers = HeaderMap::new();
            if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                headers.insert(RETRY_AFTER, value);
            }
            match token_from_answer(&url(), status, &headers, &body) {
                Ok(token) => {
                    prop_assert!(status.is_success());
                    if let Some(left) = token.remaining() {
                        prop_assert!(left <= MAX_TOKEN_LIFETIME);
                    }
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_time()
                        .build()
                        .expect("runtime");
                    runtime.block_on(async {
                        let mut source = MockTokenSource::new();
                        source.expect_method().return_const("mock");
                        source.expect_token().returning(move || Ok(token.clone()));
                        let cache = CachedTokenSource::new(source);
                        cache.token().await.expect("served");
                        cache.token().await.expect("served again");
                    });
                }
                Err(error) => {
                    let _ = error.to_string();
                    if let Some(wait) = error.retry_after() {
                        prop_assert!(wait <= crate::http::MAX_RETRY_AFTER);
                    }
                }
            }
        }
    }
}
