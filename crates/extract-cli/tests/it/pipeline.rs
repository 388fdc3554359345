//! The CLI in a pipeline: `--events jsonl` against its schema, `--json` summaries, flags anywhere
//! on the line, profiles, `--quiet`.

use std::path::Path;
use std::time::Duration;

use crate::common::*;
use extract_emulator::{EmulatorConfig, SamplePage};
use serde_json::Value;

/// The schema of `docs/events.schema.json`, compiled.
struct EventSchema {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl EventSchema {
    fn load() -> EventSchema {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/events.schema.json");
        let schema: Value =
            serde_json::from_slice(&std::fs::read(path).expect("the schema is in docs/"))
                .expect("the schema is JSON");
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler
            .add_resource("file:///events.schema.json", schema)
            .expect("adds");
        let index = compiler
            .compile("file:///events.schema.json", &mut schemas)
            .expect("the schema compiles");
        EventSchema { schemas, index }
    }

    fn check(&self, event: &Value) -> Result<(), String> {
        self.schemas
            .validate(event, self.index)
            .map_err(|e| format!("{e}"))
    }

    /// Every line of `stdout` is one event that the schema accepts; the events, in order.
    fn stream(&self, stdout: &[u8]) -> Vec<Value> {
        text(stdout)
            .lines()
            .map(|line| {
                let event: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not one JSON object a line ({e}): {line}"));
                if let Err(error) = self.check(&event) {
                    panic!("event outside the schema: {error}\n{line}");
                }
                event
            })
            .collect()
    }
}

fn named<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

#[test]
fn the_schema_refuses_what_it_should() {
    let schema = EventSchema::load();
    let ok = serde_json::json!({"schema": 1, "event": "failed", "time": 1, "request_id": "r", "kind": "service", "reason": "bad"});
    schema.check(&ok).expect("a well-formed event");
    for bad in [
        serde_json::json!({"schema": 1, "event": "failed", "time": 1, "request_id": "r", "reason": "no kind"}),
        serde_json::json!({"schema": 2, "event": "summary", "time": 1}),
        serde_json::json!({"schema": 1, "event": "exploded", "time": 1}),
        serde_json::json!({"schema": 1, "event": "polled", "time": 1, "request_id": "r", "state": "pending", "polls": 0}),
    ] {
        assert!(schema.check(&bad).is_err(), "accepted {bad}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn run_events_follow_the_schema_and_tell_the_whole_story() {
    // Long enough for a poll to find it pending.
    let s = setup_with(EmulatorConfig::default().with_job_duration(Duration::from_secs(3))).await;
    let inputs = s.dir.path().join("in");
    pdfs(&inputs, 3);
    let out_dir = s.dir.path().join("out");
    let vars = keypair_vars(&s);
    let args = [
        "run",
        &inputs.to_string_lossy(),
        "--out-dir",
        &out_dir.to_string_lossy(),
        "--format",
        "markdown",
        "--events",
        "jsonl",
    ];
    let out = run(&args, &as_refs(&vars)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events = EventSchema::load().stream(&out.stdout);
    assert_eq!(named(&events, "submitted").len(), 3);
    assert!(!named(&events, "polled").is_empty(), "a 3 s job is polled");
    assert_eq!(
        named(&events, "written").len(),
        6,
        "JSON and Markdown of each"
    );
    assert_eq!(named(&events, "succeeded").len(), 3);
    for written in named(&events, "written") {
        assert!(Path::new(written["path"].as_str().expect("path")).is_file());
        assert!(written["request_id"].is_string(), "{written}");
    }
    let last = events.last().expect("events");
    assert_eq!(last["event"], "summary");
    assert_eq!(last["succeeded"], 3);
    assert_eq!(last["submissions"], 3);
    // Each input's events come in order: submitted, then written, then succeeded.
    for submitted in named(&events, "submitted") {
        let input = &submitted["input"];
        let order: Vec<_> = events
            .iter()
            .filter(|e| &e["input"] == input)
            .map(|e| e["event"].as_str().expect("name"))
            .filter(|name| *name != "polled")
            .collect();
        assert_eq!(order, ["submitted", "written", "written", "succeeded"]);
    }
    assert!(
        !text(&out.stderr).contains("done →"),
        "events replace the progress lines: {}",
        text(&out.stderr)
    );

    // A second run: everything is already done, and the stream says so.
    let out = run(&args, &as_refs(&vars)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events = EventSchema::load().stream(&out.stdout);
    let succeeded = named(&events, "succeeded");
    assert_eq!(succeeded.len(), 3);
    assert!(succeeded.iter().all(|e| e["already_done"] == true));
    assert_eq!(events.last().expect("summary")["already_done"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_events_and_their_failure() {
    let s = setup_with(EmulatorConfig::default().with_job_duration(Duration::from_secs(3))).await;
    let pdf = s.dir.path().join("a.pdf");
    pdfs(s.dir.path(), 1);
    std::fs::rename(s.dir.path().join("report-0.pdf"), &pdf).expect("renames");
    let vars = keypair_vars(&s);
    let out = run(&["submit", &pdf.to_string_lossy()], &as_refs(&vars)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_string();

    let out = run(&["wait", &id, "--events", "jsonl"], &as_refs(&vars)).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "the document would share stdout"
    );
    assert!(
        text(&out.stderr).contains("-o FILE"),
        "{}",
        text(&out.stderr)
    );

    let target = s.dir.path().join("a.json");
    let out = run(
        &[
            "wait",
            &id,
            "--events",
            "jsonl",
            "-o",
            &target.to_string_lossy(),
        ],
        &as_refs(&vars),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events = EventSchema::load().stream(&out.stdout);
    let names: Vec<_> = events
        .iter()
        .map(|e| e["event"].as_str().expect("name"))
        .collect();
    assert_eq!(names.last(), Some(&"succeeded"), "{names:?}");
    assert!(
        names.contains(&"polled") && names.contains(&"written"),
        "{names:?}"
    );
    assert!(events.iter().all(|e| e["request_id"] == id.as_str()));
    assert!(target.is_file());

    // An unknown request: one `failed` event, in the schema, and the exit code.
    let unknown = uuid::Uuid::new_v4().to_string();
    let out = run(
        &[
            "wait",
            &unknown,
            "--events",
            "jsonl",
            "-o",
            &target.to_string_lossy(),
        ],
        &as_refs(&vars),
    )
    .await;
    assert_ne!(out.status.code(), Some(0));
    let events = EventSchema::load().stream(&out.stdout);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn run_json_summary_and_quiet() {
    let s =
        setup_with(EmulatorConfig::default().with_job_duration(Duration::from_millis(50))).await;
    let inputs = s.dir.path().join("in");
    pdfs(&inputs, 2);
    let out_dir = s.dir.path().join("out");
    let vars = keypair_vars(&s);
    let out = run(
        &[
            "run",
            &inputs.to_string_lossy(),
            "--out-dir",
            &out_dir.to_string_lossy(),
            "--json",
            "--quiet",
        ],
        &as_refs(&vars),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(summary["succeeded"], 2);
    assert_eq!(summary["submissions"], 2);
    assert_eq!(text(&out.stderr), "", "--quiet says nothing on success");
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_flags_go_anywhere_on_the_line() {
    let s = setup().await;
    let key = s.key_path.to_string_lossy().into_owned();
    let api = s.emulator.base_url().to_string();
    let token_url = s.emulator.token_url();
    let flags = [
        "--api-url",
        &api,
        "--token-url",
        &token_url,
        "--client-id",
        &s.client_id,
        "--private-key",
        &key,
    ];
    // After the subcommand's subcommand, before the command, and split around it.
    let after: Vec<&str> = ["auth", "token"].iter().copied().chain(flags).collect();
    let before: Vec<&str> = flags.iter().copied().chain(["auth", "token"]).collect();
    let split: Vec<&str> = flags[..4]
        .iter()
        .copied()
        .chain(["auth"])
        .chain(flags[4..].iter().copied())
        .chain(["token"])
        .collect();
    for argv in [after, before, split] {
        let out = run(&argv, &[]).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{argv:?}: {}",
            text(&out.stderr)
        );
        let token = text(&out.stdout);
        assert_eq!(
            probe(&s, token.trim()).await,
            404,
            "a token the API accepts"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn profiles_flag_over_env_over_profile_over_default() {
    let s = setup().await;
    let config = s.dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.emu]\napi-url = \"{}\"\ntoken-url = \"{}\"\nclient-id = \"{}\"\nprivate-key = \"{}\"\nrequest-timeout = 7\n\n[profiles.other]\nclient-id = \"someone-else\"\n",
            s.emulator.base_url(),
            s.emulator.token_url(),
            s.client_id,
            s.key_path.display()
        ),
    )
    .expect("writes");
    let config = config.to_string_lossy().into_owned();

    // The profile alone is enough to reach the service.
    let out = run(
        &["auth", "verify", "--json"],
        &[("KENSHO_CONFIG", &config), ("KENSHO_PROFILE", "emu")],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // Where each value came from.
    let out = run(
        &[
            "config",
            "show",
            "--json",
            "--profile",
            "emu",
            "--request-timeout",
            "9",
        ],
        &[
            ("KENSHO_CONFIG", &config),
            ("KENSHO_CLIENT_ID", "from-env"),
            ("KENSHO_ACCESS_TOKEN", "secret-token-value"),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let setting = |name: &str| &shown["settings"][name];
    assert_eq!(setting("request-timeout")["value"], "9");
    assert_eq!(setting("request-timeout")["source"], "flag");
    assert_eq!(setting("client-id")["value"], "from-env");
    assert_eq!(setting("client-id")["source"], "env KENSHO_CLIENT_ID");
    assert_eq!(
        setting("api-url")["value"],
        s.emulator.base_url().to_string()
    );
    assert!(
        setting("api-url")["source"]
            .as_str()
            .expect("source")
            .starts_with("profile emu"),
        "{shown}"
    );
    assert_eq!(setting("refresh-token")["source"], "unset");
    assert_eq!(shown["profile"]["name"], "emu");
    assert_eq!(shown["profile"]["source"], "flag");
    assert!(
        !text(&out.stdout).contains("secret-token-value"),
        "a token is never shown"
    );
    assert_eq!(setting("access-token")["value"], "(set, hidden)");

    // The text form, with a default.
    let out = run(&["config", "show"], &[("KENSHO_CONFIG", &config)]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("api-url:         https://extract.kensho.com  [default]"),
        "no profile named and no [profiles.default]: {shown}"
    );

    // A profile that does not exist is named, with those that do.
    let out = run(
        &["status", "x", "--profile", "prod"],
        &[("KENSHO_CONFIG", &config)],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no profile prod") && text(&out.stderr).contains("emu, other"),
        "{}",
        text(&out.stderr)
    );
}

/// A value refused as a flag or an environment variable is refused in a profile too, by the
/// same check and in the same words, in one line naming the file, the profile and the key
/// (profiles used to drop such values without a word).
#[tokio::test(flavor = "multi_thread")]
async fn a_profile_value_is_refused_as_its_flag_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    let config_text = config.to_string_lossy().into_owned();
    for (key, flag, env, profile_value, flag_value, why) in [
        (
            "max-rps",
            "--max-rps=-5",
            "KENSHO_MAX_RPS",
            "-5.0",
            "-5",
            "must be a positive number of requests per second",
        ),
        (
            "request-timeout",
            "--request-timeout=0",
            "KENSHO_REQUEST_TIMEOUT",
            "0",
            "0",
            "must be a whole number of seconds from 1 to 3600",
        ),
        (
            "request-timeout",
            "--request-timeout=18446744073709551616",
            "KENSHO_REQUEST_TIMEOUT",
            "18446744073709551616",
            "18446744073709551616",
            "must be a whole number of seconds from 1 to 3600",
        ),
    ] {
        std::fs::write(
            &config,
            format!("[profiles.prod]\n{key} = {profile_value}\n"),
        )
        .expect("writes");
        let out = run(
            &["config", "show", "--profile", "prod"],
            &[("KENSHO_CONFIG", &config_text)],
        )
        .await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "{config_text}: profile \"prod\": {key} = {profile_value}: {why}"
            )),
            "{stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(
            out.stdout.is_empty(),
            "nothing shown: {}",
            text(&out.stdout)
        );

        std::fs::remove_file(&config).expect("removes");
        let by_flag = run(
            &["config", "show", flag],
            &[("KENSHO_CONFIG", &config_text)],
        )
        .await;
        let by_env = run(
            &["config", "show"],
            &[("KENSHO_CONFIG", &config_text), (env, flag_value)],
        )
        .await;
        for out in [by_flag, by_env] {
            assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
            assert!(text(&out.stderr).contains(why), "{}", text(&out.stderr));
        }
    }
}

/// `config show` never prints a credential a URL carries: a password, a secret parameter, from
/// a profile, a flag or the environment, in the table and in JSON.
#[tokio::test(flavor = "multi_thread")]
async fn config_show_redacts_credentials_in_urls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[profiles.default]\napi-url = \"https://alice:hunter2@extract.example/?token=tok-123\"\n",
    )
    .expect("writes");
    let config = config.to_string_lossy().into_owned();
    let vars = [
        ("KENSHO_CONFIG", config.as_str()),
        (
            "KENSHO_TOKEN_URL",
            "https://okta.example/oauth2/v1/token?client_id=me&client_secret=s3cr3t",
        ),
    ];
    for json in [false, true] {
        let args: &[&str] = if json {
            &["config", "show", "--json"]
        } else {
            &["config", "show"]
        };
        let out = run(args, &vars).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let shown = text(&out.stdout);
        for secret in ["hunter2", "tok-123", "s3cr3t"] {
            assert!(!shown.contains(secret), "{secret} shown: {shown}");
        }
        for redacted in [
            "https://***@extract.example/?token=***",
            "https://okta.example/oauth2/v1/token?client_id=***&client_secret=***",
        ] {
            assert!(shown.contains(redacted), "{redacted} not in {shown}");
        }
    }
}

/// Requests of any kind the emulator has answered (token exchanges aside).
fn requests(s: &Setup) -> u64 {
    let stats = s.emulator.stats();
    stats.submissions
        + stats.upload_urls
        + stats.uploads
        + stats.upload_completions
        + stats.downloads
        + stats.polls.values().sum::<u64>()
}

#[tokio::test(flavor = "multi_thread")]
async fn preflight_refuses_doomed_documents_before_any_request() {
    let s = setup_with(EmulatorConfig::default().with_job_duration(Duration::ZERO)).await;
    let inputs = s.dir.path().join("in");
    pdfs(&inputs, 2);
    let locked = extract_emulator::sample_encrypted_pdf(
        &[SamplePage {
            heading: "Locked".into(),
            paragraphs: vec![],
        }],
        "secret",
    );
    let out_dir = s.dir.path().join("out");
    let vars = keypair_vars(&s);

    // One page each: --pages 99 is doomed for both, and nothing is sent.
    let out = run(
        &[
            "run",
            &inputs.to_string_lossy(),
            "--out-dir",
            &out_dir.to_string_lossy(),
            "--pages",
            "99",
        ],
        &as_refs(&vars),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("pages 99 asks for page 99 but the file has 1 page (not sent)"),
        "{stderr}"
    );
    assert_eq!(requests(&s), 0);
    assert_eq!(s.emulator.stats().token_exchanges, 0, "not even a token");

    // A bad selection is a usage error.
    let out = run(
        &[
            "run",
            &inputs.to_string_lossy(),
            "--out-dir",
            &out_dir.to_string_lossy(),
            "--pages",
            "3-1",
        ],
        &as_refs(&vars),
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    // An encrypted file among good ones: it is named, the others go.
    std::fs::write(inputs.join("locked.pdf"), locked).expect("writes");
    let out = run(
        &[
            "run",
            &inputs.to_string_lossy(),
            "--out-dir",
            &out_dir.to_string_lossy(),
        ],
        &as_refs(&vars),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("locked.pdf: the PDF is encrypted"),
        "{stderr}"
    );
    assert!(stderr.contains("2 succeeded"), "{stderr}");
    assert_eq!(s.emulator.stats().submissions, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_then_the_cache_spares_every_second_request() {
    let s = setup_with(EmulatorConfig::default().with_job_duration(Duration::ZERO)).await;
    let inputs = s.dir.path().join("in");
    pdfs(&inputs, 3);
    let cache = s.dir.path().join("cache");
    let cache_dir = cache.to_string_lossy().into_owned();
    let mut vars = keypair_vars(&s);
    vars.push(("KENSHO_EXTRACT_CACHE_DIR", cache_dir.clone()));
    let first = s.dir.path().join("first");
    let run_into = |dir: &Path, extra: &[&str]| {
        let mut argv: Vec<String> = vec![
            "run".into(),
            inputs.to_string_lossy().into_owned(),
            "--out-dir".into(),
            dir.to_string_lossy().into_owned(),
        ];
        argv.extend(extra.iter().map(|a| a.to_string()));
        argv
    };
    let go = |argv: Vec<String>| {
        let vars = vars.clone();
        async move {
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            run(&argv, &as_refs(&vars)).await
        }
    };

    // The plan, and nothing sent.
    let out = go(run_into(&first, &["--dry-run", "--json"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan: Value = serde_json::from_slice(&out.stdout).expect("JSON plan");
    assert_eq!(plan["send"], 3);
    assert_eq!(plan["pages"], 3);
    assert_eq!(plan["requests_at_least"], 6);
    assert!(plan["bytes"].as_u64().expect("bytes") > 0);
    assert_eq!(requests(&s), 0);
    assert!(!first.exists(), "a dry run writes nothing");

    let out = go(run_into(&first, &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(s.emulator.stats().submissions, 3);

    // Another folder, the same files and options: written from the cache, no request.
    let before = requests(&s);
    let second = s.dir.path().join("second");
    let out = go(run_into(&second, &["--dry-run"])).await;
    assert!(
        text(&out.stdout).contains("would send 0 document(s)"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("3 from the cache"),
        "{}",
        text(&out.stdout)
    );
    let out = go(run_into(&second, &["--json"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(summary["from_cache"], 3);
    assert_eq!(summary["submissions"], 0);
    assert_eq!(requests(&s), before, "no request at all");
    for i in 0..3 {
        assert_eq!(
            std::fs::read(second.join(format!("report-{i}.json"))).expect("written"),
            std::fs::read(first.join(format!("report-{i}.json"))).expect("written"),
        );
    }

    // Another option misses; --no-cache sends again; deleting outputs keeps the cache.
    let out = go(run_into(&s.dir.path().join("ocr"), &["--ocr"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(s.emulator.stats().submissions, 6);
    let out = go(run_into(&s.dir.path().join("fresh"), &["--no-cache"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(s.emulator.stats().submissions, 9);
    std::fs::remove_dir_all(&first).expect("removes");
    std::fs::remove_dir_all(&second).expect("removes");

    let out = go(vec!["cache".into(), "stats".into(), "--json".into()]).await;
    let stats: Value = serde_json::from_slice(&out.stdout).expect("stats");
    assert_eq!(stats["entries"], 6, "3 documents × 2 option sets");
    assert_eq!(stats["path"], cache_dir.as_str());
    let out = go(vec!["cache".into(), "clear".into()]).await;
    assert!(
        text(&out.stdout).starts_with("deleted 6 output document(s)"),
        "{}",
        text(&out.stdout)
    );
    let out = go(vec!["cache".into(), "stats".into(), "--json".into()]).await;
    let stats: Value = serde_json::from_slice(&out.stdout).expect("stats");
    assert_eq!(stats["entries"], 0);
}
