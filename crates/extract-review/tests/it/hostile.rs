//! PDFs made to exhaust the renderer (issue 22): a page a million points wide, a content
//! stream that inflates to gigabytes, millions of path operators. Each review is still
//! written, the page drawn smaller or left blank with a note saying why, within bounded
//! memory and time. The files are made here, a few hundred kilobytes at most.

use std::time::{Duration, Instant};

use extract_model::OutputDocument;
use extract_review::{RenderLimits, ReviewOptions, render_pages_with, write_review};

/// A one-page PDF: `media_box`, and `content` as its content stream with `filter`.
fn pdf(media_box: &str, content: &[u8], filter: &str) -> Vec<u8> {
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [{media_box}] /Contents 4 0 R /Resources << >> >>"
        )
        .into_bytes(),
        [
            format!("<< /Length {} {filter} >>\nstream\n", content.len()).as_bytes(),
            content,
            b"\nendstream",
        ]
        .concat(),
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(object);
        out.extend_from_slice(b"\nendobj\n");
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

/// A zlib stream of `1 + 258 × matches` spaces, a fixed-Huffman block of back-references
/// (13 bits per 258 bytes): a few hundred kilobytes that inflate to a hundred megabytes or more.
fn space_bomb(matches: u64) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        n: u32,
    }
    impl Bits {
        fn put(&mut self, value: u64, count: u32) {
            self.acc |= value << self.n;
            self.n += count;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        /// A Huffman code: most significant bit first.
        fn code(&mut self, code: u64, count: u32) {
            let reversed = (0..count).fold(0, |r, i| r | ((code >> i) & 1) << (count - 1 - i));
            self.put(reversed, count);
        }
    }
    let mut bits = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        n: 0,
    };
    bits.put(1, 1); // final block
    bits.put(1, 2); // fixed Huffman codes
    bits.code(0x30 + u64::from(b' '), 8);
    for _ in 0..matches {
        bits.code(0b1100_0101, 8); // length 258
        bits.code(0, 5); // distance 1
    }
    bits.code(0, 7); // end of block
    bits.put(0, 7);
    // Adler-32 of n spaces.
    let n = 1 + 258 * matches;
    let a = (1 + 32 * n) % 65_521;
    let b = (n + 32 * ((n as u128 * (n as u128 + 1) / 2) % 65_521) as u64) % 65_521;
    bits.out
        .extend_from_slice(&((b << 16 | a) as u32).to_be_bytes());
    bits.out
}

fn strokes(count: usize) -> Vec<u8> {
    let content = b"0 0 m 600 700 l S ".repeat(count);
    miniz_oxide::deflate::compress_to_vec_zlib(&content, 6)
}

/// The review page of a one-box output over `pdf`.
fn review(pdf: &[u8], options: &ReviewOptions) -> String {
    let document = OutputDocument::from_json(
        br#"{"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": [
        {"uid": "1", "type": "H1", "content": "Results", "children": [],
         "locations": [{"x": 0.1, "y": 0.1, "width": 0.5, "height": 0.05, "page_number": 0}]}]},
        "annotations": []}"#,
    )
    .expect("output");
    let mut html = Vec::new();
    write_review(&document, Some(pdf), options, &mut html).expect("the review is written");
    String::from_utf8(html).expect("UTF-8")
}

/// The single page's note, or why not.
fn note(html: &str) -> &str {
    let at = html
        .find("<p class=\"render-note\">")
        .expect("the page says why");
    let rest = &html[at..];
    &rest[..rest.find("</p>").expect("closed")]
}

/// The page's image, decoded: (width, height).
fn image_size(pdf: &[u8], limits: &RenderLimits) -> Result<(u32, u32), String> {
    let mut size = Err(String::new());
    render_pages_with(pdf, 1.5, 1, limits, |_, page| {
        size = page.map(|p| (p.width, p.height));
        Ok::<_, ()>(())
    })
    .expect("readable")
    .expect("sink");
    size
}

/// The first image's PNG size: (width, height) from its header.
fn png_size(html: &str) -> (u32, u32) {
    use base64::Engine;
    let at = html.find("base64,").expect("an image") + "base64,".len();
    let head = base64::engine::general_purpose::STANDARD
        .decode(&html[at..at + 32])
        .expect("base64");
    let number = |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    (number(16), number(20))
}

