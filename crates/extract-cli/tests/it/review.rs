//! The review page in a real browser: `run --review` on the emulator, then headless Chromium
//! loads the page from disk, counts the boxes it drew against the document's located items, and
//! takes a screenshot whose pixels show the PDF's text rendered under its box. The screenshots
//! stay in `target/tmp/review/` (a CI artefact).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use extract_api::OutputDocument;
use extract_emulator::{SamplePage, sample_pdf};
use extract_review::{PageFrame, located};

/// Chromium on PATH; CI installs it (`.ci/run`), and a CI run without it fails.
fn browser() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser test: .ci/run installs chromium"
        );
        eprintln!(
            "SKIPPED: no chromium on PATH (apt-get install chromium) — the browser test did not run"
        );
    }
    found
}

/// Runs headless Chromium on `page` with `args`, at most 60 s.
fn chromium(browser: &Path, page: &Path, args: &[&str]) -> std::process::Output {
    Command::new("timeout")
        .arg("60")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--allow-file-access-from-files",
        ])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

fn attribute(dom: &str, name: &str) -> usize {
    let at = dom
        .find(&format!("{name}=\""))
        .unwrap_or_else(|| panic!("no {name} in the DOM"));
    dom[at + name.len() + 2..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("a number")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_review_page_draws_every_box_over_the_rendered_pdf_in_a_real_browser() {
    let Some(browser) = browser() else { return };
    let s = setup().await;
    let input = s.dir.path().join("in");
    std::fs::create_dir_all(&input).expect("dir");
    let pages: Vec<SamplePage> = (1..=2)
        .map(|i| SamplePage {
            heading: format!("Quarterly Report {i}"),
            paragraphs: vec![
                "Revenue grew in every region, led by the services business.".into(),
                "Costs fell as the new plant came online ahead of plan.".into(),
            ],
        })
        .collect();
    std::fs::write(input.join("report.pdf"), sample_pdf(&pages)).expect("writes");
    let out_dir = s.dir.path().join("out");
    let vars = keypair_vars(&s);
    let out = run(
        &[
            "run",
            input.to_str().expect("utf-8"),
            "--out-dir",
            out_dir.to_str().expect("utf-8"),
            "--review",
        ],
        &as_refs(&vars),
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = out_dir.join("report.review.html");
    let html = std::fs::read_to_string(&page).expect("run --review wrote the page");
    assert_eq!(
        html.matches("<img class=\"scan\"").count(),
        2,
        "both PDF pages rendered"
    );
    let document =
        OutputDocument::from_json(&std::fs::read(out_dir.join("report.json")).expect("json"))
            .expect("document");
    let items = located(&document);
    let boxes: usize = items.iter().map(|l| l.boxes.len()).sum();
    assert!(boxes >= 6, "{boxes} located boxes");

    // What the browser drew, counted by the page's own script after it ran.
    let dom = chromium(&browser, &page, &["--dump-dom"]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(
        attribute(&dom, "data-drawn"),
        boxes,
        "boxes drawn in the browser"
    );
    assert_eq!(attribute(&dom, "data-outside"), 0, "every box on its page");

    // A screenshot of the first page: the page's top-left corner is the window's.
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("review");
    std::fs::create_dir_all(&shots).expect("dir");
    let shot = shots.join("page-1.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &browser,
        &page,
        &[
            "--window-size=1300,1300",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&shot).expect("screenshot"),
    ));
    let mut reader = decoder.read_info().expect("png");
    let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut pixels).expect("frame");
    let channels = info.color_type.samples();
    let at = |x: f64, y: f64| {
        let (x, y) = (x.round() as usize, y.round() as usize);
        let i = (y * info.width as usize + x) * channels;
        (pixels[i], pixels[i + 1], pixels[i + 2])
    };
    let heading = items
        .iter()
        .find(|l| l.kind == "title" || l.kind.starts_with('h') && l.kind.len() == 2)
        .expect("a heading");
    let (page_number, bbox) = heading.boxes[0];
    assert_eq!(page_number, 0);
    let rect = PageFrame::from_points(612.0, 792.0, 1.5).rect(bbox);
    // The PDF's glyphs, rendered, inside the heading's box.
    let mut dark = 0;
    for y in (rect.y as usize + 2)..(rect.y + rect.height) as usize - 1 {
        for x in (rect.x as usize + 2)..(rect.x + rect.width) as usize - 1 {
            let (r, g, b) = at(x as f64, y as f64);
            if u32::from(r) + u32::from(g) + u32::from(b) < 300 {
                dark += 1;
            }
        }
    }
    assert!(
        dark > 50,
        "{dark} dark pixels of rendered text in {rect:?} (see {})",
        shot.display()
    );
    // The heading's box, drawn in the heading colour (#d62728) along its left edge.
    let red = (-2..=2).any(|dx| {
        let (r, g, b) = at(rect.x + f64::from(dx), rect.y + rect.height / 2.0);
        r > 150 && g < 110 && b < 110
    });
    assert!(
        red,
        "no heading-red edge at x={} (see {})",
        rect.x,
        shot.display()
    );
    // The page's margin, far from any box: the white of the rendered page.
    assert_eq!(
        at(8.0, 8.0),
        (255, 255, 255),
        "page margin (see {})",
        shot.display()
    );
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/extract-output")
        .join(name)
}

#[test]
fn review_writes_beside_its_input_and_diff_speaks_text_json_and_html() {
    let dir = tempfile::tempdir().expect("dir");
    let a = dir.path().join("a.json");
    std::fs::copy(fixture("extract_output_hierarchical_v2.json"), &a).expect("copies");
    let binary = env!("CARGO_BIN_EXE_kensho-extract");
    let out = Command::new(binary)
        .arg("review")
        .arg(&a)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(dir.path().join("a.review.html")).expect("beside its input");
    assert!(html.contains("<title>Review: a.json</title>"));
    // A second version: one paragraph changed.
    let text = std::fs::read_to_string(&a).expect("reads");
    let b = dir.path().join("b.json");
    std::fs::write(
        &b,
        text.replacen("Machine learning (ML)", "Machine learning", 1),
    )
    .expect("writes");
    let out = Command::new(binary)
        .arg("diff")
        .arg(&a)
        .arg(&b)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout.starts_with("0 added, 0 removed, 1 changed,"),
        "{stdout}"
    );
    let out = Command::new(binary)
        .arg("diff")
        .arg(&a)
        .arg(&b)
        .arg("--json")
        .arg("-o")
        .arg(dir.path().join("diff.html"))
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["changes"][0]["change"], "changed");
    let page = std::fs::read_to_string(dir.path().join("diff.html")).expect("diff page");
    assert_eq!(
        page.matches(" diff-changed\"").count(),
        1,
        "the changed paragraph highlighted"
    );
    let out = Command::new(binary)
        .arg("review")
        .arg(&a)
        .arg("--pdf")
        .arg(&b)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a PDF"));
}

