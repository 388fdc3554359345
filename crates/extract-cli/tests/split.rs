//! `run --split-pages`: a long document as parallel page-range jobs, merged back into what a
//! single job gives.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
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
