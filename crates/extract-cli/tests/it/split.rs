//! `run --split-pages`: a long document as parallel page-range jobs, merged back into what a
//! single job gives.

use std::path::Path;
use std::time::Duration;

use crate::common::*;
use extract_emulator::{EmulatorConfig, SamplePage, sample_pdf};
use serde_json::Value;

/// 40 pages; a heading on every fifth, so sections run across the parts' boundaries.
fn long_pdf(dir: &Path) -> std::path::PathBuf {
    let pages: Vec<SamplePage> = (1..=40)
        .map(|n| SamplePage {
            heading: if n % 5 == 1 {
                format!("Section {}", n / 5 + 1)
            } else {
                String::new()
            },
            paragraphs: vec![format!("Text of page {n}."), format!("More on page {n}.")],
        })
        .collect();
    let folder = dir.join("in");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let path = folder.join("long.pdf");
    std::fs::write(&path, sample_pdf(&pages)).expect("writes");
    path
}

/// The document with its uids renumbered in document order, and references to them.
fn without_uids(document: &Value) -> Value {
    fn walk(
        node: &Value,
        next: &mut u64,
        map: &mut std::collections::HashMap<String, String>,
    ) -> Value {
        let mut node = node.clone();
        if let Some(uid) = node["uid"].as_str() {
            map.insert(uid.to_string(), next.to_string());
        }
        node["uid"] = Value::String(next.to_string());
        *next += 1;
        let children: Vec<Value> = node["children"]
            .as_array()
            .map(|c| c.iter().map(|child| walk(child, next, map)).collect())
            .unwrap_or_default();
        node["children"] = Value::Array(children);
        node
    }
    let mut map = std::collections::HashMap::new();
    let mut out = document.clone();
    out["content_tree"] = walk(&document["content_tree"], &mut 0, &mut map);
    if let Some(annotations) = out["annotations"].as_array_mut() {
        for annotation in annotations {
            if let Some(uids) = annotation["content_uids"].as_array_mut() {
                for uid in uids {
                    *uid = Value::String(map[uid.as_str().expect("uid")].clone());
                }
            }
        }
    }
    out
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("written")).expect("JSON")
}

