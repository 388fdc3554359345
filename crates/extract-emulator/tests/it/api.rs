//! The v3 endpoints, driven by a client made of nothing but reqwest: both retrieval modes, the
//! pre-signed upload, and the service's refusals.

use std::time::Duration;

use crate::common::*;
use extract_emulator::EmulatorConfig;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

fn instant_jobs() -> EmulatorConfig {
    EmulatorConfig::default().with_job_duration(Duration::ZERO)
}

async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn keypair_flow_then_inline_extraction_reads_back_the_pdfs_text() {
    let env = Env::start(instant_jobs()).await;
    let token = env.access_token().await;
    let (status, body) = json(
        env.http
            .post(env.url("/v3/extractions"))
            .bearer_auth(&token)
            .multipart(submission(pdf(), &[]))
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["request_id"].as_str().expect("request_id").to_string();
    uuid::Uuid::parse_str(&id).expect("a UUID");

    let (status, body) = json(
        env.http
            .get(env.url(&format!("/v3/extractions/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(body["error"], Value::Null);
    let tree = &body["output"]["content_tree"];
    assert_eq!(tree["type"], "DOCUMENT");
    let mut words = Vec::new();
    texts(tree, &mut words);
    assert_eq!(
        words,
        [
            "Emulator Test Report",
            "The first page talks about apples.",
            "Second Page",
            "The second page talks about pears."
        ]
    );
    assert_eq!(tree["children"][0]["type"], "H1");
    assert_eq!(tree["children"][1]["locations"][0]["page_number"], 1);

    // The plain format has no locations.
    let (_, body) = json(
        env.http
            .get(env.url(&format!("/v3/extractions/{id}")))
            .query(&[("output_format", "structured_document")])
            .bearer_auth(&token)
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert!(
        body["output"]["content_tree"]["children"][0]
            .get("locations")
            .is_none()
    );

    let stats = env.emulator.stats();
    assert_eq!((stats.token_exchanges, stats.submissions), (1, 1));
    assert_eq!(stats.polls.get(&id), Some(&2));
}

#[tokio::test]
async fn jobs_are_pending_until_their_time_has_passed() {
    let env = Env::start(EmulatorConfig::default().with_job_duration(Duration::from_secs(3))).await;
    let token = env.access_token().await;
    let (_, body) = json(
        env.http
            .post(env.url("/v3/extractions"))
            .bearer_auth(&token)
            .multipart(submission(pdf(), &[]))
            .send()
            .await
            .expect("answers"),
    )
    .await;
    let status_url = env.url(&format!(
        "/v3/extractions/{}",
        body["request_id"].as_str().expect("id")
    ));
    let poll = || async {
        json(
            env.http
                .get(&status_url)
                .bearer_auth(&token)
                .send()
                .await
                .expect("answers"),
        )
        .await
        .1
    };

    let pending = poll().await;
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["output"], Value::Null);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(poll().await["status"], "pending");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(poll().await["status"], "success");
}

#[tokio::test]
async fn pages_selection_and_page_numbers() {
    let env = Env::start(instant_jobs()).await;
    let token = env.access_token().await;
    let run = |extra: &'static [(&'static str, &'static str)]| {
        let request = env
            .http
            .post(env.url("/v3/extractions"))
            .bearer_auth(&token)
            .multipart(submission(pdf(), extra));
        let http = env.http.clone();
        let base = env.url("/v3/extractions/");
        let token = token.clone();
        async move {
            let (status, body) = json(request.send().await.expect("answers")).await;
            if status != 200 {
                return (status, body);
            }
            let id = body["request_id"].as_str().expect("id").to_string();
            json(
                http.get(format!("{base}{id}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("answers"),
            )
            .await
        }
    };
    let (_, body) = run(&[("pages", "2")]).await;
    let tree = &body["output"]["content_tree"];
    assert_eq!(tree["children"][0]["content"], "Second Page");
    assert_eq!(
        tree["children"][0]["locations"][0]["page_number"], 0,
        "0-based over the requested pages"
    );

    let (_, body) = run(&[("pages", "2"), ("return_absolute_pdf_page_numbers", "true")]).await;
    assert_eq!(
        body["output"]["content_tree"]["children"][0]["locations"][0]["page_number"],
        1
    );

    let (status, body) = run(&[("pages", "1-3")]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["detail"][0]["loc"][1], "pages");
    assert!(
        body["detail"][0]["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("page 3")
    );

    let (status, _) = run(&[("pages", "2-1")]).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn field_validation_names_the_field() {
    let env = Env::start(instant_jobs()).await;
    let token = env.access_token().await;
    let post = |form: Form| {
        let request = env
            .http
            .post(env.url("/v3/extractions"))
            .bearer_auth(&token)
            .multipart(form);
        async move { json(request.send().await.expect("answers")).await }
    };
    let cases: Vec<(Form, &str)> = vec![
        (
            Form::new()
                .text("ocr", "false")
                .text("enhanced_table_extraction", "false")
                .part("file", Part::bytes(pdf())),
            "document_type",
        ),
        (submission(pdf(), &[]).text("ocr", "yes"), "ocr"),
        (
            Form::new()
                .text("document_type", "fancy")
                .text("ocr", "false")
                .text("enhanced_table_extraction", "false")
                .part("file", Part::bytes(pdf())),
            "document_type",
        ),
        (
            Form::new()
                .text("document_type", "general")
                .text("ocr", "false")
                .part("file", Part::bytes(pdf())),
            "enhanced_table_extraction",
        ),
        (
            Form::new()
                .text("document_type", "general")
                .text("ocr", "false")
                .text("enhanced_table_extraction", "false"),
            "file",
        ),
        (
            submission(pdf(), &[("output_format", "markdown")]),
            "output_format",
        ),
        (
            submission(pdf(), &[("figure_extraction", "1")]),
            "figure_extraction",
        ),
    ];
    for (form, field) in cases {
        let (status, body) = post(form).await;
        assert_eq!(status, 400, "{field}: {body}");
        assert_eq!(body["detail"][0]["loc"][1], field, "{body}");
    }
    // Not multipart at all.
    let (status, _) = json(
        env.http
            .post(env.url("/v3/extractions"))
            .bearer_auth(&token)
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(env.emulator.stats().submissions, 0);
}

#[tokio::test]
async fn a_document_that_is_not_a_pdf_fails_with_an_error_text() {
    let env = Env::start(instant_jobs()).await;
    let token = env.access_token().await;
    let (_, body) = json(
        env.http
            .post(env.url("/v3/extractions"))
            .bearer_auth(&token)
            .multipart(submission(b"just some text".to_vec(), &[]))
            .send()
            .await
            .expect("answers"),
    )
    .await;
    let id = body["request_id"].as_str().expect("id");
    let (_, body) = json(
        env.http
            .get(env.url(&format!("/v3/extractions/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!(body["status"], "failed");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("not a PDF"),
        "{body}"
    );
    assert_eq!(body["output"], Value::Null);
}

#[tokio::test]
async fn tokens_missing_bad_or_expired_get_401_and_unknown_ids_404() {
    let env = Env::start(instant_jobs()).await;
    let probe = env.url(&format!("/v3/extractions/{}", uuid::Uuid::new_v4()));
    assert_eq!(
        env.http
            .get(&probe)
            .send()
            .await
            .expect("answers")
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        env.http
            .get(&probe)
            .bearer_auth("garbage")
            .send()
            .await
            .expect("answers")
            .status()
            .as_u16(),
        401
    );
    // A token signed by someone else, shaped like ours.
    let forged = sign(
        key(),
        &rs256(),
        &serde_json::json!({"sub": env.client_id, "exp": now() + 3600}),
    );
    assert_eq!(
        env.http
            .get(&probe)
            .bearer_auth(&forged)
            .send()
            .await
            .expect("answers")
            .status()
            .as_u16(),
        401
    );
    let token = env.access_token().await;
    assert_eq!(
        env.http
            .get(&probe)
            .bearer_auth(&token)
            .send()
            .await
            .expect("answers")
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        env.http
            .get(env.url("/v3/extractions/not-a-uuid"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("answers")
            .status()
            .as_u16(),
        404
    );
    assert_eq!(env.emulator.stats().unauthorized, 3);
}

#[tokio::test]
async fn access_tokens_expire() {
    let env =
        Env::start(EmulatorConfig::default().with_token_lifetime(Duration::from_secs(3))).await;
    let token = env.access_token().await;
    let probe = env.url(&format!("/v3/extractions/{}", uuid::Uuid::new_v4()));
    assert_eq!(
        env.http
            .get(&probe)
            .bearer_auth(&token)
            .send()
            .await
            .expect("answers")
            .status()
            .as_u16(),
        404
    );
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let response = env
        .http
        .get(&probe)
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.text().await.expect("body").contains("expired"));
}

#[tokio::test]
async fn presigned_flow_upload_url_upload_complete_download() {
    let env = Env::start(instant_jobs()).await;
    let token = env.access_token().await;
    let form = Form::new()
        .text("output_format", "structured_document_with_locations")
        .text("document_type", "general")
        .text("ocr", "false")
        .text("enhanced_table_extraction", "false");
    let (status, body) = json(
        env.http
            .post(env.url("/v3/extractions/upload-url"))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["request_id"].as_str().expect("id").to_string();
    let spec = &body["upload_spec"];
    let download_url = env.url(&format!("/v3/extractions/download-url/{id}"));
    let poll = || async {
        json(
            env.http
                .get(&download_url)
                .bearer_auth(&token)
                .send()
                .await
                .expect("answers"),
        )
        .await
        .1
    };
    assert_eq!(poll().await["status"], "awaiting_document_upload");

    // Completing before uploading is refused.
    let complete = || {
        env.http
            .put(env.url("/v3/extractions/upload-complete"))
            .bearer_auth(&token)
            .multipart(Form::new().text("request_id", id.clone()))
    };
    assert_eq!(
        complete().send().await.expect("answers").status().as_u16(),
        405
    );

    // The S3-style POST: every field first, then the file; no bearer token.
    let mut upload = Form::new();
    for (name, value) in spec["fields"].as_object().expect("fields") {
        upload = upload.text(name.clone(), value.as_str().expect("string").to_string());
    }
    upload = upload.part("file", Part::bytes(pdf()).file_name("doc.pdf"));
    let response = env
        .http
        .post(spec["url"].as_str().expect("url"))
        .multipart(upload)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(
        poll().await["status"],
        "awaiting_document_upload_complete_notification"
    );

    assert_eq!(
        complete().send().await.expect("answers").status().as_u16(),
        204
    );
    let done = poll().await;
    assert_eq!(done["status"], "success", "{done}");
    let output_url = done["output_url"].as_str().expect("output_url");
    let document: Value = env
        .http
        .get(output_url)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    assert!(
        document.get("content_tree").is_some() && document.get("status").is_none(),
        "a bare document"
    );
    let mut words = Vec::new();
    texts(&document["content_tree"], &mut words);
    assert!(words.contains(&"The second page talks about pears.".to_string()));
    assert_eq!(
        document["content_tree"]["children"][0]["type"], "TITLE",
        "general documents are flat"
    );

    // A tampered download URL is refused.
    let tampered = output_url.replace("signature=", "signature=x");
    assert_eq!(
        env.http
            .get(tampered)
            .send()
            .await
            .expect("answers")
            .status()
            .as_u16(),
        403
    );

    let stats = env.emulator.stats();
    assert_eq!(
        (
            stats.upload_urls,
            stats.uploads,
            stats.upload_completions,
            stats.downloads
        ),
        (1, 1, 1, 1)
    );
}

#[tokio::test]
async fn the_wrong_retrieval_mode_is_400() {
    let env = Env::start(instant_jobs()).await;
    let token = env.access_token().await;
    let submit = |extra: &'static [(&'static str, &'static str)]| {
        let request = env
            .http
            .post(env.url("/v3/extractions"))
            .bearer_auth(&token)
            .multipart(submission(pdf(), extra));
        async move {
            json(request.send().await.expect("answers")).await.1["request_id"]
                .as_str()
                .expect("id")
                .to_string()
        }
    };
    let inline = submit(&[]).await;
    let presigned = submit(&[("output_format", "structured_document")]).await;
    let get = |path: String| {
        let request = env.http.get(env.url(&path)).bearer_auth(&token);
        async move { request.send().await.expect("answers").status().as_u16() }
    };
    assert_eq!(
        get(format!("/v3/extractions/download-url/{inline}")).await,
        400
    );
    assert_eq!(get(format!("/v3/extractions/{presigned}")).await, 400);
    assert_eq!(get(format!("/v3/extractions/{inline}")).await, 200);
    assert_eq!(
        get(format!("/v3/extractions/download-url/{presigned}")).await,
        200
    );
}

#[tokio::test]
async fn presigned_uploads_check_fields_signature_order_and_expiry() {
    let env = Env::start(instant_jobs().with_presigned_lifetime(Duration::from_secs(3))).await;
    let token = env.access_token().await;
    let form = Form::new()
        .text("output_format", "structured_document")
        .text("document_type", "general")
        .text("ocr", "false")
        .text("enhanced_table_extraction", "false");
    let (_, body) = json(
        env.http
            .post(env.url("/v3/extractions/upload-url"))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .expect("answers"),
    )
    .await;
    let spec = body["upload_spec"].clone();
    let fields = spec["fields"].as_object().expect("fields").clone();
    let upload = |skip: Option<&str>, tamper: bool, file_first: bool| {
        let mut form = Form::new();
        if file_first {
            form = form.part("file", Part::bytes(pdf()));
        }
        for (name, value) in &fields {
            if Some(name.as_str()) == skip {
                continue;
            }
            let mut value = value.as_str().expect("string").to_string();
            if tamper && name == "x-amz-signature" {
                value.insert(0, 'A');
            }
            form = form.text(name.clone(), value);
        }
        if !file_first {
            form = form.part("file", Part::bytes(pdf()));
        }
        let request = env
            .http
            .post(spec["url"].as_str().expect("url"))
            .multipart(form);
        async move {
            let response = request.send().await.expect("answers");
            (
                response.status().as_u16(),
                response.text().await.expect("body"),
            )
        }
    };
    let (status, body) = upload(Some("policy"), false, false).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("<Code>InvalidArgument</Code>") && body.contains("policy"),
        "{body}"
    );
    let (status, body) = upload(None, true, false).await;
    assert_eq!(status, 403);
    assert!(body.contains("SignatureDoesNotMatch"), "{body}");
    let (status, body) = upload(None, false, true).await;
    assert_eq!(status, 400, "{body}");
    // Pre-signed URLs live `presigned_lifetime` (15 minutes by default; 3 s here).
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let (status, body) = upload(None, false, false).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Policy expired"), "{body}");
}

/// Every key a node or a location carries, across a tree.
fn shape(
    node: &Value,
    nodes: &mut std::collections::BTreeSet<String>,
    locations: &mut std::collections::BTreeSet<String>,
) {
    if let Some(map) = node.as_object() {
        nodes.extend(map.keys().cloned());
        for location in map
            .get("locations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            locations.extend(
                location
                    .as_object()
                    .into_iter()
                    .flat_map(|l| l.keys().cloned()),
            );
        }
    }
    for child in node["children"].as_array().into_iter().flatten() {
        shape(child, nodes, locations);
    }
}

#[tokio::test]
async fn outputs_have_the_shape_of_the_real_services_outputs() {
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/extract-output");
    let env = Env::start(instant_jobs()).await;
    let token = env.access_token().await;
    for (fixture, format) in [
        (
            "extract_output_hierarchical_v2.json",
            "structured_document_with_locations",
        ),
        ("extract_output_no_locs.json", "structured_document"),
        (
            "extract_output_char_offsets.json",
            "structured_document_with_char_offsets",
        ),
    ] {
        let real: Value =
            serde_json::from_slice(&std::fs::read(fixtures.join(fixture)).expect("fixture"))
                .expect("json");
        let real = if real.get("output").is_some() {
            real["output"].clone()
        } else {
            real
        };
        let (_, body) = json(
            env.http
                .post(env.url("/v3/extractions"))
                .bearer_auth(&token)
                .multipart(submission(pdf(), &[]))
                .send()
                .await
                .expect("answers"),
        )
        .await;
        let id = body["request_id"].as_str().expect("id").to_string();
        let (_, body) = json(
            env.http
                .get(env.url(&format!("/v3/extractions/{id}")))
                .query(&[("output_format", format)])
                .bearer_auth(&token)
                .send()
                .await
                .expect("answers"),
        )
        .await;
        let ours = &body["output"];
        let top = |v: &Value| {
            v.as_object()
                .map(|m| m.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        };
        assert_eq!(top(ours), top(&real), "{fixture}: top-level keys");
        let (mut real_nodes, mut real_locations) = Default::default();
        shape(&real["content_tree"], &mut real_nodes, &mut real_locations);
        let (mut our_nodes, mut our_locations) = Default::default();
        shape(&ours["content_tree"], &mut our_nodes, &mut our_locations);
        assert_eq!(our_nodes, real_nodes, "{fixture}: node keys");
        assert_eq!(our_locations, real_locations, "{fixture}: location keys");
    }
}

#[tokio::test]
async fn a_state_dir_keeps_clients_and_refresh_tokens_across_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = instant_jobs().with_state_dir(Some(dir.path().to_path_buf()));
    let first = Env::start(config.clone()).await;
    first.emulator.add_refresh_token("rt-kept").expect("adds");
    let client_id = first.client_id.clone();
    first.emulator.shutdown().await;

    let second = extract_emulator::Emulator::start(config)
        .await
        .expect("starts");
    assert_eq!(second.client_ids(), [client_id]);
    let response = http()
        .get(format!("{}/oauth2/refresh", second.base_url()))
        .query(&[("refresh_token", "rt-kept")])
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
}
