//! The token endpoint refuses every malformed or dishonest request with Okta's status and
//! error code, and issues RS256 access tokens to honest ones.

use crate::common::*;
use extract_emulator::EmulatorConfig;
use extract_keys::{KeySize, PrivateKey};
use serde_json::{Value, json};

async fn env() -> Env {
    Env::start(EmulatorConfig::default()).await
}

/// Exchanges an assertion made of `header` and `claims`, signed with `key`.
async fn exchange(env: &Env, key: &PrivateKey, header: Value, claims: Value) -> (u16, Value) {
    let assertion = sign(key, &header, &claims);
    env.token_request(&[
        ("grant_type", "client_credentials"),
        ("scope", "kensho:app:extract"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", &assertion),
    ])
    .await
}

fn assert_refused(got: (u16, Value), status: u16, error: &str, words: &str) {
    let (code, body) = got;
    assert_eq!(
        (code, body["error"].as_str()),
        (status, Some(error)),
        "{body}"
    );
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains(words),
        "`{description}` should mention `{words}`"
    );
}

#[tokio::test]
async fn a_good_assertion_gets_an_rs256_access_token_with_exp() {
    let env = env().await;
    let (status, body) = exchange(
        &env,
        key(),
        rs256(),
        claims(&env.client_id, &env.emulator.token_url()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "kensho:app:extract");
    let token = body["access_token"].as_str().expect("token");
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    use base64::Engine;
    let decode = |p: &str| -> Value {
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .expect("b64"),
        )
        .expect("json")
    };
    assert_eq!(decode(parts[0])["alg"], "RS256");
    let claims = decode(parts[1]);
    assert_eq!(claims["sub"], env.client_id.as_str());
    assert!((claims["exp"].as_i64().expect("exp") - now() - 3600).abs() < 5);
    assert_eq!(env.emulator.stats().token_exchanges, 1);
}

#[tokio::test]
async fn several_scopes_are_space_joined() {
    let env = env().await;
    let assertion = sign(
        key(),
        &rs256(),
        &claims(&env.client_id, &env.emulator.token_url()),
    );
    let (status, body) = env
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("scope", "openid kensho:app:extract"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "openid kensho:app:extract");
}

#[tokio::test]
async fn request_shape_errors_are_invalid_request_or_grant_or_scope() {
    let env = env().await;
    let assertion = sign(
        key(),
        &rs256(),
        &claims(&env.client_id, &env.emulator.token_url()),
    );
    let good = [
        ("grant_type", "client_credentials"),
        ("scope", "kensho:app:extract"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion.as_str()),
    ];

    // JSON instead of a form.
    let response = env
        .http
        .post(env.emulator.token_url())
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .expect("answers");
    let got = (
        response.status().as_u16(),
        response.json::<Value>().await.expect("json"),
    );
    assert_refused(got, 400, "invalid_request", "x-www-form-urlencoded");

    for missing in 0..good.len() {
        let fields: Vec<_> = good
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != missing)
            .map(|(_, f)| *f)
            .collect();
        assert_refused(
            env.token_request(&fields).await,
            400,
            "invalid_request",
            good[missing].0,
        );
    }

    let mut wrong_grant = good;
    wrong_grant[0].1 = "password";
    assert_refused(
        env.token_request(&wrong_grant).await,
        400,
        "unsupported_grant_type",
        "password",
    );

    let mut wrong_type = good;
    wrong_type[2].1 = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer";
    assert_refused(
        env.token_request(&wrong_type).await,
        400,
        "invalid_request",
        "client_assertion_type",
    );

    let mut wrong_scope = good;
    wrong_scope[1].1 = "kensho:app:scribe";
    assert_refused(
        env.token_request(&wrong_scope).await,
        400,
        "invalid_scope",
        "kensho:app:extract",
    );

    assert_eq!(env.emulator.stats().token_exchanges, 0);
    assert!(env.emulator.stats().token_rejections >= 8);
}