#[test]
fn a_page_a_million_points_wide_is_drawn_smaller_within_the_default_limits() {
    // Before: 1.5 million pixels a side, cut to u16::MAX, and the rasteriser panicked.
    let pdf = pdf("0 0 1000000 1000000", b"0 0 m 1000000 1000000 l S", "");
    let html = review(&pdf, &ReviewOptions::default());
    assert!(
        note(&html).contains("drawn at 0.004 pixels per point instead of 1.5"),
        "{}",
        note(&html)
    );
    let (w, h) = png_size(&html);
    assert!(
        u64::from(w) * u64::from(h) <= RenderLimits::default().max_pixels_per_page && w >= 4000,
        "{w} × {h}"
    );
}

#[test]
fn a_page_past_the_pixel_limit_is_scaled_to_it_and_a_thin_one_is_left_blank() {
    // 14,400 points square (200 inches), the largest page PDF allows without UserUnit.
    let pdf_big = pdf("0 0 14400 14400", b"", "");
    let limits = RenderLimits::default().with_max_pixels_per_page(1_000_000);
    let (w, h) = image_size(&pdf_big, &limits).expect("drawn");
    assert!(
        u64::from(w) * u64::from(h) <= 1_000_000 && w >= 990,
        "{w} × {h}"
    );
    // A page a million points long and one wide has no pixel to draw at that size.
    let thin = pdf("0 0 1 1000000", b"", "");
    let why = image_size(&thin, &limits).expect_err("not drawn");
    assert!(why.contains("too narrow"), "{why}");
}

#[test]
fn a_flate_bomb_content_stream_is_never_inflated_past_the_budget() {
    // 1 GB of spaces in 6.5 MB.
    let pdf = pdf(
        "0 0 612 792",
        &space_bomb(4_000_000),
        "/Filter /FlateDecode",
    );
    assert!(pdf.len() < 7_000_000);
    let started = Instant::now();
    let html = review(&pdf, &ReviewOptions::default());
    assert!(
        note(&html).contains("decodes to more than 33 MB"),
        "{}",
        note(&html)
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // The boxes are still drawn, with the item's text, on a blank sheet.
    assert!(html.contains("data-n=\"1\"") && html.contains(">Results</div>"));
    assert!(!html.contains("<img class=\"scan\""));
}

#[test]
fn millions_of_path_operators_stop_at_the_time_limit() {
    // A million strokes, 18 MB of content compressed to a few kilobytes.
    let pdf = pdf("0 0 612 792", &strokes(1_000_000), "/Filter /FlateDecode");
    let limit = Duration::from_millis(300);
    // Memory plenty: the time is what stops it.
    let limits = RenderLimits::default()
        .with_memory_budget_bytes(8 << 30)
        .with_time_per_page(limit);
    let started = Instant::now();
    let html = review(&pdf, &ReviewOptions::default().with_render_limits(limits));
    let took = started.elapsed();
    assert!(
        note(&html).contains("took longer than the 0.30 s limit per page"),
        "{}",
        note(&html)
    );
    assert!(took < limit + Duration::from_secs(3), "{took:?}");
}

#[test]
fn millions_of_path_operators_stop_at_the_default_memory_budget() {
    // 27 MB of content: under the content limit, over the budget once drawn.
    let pdf = pdf("0 0 612 792", &strokes(1_500_000), "/Filter /FlateDecode");
    let started = Instant::now();
    let html = review(&pdf, &ReviewOptions::default());
    assert!(
        note(&html).contains("the memory budget is 268 MB"),
        "{}",
        note(&html)
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn an_ordinary_page_has_no_note() {
    let pdf = pdf("0 0 612 792", b"0 0 m 600 700 l S", "");
    let html = review(&pdf, &ReviewOptions::default());
    assert!(!html.contains("render-note\">"), "no note");
    assert!(html.contains("<img class=\"scan\""));
}

/// A review holds at most `max_image_bytes` of page images: past it, pages are drawn without
/// their image and say why, so a long document cannot make the review outgrow memory.
#[test]
fn page_images_stop_at_the_reviews_image_limit() {
    let one = pdf("0 0 612 792", b"0 0 m 600 700 l S", "");
    let html = review(&one, &ReviewOptions::default());
    let full = review(
        &one,
        &ReviewOptions::default()
            .with_render_limits(RenderLimits::default().with_max_image_bytes(100)),
    );
    assert!(html.contains("<img class=\"scan\""));
    assert!(
        !full.contains("<img class=\"scan\""),
        "no image past the limit"
    );
    assert!(note(&full).contains("its limit"), "{}", note(&full));
}