/// A one-page PDF 14,400 points square (200 inches, the largest page PDF allows without
/// UserUnit): 21,600 pixels square at the review's scale, 1.9 GB of pixmap.
fn huge_page_pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] /Contents 4 0 R /Resources << >> >>"
            .to_string(),
        "<< /Length 17 >>\nstream\n0 0 m 9 9 l S 0 0\nendstream".to_string(),
    ];
    let mut out = String::from("%PDF-1.7\n");
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{object}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for offset in offsets {
        out.push_str(&format!("{offset:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

/// `run --review` with a page whose pixmap alone would be 1.9 GB, in a process allowed 1.5 GB
/// of address space: before the renderer was bounded, the allocation aborted the process and
/// the whole batch with it. Now the page is drawn smaller, says so, and every output and the
/// manifest are written.
#[tokio::test(flavor = "multi_thread")]
async fn run_review_of_a_huge_page_keeps_the_batch_within_a_memory_limit() {
    let s = setup().await;
    let input = s.dir.path().join("in");
    pdfs(&input, 1);
    std::fs::write(input.join("huge.pdf"), huge_page_pdf()).expect("writes");
    let out_dir = s.dir.path().join("out");
    let vars = keypair_vars(&s);
    let cache = tempfile::tempdir().expect("tempdir");
    // ulimit in sh: no prlimit needed; few malloc arenas, so that the address space is memory.
    let command = isolated_command(
        &[
            "-c",
            "ulimit -v 1500000 && exec \"$@\"",
            "sh",
            env!("CARGO_BIN_EXE_kensho-extract"),
            "run",
            input.to_str().expect("utf-8"),
            "--out-dir",
            out_dir.to_str().expect("utf-8"),
            "--review",
            "--concurrency",
            "2",
        ],
        &vars,
        cache.path(),
    );
    let mut sh = std::process::Command::new("sh");
    sh.args(command.get_args()).env("MALLOC_ARENA_MAX", "2");
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => sh.env(name, value),
            None => sh.env_remove(name),
        };
    }
    let out = tokio::task::spawn_blocking(move || sh.output().expect("runs"))
        .await
        .expect("joins");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(out_dir.join("huge.review.html")).expect("review written");
    assert!(
        html.contains("drawn at 0.28") && html.contains("megapixel limit per page"),
        "the page says it was drawn smaller"
    );
    assert!(html.contains("<img class=\"scan\""));
    assert!(out_dir.join("report-0.review.html").is_file());
    let manifest = extract_batch::Manifest::load(&out_dir).expect("manifest");
    assert_eq!(manifest.documents.len(), 2);
    assert!(
        manifest.documents.values().all(|e| e.outputs.len() >= 2),
        "JSON and review recorded for both: {:?}",
        manifest.documents
    );
}
