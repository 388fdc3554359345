//! The largest fixture (2 MB, `extract_output_item_relations.json`) to Markdown and to table
//! grids, against kensho-kenverters 3.2.0 on the same file, in alternating rounds of one run:
//! `cargo bench -p extract-convert --bench convert` (needs `pip install kensho-kenverters==3.2.0`).
//!
//! Ours is timed from the file's bytes (JSON parsing included); kenverters from an already
//! parsed dict (its pydantic validation included, as in every call).

use std::process::Command;
use std::time::Instant;

use extract_model::OutputDocument;

const FIXTURE: &str = "../../fixtures/extract-output/extract_output_item_relations.json";
const PYTHON: &str = r#"
import json, sys, time
from kensho_kenverters import convert_output, output_to_tables
document = json.load(open(sys.argv[1]))
def best(f, n):
    times = []
    for _ in range(n):
        start = time.perf_counter(); f(); times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2] * 1e3
text = open(sys.argv[1]).read()
print(best(lambda: convert_output.convert_output_to_markdown(document), 9))
print(best(lambda: output_to_tables.build_table_grids(document), 9))
print(best(lambda: convert_output.convert_output_to_markdown(json.loads(text)), 9))
print(best(lambda: output_to_tables.build_table_grids(json.loads(text)), 9))
"#;

fn median_ms(mut f: impl FnMut(), runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let bytes = std::fs::read(&path).expect("fixture");
    let parsed = OutputDocument::from_json(&bytes).expect("parses");
    let (mut ours_md, mut ours_tables, mut theirs_md, mut theirs_tables) =
        (vec![], vec![], vec![], vec![]);
    let (mut parse, mut md_only, mut tables_only) = (vec![], vec![], vec![]);
    let (mut theirs_md_file, mut theirs_tables_file) = (vec![], vec![]);
    let (mut chunks_only, mut chunks_file, mut cited_only, mut html_only) =
        (vec![], vec![], vec![], vec![]);
    let chunk = |document: &OutputDocument| {
        extract_convert::chunks(
            document,
            &extract_convert::ChunkOptions::default(),
            &extract_convert::Estimate,
        )
        .expect("chunks")
    };
    for _ in 0..3 {
        let output = Command::new("python3")
            .args(["-c", PYTHON])
            .arg(&path)
            .output()
            .expect("python3");
        let text = String::from_utf8_lossy(&output.stdout);
        let mut numbers = text.lines().filter_map(|l| l.trim().parse::<f64>().ok());
        match (
            numbers.next(),
            numbers.next(),
            numbers.next(),
            numbers.next(),
        ) {
            (Some(md), Some(tables), Some(md_file), Some(tables_file)) => {
                theirs_md.push(md);
                theirs_tables.push(tables);
                theirs_md_file.push(md_file);
                theirs_tables_file.push(tables_file);
            }
            _ => panic!(
                "kenverters did not run (pip install kensho-kenverters==3.2.0): {}",
                String::from_utf8_lossy(&output.stderr)
            ),
        }
        ours_md.push(median_ms(
            || {
                let document = OutputDocument::from_json(&bytes).expect("parses");
                std::hint::black_box(extract_convert::to_markdown(&document));
            },
            21,
        ));
        parse.push(median_ms(
            || {
                drop(std::hint::black_box(
                    OutputDocument::from_json(&bytes).expect("parses"),
                ))
            },
            21,
        ));
        md_only.push(median_ms(
            || drop(std::hint::black_box(extract_convert::to_markdown(&parsed))),
            21,
        ));
        tables_only.push(median_ms(
            || {
                drop(std::hint::black_box(extract_convert::table_grids(
                    &parsed, true,
                )))
            },
            21,
        ));
        chunks_only.push(median_ms(|| drop(std::hint::black_box(chunk(&parsed))), 21));
        chunks_file.push(median_ms(
            || {
                let document = OutputDocument::from_json(&bytes).expect("parses");
                drop(std::hint::black_box(chunk(&document)));
            },
            21,
        ));
        cited_only.push(median_ms(
            || {
                let options = extract_convert::MarkdownOptions::default().with_page_anchors(true);
                drop(std::hint::black_box(extract_convert::to_markdown_with_map(
                    &parsed, &options,
                )))
            },
            21,
        ));
        html_only.push(median_ms(
            || {
                drop(std::hint::black_box(extract_convert::to_html(
                    &parsed,
                    &extract_convert::HtmlOptions::default(),
                )))
            },
            21,
        ));
        ours_tables.push(median_ms(
            || {
                let document = OutputDocument::from_json(&bytes).expect("parses");
                std::hint::black_box(extract_convert::table_grids(&document, true));
            },
            21,
        ));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (om, ot) = (median(&mut ours_md), median(&mut ours_tables));
    let (tm, tt) = (median(&mut theirs_md), median(&mut theirs_tables));
    let (tmf, ttf) = (median(&mut theirs_md_file), median(&mut theirs_tables_file));
    let (p, m, t) = (
        median(&mut parse),
        median(&mut md_only),
        median(&mut tables_only),
    );
    println!(
        "{} ({} bytes), medians of 3 alternating rounds",
        FIXTURE.rsplit('/').next().unwrap_or(FIXTURE),
        bytes.len()
    );
    println!(
        "each API from its own input (a parsed document; kenverters: a dict, validated by pydantic in the call):"
    );
    println!(
        "  to Markdown:    extract-convert {m:8.2} ms   kenverters {tm:8.2} ms   {:.1}x faster",
        tm / m
    );
    println!(
        "  to table grids: extract-convert {t:8.2} ms   kenverters {tt:8.2} ms   {:.1}x faster",
        tt / t
    );
    let (c, cf) = (median(&mut chunks_only), median(&mut chunks_file));
    let (cm, h) = (median(&mut cited_only), median(&mut html_only));
    println!(
        "  chunks (512, estimate) against kenverters' Markdown: {c:8.2} ms   {tm:8.2} ms   {:.1}x faster",
        tm / c
    );
    println!(
        "  Markdown with page anchors and source map: {cm:.2} ms; HTML page: {h:.2} ms (no kenverters equivalent)"
    );
    println!(
        "from the file's text (JSON parsing included on both sides; ours parses {p:.2} ms of it):"
    );
    println!(
        "  chunks against kenverters' Markdown: extract-convert {cf:8.2} ms   kenverters {tmf:8.2} ms   {:.1}x faster",
        tmf / cf
    );
    println!(
        "  to Markdown:    extract-convert {om:8.2} ms   kenverters {tmf:8.2} ms   {:.1}x faster",
        tmf / om
    );
    println!(
        "  to table grids: extract-convert {ot:8.2} ms   kenverters {ttf:8.2} ms   {:.1}x faster",
        ttf / ot
    );
}