async fn run_into(s: &Setup, input: &Path, out: &Path, extra: &[&str]) -> Value {
    let vars = keypair_vars(s);
    let mut argv = vec![
        "run".to_string(),
        input.to_string_lossy().into_owned(),
        "--out-dir".into(),
        out.to_string_lossy().into_owned(),
        "--json".into(),
    ];
    argv.extend(extra.iter().map(|a| a.to_string()));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let result = run(&argv, &as_refs(&vars)).await;
    assert_eq!(
        result.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    serde_json::from_slice(&result.stdout).expect("summary")
}

#[tokio::test(flavor = "multi_thread")]
async fn parts_merge_into_the_single_job_output() {
    let s =
        setup_with(EmulatorConfig::default().with_job_duration(Duration::from_millis(200))).await;
    let input = long_pdf(s.dir.path());

    let summary = run_into(&s, &input, &s.dir.path().join("single"), &[]).await;
    assert_eq!(summary["submissions"], 1);
    let summary = run_into(
        &s,
        &input,
        &s.dir.path().join("split"),
        &["--split-pages", "7"],
    )
    .await;
    assert_eq!(summary["submissions"], 6, "pages 1-7, 8-14, …, 36-40");
    assert_eq!(s.emulator.stats().submissions, 7);

    let single = read(&s.dir.path().join("single/long.json"));
    let merged = read(&s.dir.path().join("split/long.json"));
    let sections = single["content_tree"]["children"]
        .as_array()
        .expect("children");
    assert_eq!(sections.len(), 8, "eight sections: {single}");
    assert_eq!(without_uids(&merged), without_uids(&single));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_part_is_sent_again_alone() {
    let s = setup_with(
        EmulatorConfig::default()
            .with_job_duration(Duration::from_millis(200))
            .with_failing_jobs(1),
    )
    .await;
    let input = long_pdf(s.dir.path());
    let summary = run_into(
        &s,
        &input,
        &s.dir.path().join("split"),
        &["--split-pages", "8"],
    )
    .await;
    assert_eq!(summary["succeeded"], 1);
    assert_eq!(
        summary["submissions"], 6,
        "five parts and the failed one again"
    );
    assert_eq!(s.emulator.stats().submissions, 6);

    // The emulator fails no more jobs: a single job gives the reference.
    let reference = run_into(&s, &input, &s.dir.path().join("single"), &[]).await;
    assert_eq!(reference["submissions"], 1);
    assert_eq!(
        without_uids(&read(&s.dir.path().join("split/long.json"))),
        without_uids(&read(&s.dir.path().join("single/long.json")))
    );
}

/// `pages` pages, each saying its number.
fn numbered_pdf(dir: &Path, name: &str, pages: u32) -> std::path::PathBuf {
    let pages: Vec<SamplePage> = (1..=pages)
        .map(|n| SamplePage {
            heading: String::new(),
            paragraphs: vec![format!("Text of page {n}.")],
        })
        .collect();
    let folder = dir.join("in");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let path = folder.join(name);
    std::fs::write(&path, sample_pdf(&pages)).expect("writes");
    path
}

/// The texts of a document's nodes, and the page numbers of their locations, in order.
fn texts_and_pages(document: &Value) -> (Vec<String>, Vec<u64>) {
    fn walk(node: &Value, texts: &mut Vec<String>, pages: &mut Vec<u64>) {
        if let Some(text) = node["content"].as_str() {
            texts.push(text.to_string());
        }
        for location in node["locations"].as_array().into_iter().flatten() {
            pages.extend(location["page_number"].as_u64());
        }
        for child in node["children"].as_array().into_iter().flatten() {
            walk(child, texts, pages);
        }
    }
    let (mut texts, mut pages) = (vec![], vec![]);
    walk(&document["content_tree"], &mut texts, &mut pages);
    (texts, pages)
}

#[tokio::test(flavor = "multi_thread")]
async fn split_jobs_send_only_the_selected_pages() {
    let s = setup_with(EmulatorConfig::default().with_job_duration(Duration::ZERO)).await;
    let input = numbered_pdf(s.dir.path(), "seven.pdf", 7);
    let cache = s.dir.path().join("cache");
    let mut vars = keypair_vars(&s);
    vars.push((
        "KENSHO_EXTRACT_CACHE_DIR",
        cache.to_string_lossy().into_owned(),
    ));
    let go = |out: &str, extra: &[&str]| {
        let vars = vars.clone();
        let mut argv = vec![
            "run".to_string(),
            input.to_string_lossy().into_owned(),
            "--out-dir".into(),
            s.dir.path().join(out).to_string_lossy().into_owned(),
            "--json".into(),
        ];
        argv.extend(extra.iter().map(|a| a.to_string()));
        async move {
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let result = run(&argv, &as_refs(&vars)).await;
            assert_eq!(result.status.code(), Some(0), "{}", text(&result.stderr));
            serde_json::from_slice::<Value>(&result.stdout).expect("summary")
        }
    };
    let selected = ["Text of page 2.", "Text of page 3.", "Text of page 6."];

    let summary = go("split", &["--pages", "2-3,6", "--split-pages", "2"]).await;
    assert_eq!(summary["submissions"], 2, "{summary}");
    assert_eq!(
        s.emulator.job_pages(),
        [Some(vec![2, 3]), Some(vec![6])],
        "only the selected pages are sent, in parts of at most 2"
    );
    let (texts, pages) = texts_and_pages(&read(&s.dir.path().join("split/seven.json")));
    assert_eq!(texts, selected);
    assert_eq!(
        pages,
        [1, 2, 5],
        "the document's own page numbers (0-based)"
    );

    // A plain run with the same selection is not answered with the merged output: its page
    // numbers are the selection's (0, 1, 2), as a single job's are.
    let summary = go("plain", &["--pages", "2-3,6"]).await;
    assert_eq!(summary["from_cache"], 0, "{summary}");
    assert_eq!(summary["submissions"], 1, "{summary}");
    let (texts, pages) = texts_and_pages(&read(&s.dir.path().join("plain/seven.json")));
    assert_eq!(texts, selected);
    assert_eq!(pages, [0, 1, 2]);

    // Each is answered from the cache by its own kind of run, with no request.
    let sent = s.emulator.stats().submissions;
    let summary = go("split-again", &["--pages", "2-3,6", "--split-pages", "2"]).await;
    assert_eq!(summary["from_cache"], 1, "{summary}");
    let summary = go("plain-again", &["--pages", "2-3,6"]).await;
    assert_eq!(summary["from_cache"], 1, "{summary}");
    assert_eq!(s.emulator.stats().submissions, sent);
    assert_eq!(
        read(&s.dir.path().join("split-again/seven.json")),
        read(&s.dir.path().join("split/seven.json"))
    );
    assert_eq!(
        read(&s.dir.path().join("plain-again/seven.json")),
        read(&s.dir.path().join("plain/seven.json"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_counts_the_split_jobs_it_would_send() {
    let s = setup().await;
    numbered_pdf(s.dir.path(), "ten.pdf", 10);
    let input = numbered_pdf(s.dir.path(), "seven.pdf", 7);
    let folder = input.parent().expect("folder").to_path_buf();
    let vars = keypair_vars(&s);
    let dry = |extra: &[&str], json: bool| {
        let mut argv = vec![
            "run".to_string(),
            folder.to_string_lossy().into_owned(),
            "--out-dir".into(),
            s.dir.path().join("out").to_string_lossy().into_owned(),
            "--dry-run".into(),
        ];
        if json {
            argv.push("--json".into());
        }
        argv.extend(extra.iter().map(|a| a.to_string()));
        let vars = vars.clone();
        async move {
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let result = run(&argv, &as_refs(&vars)).await;
            assert_eq!(result.status.code(), Some(0), "{}", text(&result.stderr));
            text(&result.stdout)
        }
    };

    // 10 pages in parts of 3: 1-3, 4-6, 7-9, 10; 7 pages: 1-3, 4-6, 7.
    let plan: Value =
        serde_json::from_str(&dry(&["--split-pages", "3"], true).await).expect("JSON");
    assert_eq!(plan["send"], 2, "{plan}");
    assert_eq!(plan["jobs"], 7, "{plan}");
    assert_eq!(plan["requests_at_least"], 14, "{plan}");
    let jobs: Vec<u64> = plan["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["jobs"].as_u64().expect("jobs"))
        .collect();
    assert_eq!(jobs, [3, 4], "seven.pdf, ten.pdf");
    let shown = dry(&["--split-pages", "3"], false).await;
    assert!(
        shown.contains("would send 2 document(s) as 7 job(s)"),
        "{shown}"
    );
    assert!(shown.contains("at least 14 request(s)"), "{shown}");

    // Only the selected pages are split: 2-3 and 6 of each.
    let plan: Value =
        serde_json::from_str(&dry(&["--pages", "2-3,6", "--split-pages", "2"], true).await)
            .expect("JSON");
    assert_eq!(plan["jobs"], 4, "{plan}");
    assert_eq!(plan["pages"], 6, "{plan}");
    // Without splitting, a job a document.
    let plan: Value = serde_json::from_str(&dry(&[], true).await).expect("JSON");
    assert_eq!(plan["jobs"], 2, "{plan}");
    assert_eq!(s.emulator.stats().submissions, 0);
}
