//! `kensho-extract convert --to chunks|html|markdown --page-anchors --source-map`, as a user
//! runs them on the fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/extract-output")
        .join(name)
}

fn convert(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kensho-extract"))
        .arg("convert")
        .args(args)
        .output()
        .expect("runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn chunks_are_json_lines_under_the_budget_with_sources() {
    let input = fixture("extract_output_item_relations.json");
    let out = convert(&[
        input.to_str().expect("utf-8"),
        "--to",
        "chunks",
        "--max-tokens",
        "200",
        "--overlap",
        "20",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert!(lines.len() > 50, "{} chunks", lines.len());
    for (i, chunk) in lines.iter().enumerate() {
        assert_eq!(chunk["index"], i);
        assert!(chunk["tokens"].as_u64().expect("tokens") <= 200);
        assert!(chunk["text"].is_string() && chunk["headings"].is_array());
        let source = &chunk["sources"][0];
        assert!(
            source["uid"].is_string() && source["page"].as_i64().expect("page") >= 1,
            "{source}"
        );
        assert_eq!(source["box"].as_array().expect("box").len(), 4);
    }
}

#[test]
fn page_anchored_markdown_and_its_source_map_are_written_together() {
    let dir = tempfile::tempdir().expect("dir");
    let (md, map) = (dir.path().join("doc.md"), dir.path().join("doc.map.json"));
    let input = fixture("output_multi_page_locs.json");
    let out = convert(&[
        input.to_str().expect("utf-8"),
        "--to",
        "markdown",
        "--page-anchors",
        "--source-map",
        map.to_str().expect("utf-8"),
        "-o",
        md.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let markdown = std::fs::read_to_string(&md).expect("markdown");
    assert!(markdown.starts_with("<!-- page 1 -->\n"));
    assert!(markdown.contains("\n<!-- page 2 -->\n"));
    let map: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&map).expect("map")).expect("json");
    assert_eq!(map["version"], 1);
    let nodes = map["nodes"].as_array().expect("nodes");
    let title = nodes.iter().find(|n| n["uid"] == "1").expect("uid 1");
    let (start, end) = (
        title["start"].as_u64().expect("start") as usize,
        title["end"].as_u64().expect("end") as usize,
    );
    assert_eq!(&markdown[start..end], "Torch-Struct:");
}

#[test]
fn html_keeps_spans_headers_and_captions() {
    let input = fixture("extract_output_item_relations.json");
    let out = convert(&[input.to_str().expect("utf-8"), "--to", "html"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = text(&out.stdout);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        !html.contains("<script") && !html.contains("http://") && !html.contains("src="),
        "self-contained"
    );
    assert_eq!(html.matches("<table ").count(), 22);
    assert!(html.contains("<thead>") && html.contains("<caption>"));
}

#[test]
fn chunk_and_markdown_options_are_checked_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("dir");
    let input = fixture("extract_output.json");
    let input = input.to_str().expect("utf-8");
    let target = dir.path().join("out.jsonl");
    let out = convert(&[
        input,
        "--to",
        "chunks",
        "--max-tokens",
        "4",
        "-o",
        target.to_str().expect("utf-8"),
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("--max-tokens must be at least 16"),
        "{}",
        text(&out.stderr)
    );
    assert!(!target.exists(), "no output file is left behind");
    let out = convert(&[input, "--to", "text", "--page-anchors"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("go with --to markdown"),
        "{}",
        text(&out.stderr)
    );
    let out = convert(&[input, "--to", "chunks", "--tokenizer", "bert"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("tokenizer.json"),
        "{}",
        text(&out.stderr)
    );
    // A tokenizer of a feature this build lacks: the library says which feature, the CLI how
    // to get a build with it.
    let out = convert(&[input, "--to", "chunks", "--tokenizer", "my-model.json"]);
    assert_ne!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("needs the `hf-tokenizers` feature")
            && stderr.contains("cargo install --path crates/extract-cli --features hf-tokenizers")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
}

/// `convert … | head`: the reader leaves early; the command ends quietly with status 0.
#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let input = fixture("extract_output_item_relations.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kensho-extract"))
        .args(["convert", &input.to_string_lossy(), "--to", "items"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut first = [0u8; 100];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("reads the first bytes");
    // The pipe is closed here, with 200 kB still to come (more than a pipe buffer holds).
    let out = child.wait_with_output().expect("ends");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stderr), "", "no error, no backtrace");
}
