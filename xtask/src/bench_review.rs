//! `cargo xtask bench review`: the review page of a 500-page output, without and with its PDF:
//! wall time, time per page and peak memory of the `kensho-extract review` process.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::Result;
use crate::bench::{measured, release_binary};

/// Lines of text on each page, each an item of the output.
const LINES: usize = 30;

/// A PDF of `pages` Letter pages, each with a heading and `LINES` lines of Helvetica.
pub(crate) fn pdf(pages: usize) -> Vec<u8> {
    let mut objects: Vec<String> = vec![
        String::new(), // 1: catalog, written last
        String::new(), // 2: pages
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into(),
    ];
    let mut kids = Vec::new();
    for p in 0..pages {
        let mut content = format!("BT /F1 20 Tf 72 720 Td (Section {}) Tj ET\n", p + 1);
        for l in 0..LINES {
            let y = 680 - 20 * l;
            let _ = writeln!(
                content,
                "BT /F1 11 Tf 72 {y} Td (Line {l} of page {}: revenue, costs and margins by region.) Tj ET",
                p + 1
            );
        }
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
        let content_id = objects.len();
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>"
        ));
        kids.push(format!("{} 0 R", objects.len()));
    }
    objects[0] = "<< /Type /Catalog /Pages 2 0 R >>".into();
    objects[1] = format!(
        "<< /Type /Pages /Kids [{}] /Count {pages} >>",
        kids.join(" ")
    );
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// The output Extract would give for [`pdf`]: a heading and a paragraph per line, each with
/// its box, and a small table per page.
fn output(pages: usize) -> serde_json::Value {
    let mut children = Vec::new();
    let mut annotations = Vec::new();
    let location = |page: usize, x: f64, y: f64, w: f64, h: f64| serde_json::json!([{"x": x, "y": y, "width": w, "height": h, "page_number": page}]);
    let mut uid = 0;
    let mut next = || {
        uid += 1;
        uid.to_string()
    };
    for p in 0..pages {
        children.push(
            serde_json::json!({"uid": next(), "type": "H1", "content": format!("Section {}", p + 1),
            "children": [], "locations": location(p, 0.117, 0.07, 0.25, 0.03)}),
        );
        for l in 0..LINES {
            let y = (792.0 - (680.0 - 20.0 * l as f64) - 9.0) / 792.0;
            children.push(serde_json::json!({"uid": next(), "type": "PARAGRAPH",
                "content": format!("Line {l} of page {}: revenue, costs and margins by region.", p + 1),
                "children": [], "locations": location(p, 0.117, y, 0.6, 0.016)}));
        }
        let mut cells = Vec::new();
        for r in 0..4 {
            for c in 0..3 {
                let cell = next();
                cells.push(serde_json::json!({"uid": cell, "type": "TABLE_CELL", "content": format!("r{r}c{c}"),
                    "children": [], "locations": location(p, 0.12 + 0.2 * c as f64, 0.85 + 0.025 * r as f64, 0.2, 0.025)}));
                annotations.push(
                    serde_json::json!({"type": "table_structure", "content_uids": [cell],
                    "data": {"index": [r, c], "span": [1, 1], "is_column_header": r == 0}}),
                );
            }
        }
        children.push(
            serde_json::json!({"uid": next(), "type": "TABLE", "content": null, "children": cells,
            "locations": location(p, 0.12, 0.85, 0.6, 0.1)}),
        );
    }
    serde_json::json!({"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": children},
        "annotations": annotations})
}

pub fn review(root: &Path, pages: usize, runs: usize) -> Result {
    let binary = release_binary(root)?;
    let dir = tempfile::tempdir()?;
    let json = dir.path().join("output.json");
    let pdf_path = dir.path().join("input.pdf");
    std::fs::write(&json, serde_json::to_vec(&output(pages))?)?;
    std::fs::write(&pdf_path, pdf(pages))?;
    let html = dir.path().join("review.html");
    let run = |with_pdf: bool| -> Result<(Duration, u64)> {
        let mut command = Command::new(&binary);
        command.arg("review").arg(&json).arg("-o").arg(&html);
        if with_pdf {
            command.arg("--pdf").arg(&pdf_path);
        }
        measured(&mut command)
    };
    let (mut plain, mut rendered) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        plain.push(run(false)?);
        rendered.push(run(true)?);
    }
    let size = std::fs::metadata(&html)?.len();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let items = pages * (LINES + 2 + 12);
    println!(
        "review page of a {pages}-page output ({items} boxes), {runs} runs each, interleaved, {cores} cores"
    );
    for (name, runs) in [
        ("without --pdf", &mut plain),
        ("with --pdf (hayro)", &mut rendered),
    ] {
        runs.sort();
        let (time, _) = runs[runs.len() / 2];
        let peak = runs.iter().map(|(_, kib)| *kib).max().unwrap_or(0);
        println!(
            "  {name:<20} median {:>7.2} s  {:>6.1} ms/page  peak RSS {:>6.1} MB",
            time.as_secs_f64(),
            time.as_secs_f64() * 1e3 / pages as f64,
            peak as f64 / 1024.0
        );
    }
    println!("  page with the PDF: {:.1} MB", size as f64 / 1e6);
    Ok(())
}