#[tokio::test]
async fn dishonest_assertions_are_invalid_client() {
    let env = env().await;
    let url = env.emulator.token_url();
    let id = env.client_id.clone();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = claims(&id, &url);
        change(&mut c);
        c
    };

    let stranger = PrivateKey::generate(KeySize::Rsa2048).expect("key");
    assert_refused(
        exchange(&env, &stranger, rs256(), claims(&id, &url)).await,
        401,
        "invalid_client",
        "signature",
    );
    assert_refused(
        exchange(
            &env,
            key(),
            rs256(),
            with(&|c| {
                c["iss"] = json!("0oaUNKNOWN");
                c["sub"] = json!("0oaUNKNOWN");
            }),
        )
        .await,
        401,
        "invalid_client",
        "not registered",
    );
    assert_refused(
        exchange(
            &env,
            key(),
            rs256(),
            with(&|c| c["sub"] = json!("someone-else")),
        )
        .await,
        401,
        "invalid_client",
        "iss",
    );
    assert_refused(
        exchange(
            &env,
            key(),
            rs256(),
            with(&|c| c["aud"] = json!("https://kensho.okta.com/oauth2/default/v1/token")),
        )
        .await,
        401,
        "invalid_client",
        "aud",
    );
    assert_refused(
        exchange(
            &env,
            key(),
            rs256(),
            with(&|c| {
                c["iat"] = json!(now() - 7200);
                c["exp"] = json!(now() - 3600);
            }),
        )
        .await,
        401,
        "invalid_client",
        "expired",
    );
    assert_refused(
        exchange(
            &env,
            key(),
            rs256(),
            with(&|c| c["exp"] = json!(now() + 2 * 3600)),
        )
        .await,
        401,
        "invalid_client",
        "60 minutes",
    );
    assert_refused(
        exchange(
            &env,
            key(),
            rs256(),
            with(&|c| {
                c["iat"] = json!(now() + 600);
                c["exp"] = json!(now() + 900);
            }),
        )
        .await,
        401,
        "invalid_client",
        "future",
    );
    assert_eq!(env.emulator.stats().token_exchanges, 0);
}

#[tokio::test]
async fn a_small_clock_skew_is_tolerated() {
    let env = env().await;
    let mut c = claims(&env.client_id, &env.emulator.token_url());
    c["iat"] = json!(now() + 20);
    c["exp"] = json!(now() + 320);
    let (status, body) = exchange(&env, key(), rs256(), c).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn other_algorithms_are_refused_none_and_hs256_included() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let env = env().await;
    let c = claims(&env.client_id, &env.emulator.token_url());
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());

    let none = format!("{}.{}.", encode(&json!({"alg": "none"})), encode(&c));
    // HS256 keyed with the public key: the classic confusion attack.
    let input = format!("{}.{}", encode(&json!({"alg": "HS256"})), encode(&c));
    let mac_key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        key().public_key().to_spki_pem().as_bytes(),
    );
    let hs256 = format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(ring::hmac::sign(&mac_key, input.as_bytes()))
    );
    // RS256 signature bytes under an `alg` that claims RS512.
    let rs512 = sign(key(), &json!({"alg": "RS512"}), &c);

    for (assertion, alg) in [(none, "none"), (hs256, "HS256"), (rs512, "RS512")] {
        let got = env
            .token_request(&[
                ("grant_type", "client_credentials"),
                ("scope", "kensho:app:extract"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &assertion),
            ])
            .await;
        assert_refused(got, 401, "invalid_client", alg);
    }
    let garbage = env
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("scope", "kensho:app:extract"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", "not-a-jwt"),
        ])
        .await;
    assert_refused(garbage, 401, "invalid_client", "not a valid JWT");
}

#[tokio::test]
async fn a_replayed_jti_is_refused() {
    let env = env().await;
    let c = claims(&env.client_id, &env.emulator.token_url());
    assert_eq!(exchange(&env, key(), rs256(), c.clone()).await.0, 200);
    assert_refused(
        exchange(&env, key(), rs256(), c).await,
        401,
        "invalid_client",
        "jti",
    );
    assert_eq!(env.emulator.stats().token_exchanges, 1);
}

#[tokio::test]
async fn refresh_tokens_are_exchanged_only_when_registered() {
    let env = env().await;
    env.emulator.add_refresh_token("rt-valid").expect("adds");
    let refresh = |token: Option<&'static str>| {
        let mut request = env.http.get(env.url("/oauth2/refresh"));
        if let Some(t) = token {
            request = request.query(&[("refresh_token", t)]);
        }
        async move {
            let response = request.send().await.expect("answers");
            (
                response.status().as_u16(),
                response.json::<Value>().await.expect("json"),
            )
        }
    };
    let (status, body) = refresh(Some("rt-valid")).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().expect("token").to_string();
    let probe = env
        .http
        .get(env.url(&format!("/v3/extractions/{}", uuid::Uuid::new_v4())))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    assert_eq!(
        probe.status().as_u16(),
        404,
        "the refreshed token is accepted"
    );

    assert_refused(
        refresh(Some("rt-stolen")).await,
        401,
        "invalid_grant",
        "invalid",
    );
    assert_refused(refresh(None).await, 400, "invalid_request", "refresh_token");
    assert_eq!(env.emulator.stats().refresh_exchanges, 1);
}

#[tokio::test]
async fn a_crit_header_it_does_not_understand_is_refused() {
    let env = env().await;
    let got = exchange(
        &env,
        key(),
        json!({"alg": "RS256", "typ": "JWT", "crit": ["exp-x"], "exp-x": 1}),
        claims(&env.client_id, &env.emulator.token_url()),
    )
    .await;
    assert_refused(got, 401, "invalid_client", "crit");
    assert_eq!(env.emulator.stats().token_exchanges, 0);
}
