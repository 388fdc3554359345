//! Real PDF text extraction (with lopdf) into positioned blocks, and a PDF writer for samples.
//!
//! The extractor follows the text state of each page's content stream (`BT`, `Tf`, `Td`, `TD`,
//! `Tm`, `T*`, `TL`, `cm`, `q`/`Q`) to place every shown string, groups strings into lines and
//! lines into paragraphs, and calls a line a heading when its font is clearly larger than the
//! document's body text. That is far from Kensho's models, but it is derived from the document,
//! so a client reading the output back finds the PDF's own words, on their own pages.

use std::collections::BTreeMap;

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Encoding, Object, ObjectId, Stream, dictionary};

/// A page's size in PDF points and its text blocks in reading order.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub width: f64,
    pub height: f64,
    pub blocks: Vec<Block>,
}

/// A heading or a paragraph, with its box as fractions of the page, origin top-left.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    /// `Some(level)` (1 = largest) for a heading, `None` for body text.
    pub heading: Option<u8>,
    pub text: String,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// A line of text in page space (points, origin bottom-left).
#[derive(Debug, Clone)]
struct Line {
    text: String,
    x: f64,
    baseline: f64,
    end_x: f64,
    size: f64,
}

/// Extracts every page's text blocks, or says why the document cannot be read.
pub(crate) fn extract(bytes: &[u8]) -> Result<Vec<Page>, String> {
    if !bytes.starts_with(b"%PDF-") {
        return Err("the document is not a PDF: it does not start with %PDF-".into());
    }
    let doc = Document::load_mem(bytes).map_err(|e| format!("the PDF could not be parsed: {e}"))?;
    if doc.is_encrypted() {
        return Err("the PDF is encrypted; remove the password and submit it again".into());
    }
    let mut pages = Vec::new();
    for page_id in doc.get_pages().values() {
        let (width, height) = media_box(&doc, *page_id);
        pages.push((width, height, lines(&doc, *page_id)));
    }
    let headings = heading_sizes(pages.iter().flat_map(|(_, _, lines)| lines));
    Ok(pages
        .into_iter()
        .map(|(width, height, lines)| Page {
            width,
            height,
            blocks: blocks(&lines, &headings, width, height),
        })
        .collect())
}

/// Counts the pages of a PDF, as the service does to check `pages`.
pub(crate) fn page_count(pages: &[Page]) -> u32 {
    u32::try_from(pages.len()).unwrap_or(u32::MAX)
}

fn number(object: &Object) -> Option<f64> {
    match object {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(f64::from(*r)),
        _ => None,
    }
}

fn media_box(doc: &Document, page_id: ObjectId) -> (f64, f64) {
    let mut current = doc.get_dictionary(page_id).ok();
    while let Some(dict) = current {
        if let Ok(Object::Array(rect)) = dict
            .get(b"MediaBox")
            .and_then(|o| doc.dereference(o))
            .map(|(_, o)| o)
        {
            let v: Vec<f64> = rect.iter().filter_map(number).collect();
            if v.len() == 4 {
                return ((v[2] - v[0]).abs(), (v[3] - v[1]).abs());
            }
        }
        current = dict
            .get(b"Parent")
            .and_then(Object::as_reference)
            .and_then(|id| doc.get_dictionary(id))
            .ok();
    }
    (612.0, 792.0)
}

type Matrix = [f64; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `a × b` for PDF's row-vector affine matrices.
fn multiply(a: &Matrix, b: &Matrix) -> Matrix {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

/// The text state while walking a content stream.
struct TextState<'a> {
    ctm: Matrix,
    saved: Vec<Matrix>,
    tm: Matrix,
    tlm: Matrix,
    leading: f64,
    size: f64,
    encoding: Option<&'a Encoding<'a>>,
}

impl TextState<'_> {
    fn next_line(&mut self, tx: f64, ty: f64) {
        self.tlm = multiply(&[1.0, 0.0, 0.0, 1.0, tx, ty], &self.tlm);
        self.tm = self.tlm;
    }
}

fn lines(doc: &Document, page_id: ObjectId) -> Vec<Line> {
    let fonts = doc.get_page_fonts(page_id).unwrap_or_default();
    let encodings: BTreeMap<Vec<u8>, Encoding> = fonts
        .into_iter()
        .filter_map(|(name, font)| font.get_font_encoding(doc).ok().map(|e| (name, e)))
        .collect();
    let Ok(content) = doc.get_and_decode_page_content(page_id) else {
        return Vec::new();
    };
    let mut state = TextState {
        ctm: IDENTITY,
        saved: Vec::new(),
        tm: IDENTITY,
        tlm: IDENTITY,
        leading: 0.0,
        size: 12.0,
        encoding: None,
    };
    let mut runs: Vec<Line> = Vec::new();
    for op in &content.operations {
        let nums: Vec<f64> = op.operands.iter().filter_map(number).collect();
        match op.operator.as_str() {
            "q" => state.saved.push(state.ctm),
            "Q" => state.ctm = state.saved.pop().unwrap_or(IDENTITY),
            "cm" if nums.len() == 6 => {
                state.ctm = multiply(
                    &[nums[0], nums[1], nums[2], nums[3], nums[4], nums[5]],
                    &state.ctm,
                )
            }
            "BT" => {
                state.tm = IDENTITY;
                state.tlm = IDENTITY;
            }
            "Tf" => {
                state.encoding = op
                    .operands
                    .first()
                    .and_then(|o| o.as_name().ok())
                    .and_then(|n| encodings.get(n));
                if let Some(size) = nums.first() {
                    state.size = *size;
                }
            }
            "TL" if !nums.is_empty() => state.leading = nums[0],
            "Td" if nums.len() == 2 => state.next_line(nums[0], nums[1]),
            "TD" if nums.len() == 2 => {
                state.leading = -nums[1];
                state.next_line(nums[0], nums[1]);
            }
            "Tm" if nums.len() == 6 => {
                state.tlm = [nums[0], nums[1], nums[2], nums[3], nums[4], nums[5]];
                state.tm = state.tlm;
            }
            "T*" => state.next_line(0.0, -state.leading),
            "Tj" | "TJ" | "'" | "\"" => {
                if op.operator != "Tj" && op.operator != "TJ" {
                    state.next_line(0.0, -state.leading);
                }
                let text = shown_text(op, state.encoding);
                if !text.trim().is_empty() {
                    let m = multiply(&state.tm, &state.ctm);
                    let size = state.size * m[2].hypot(m[3]).max(f64::EPSILON);
                    // Without font metrics, a glyph is taken as half the font size wide.
                    let advance = text.chars().count() as f64 * 0.5 * state.size;
                    runs.push(Line {
                        end_x: m[4] + advance * m[0].hypot(m[1]),
                        text,
                        x: m[4],
                        baseline: m[5],
                        size,
                    });
                    state.tm = multiply(&[1.0, 0.0, 0.0, 1.0, advance, 0.0], &state.tm);
                }
            }
            _ => {}
        }
    }
    join_runs(runs)
}

fn shown_text(op: &Operation, encoding: Option<&Encoding>) -> String {
    let decode = |bytes: &[u8]| match encoding {
        Some(enc) => Document::decode_text(enc, bytes).unwrap_or_default(),
        None => String::from_utf8_lossy(bytes).into_owned(),
    };
    let mut text = String::new();
    let strings: &[Object] = match op.operator.as_str() {
        "\"" => op.operands.get(2..).unwrap_or(&[]),
        _ => &op.operands,
    };
    for operand in strings {
        match operand {
            Object::String(bytes, _) => text.push_str(&decode(bytes)),
            Object::Array(items) => {
                for item in items {
                    match item {
                        Object::String(bytes, _) => text.push_str(&decode(bytes)),
                        // A large negative kern in TJ is how PDFs write a word space.
                        other if number(other).is_some_and(|n| n < -200.0) => text.push(' '),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    text
}

/// Merges runs on the same baseline into lines, top to bottom, left to right.
fn join_runs(mut runs: Vec<Line>) -> Vec<Line> {
    runs.sort_by(|a, b| b.baseline.total_cmp(&a.baseline).then(a.x.total_cmp(&b.x)));
    let mut lines: Vec<Line> = Vec::new();
    for run in runs {
        match lines.last_mut() {
            Some(line) if (line.baseline - run.baseline).abs() < 0.3 * line.size.min(run.size) => {
                if run.x > line.end_x + 0.1 * run.size && !line.text.ends_with(' ') {
                    line.text.push(' ');
                }
                line.text.push_str(&run.text);
                line.end_x = line.end_x.max(run.end_x);
                line.size = line.size.max(run.size);
            }
            _ => lines.push(run),
        }
    }
    lines
}

/// Font sizes that mark headings, largest first: those clearly above the body size (the size
/// carrying the most characters).
fn heading_sizes<'a>(lines: impl Iterator<Item = &'a Line>) -> Vec<f64> {
    let mut chars_by_size: BTreeMap<u64, usize> = BTreeMap::new();
    for line in lines {
        *chars_by_size
            .entry((line.size * 10.0).round() as u64)
            .or_default() += line.text.len();
    }
    let Some(body) = chars_by_size
        .iter()
        .max_by_key(|(_, chars)| **chars)
        .map(|(size, _)| *size)
    else {
        return Vec::new();
    };
    chars_by_size
        .keys()
        .rev()
        .filter(|&&size| size as f64 > body as f64 * 1.15)
        .take(5)
        .map(|&size| size as f64 / 10.0)
        .collect()
}

fn blocks(lines: &[Line], headings: &[f64], width: f64, height: f64) -> Vec<Block> {
    let level = |size: f64| {
        headings
            .iter()
            .position(|h| (h - (size * 10.0).round() / 10.0).abs() < 0.05)
            .map(|i| i as u8 + 1)
    };
    let mut groups: Vec<(Option<u8>, Vec<&Line>)> = Vec::new();
    for line in lines {
        let heading = level(line.size);
        match groups.last_mut() {
            Some((h, group))
                if *h == heading
                    && group.last().is_some_and(|prev| {
                        prev.baseline - line.baseline <= 1.8 * line.size.max(prev.size)
                    }) =>
            {
                group.push(line)
            }
            _ => groups.push((heading, vec![line])),
        }
    }
    groups
        .into_iter()
        .map(|(heading, group)| {
            let top = group
                .iter()
                .map(|l| l.baseline + l.size * 0.8)
                .fold(f64::MIN, f64::max);
            let bottom = group
                .iter()
                .map(|l| l.baseline - l.size * 0.2)
                .fold(f64::MAX, f64::min);
            let left = group.iter().map(|l| l.x).fold(f64::MAX, f64::min);
            let right = group.iter().map(|l| l.end_x).fold(f64::MIN, f64::max);
            let fraction = |v: f64, of: f64| (v / of).clamp(0.0, 1.0);
            Block {
                heading,
                text: group
                    .iter()
                    .map(|l| l.text.trim())
                    .collect::<Vec<_>>()
                    .join(" "),
                x: fraction(left, width),
                y: fraction(height - top, height),
                width: fraction(right - left, width),
                height: fraction(top - bottom, height),
            }
        })
        .collect()
}

/// One page of a sample PDF: a heading, then paragraphs.
#[derive(Debug, Clone)]
pub struct SamplePage {
    /// Set in 20-point type at the top of the page.
    pub heading: String,
    /// Set in 11-point type, wrapped at about 90 characters a line.
    pub paragraphs: Vec<String>,
}

/// Writes a real, minimal PDF (Helvetica, US Letter) of the given pages, for tests and the demo.
///
/// ```
/// use extract_emulator::{SamplePage, sample_pdf};
/// let pdf = sample_pdf(&[SamplePage {
///     heading: "Quarterly report".into(),
///     paragraphs: vec!["Revenue grew.".into()],
/// }]);
/// assert!(pdf.starts_with(b"%PDF-"));
/// ```
pub fn sample_pdf(pages: &[SamplePage]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids = Vec::new();
    for page in pages {
        let mut ops = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 20.into()]),
            Operation::new("Td", vec![72.into(), 720.into()]),
            Operation::new("Tj", vec![Object::string_literal(page.heading.as_str())]),
            Operation::new("Tf", vec!["F1".into(), 11.into()]),
            Operation::new("TL", vec![14.into()]),
            Operation::new("Td", vec![0.into(), (-16).into()]),
        ];
        for paragraph in &page.paragraphs {
            ops.push(Operation::new("Td", vec![0.into(), (-16).into()]));
            for line in wrap(paragraph, 90) {
                ops.push(Operation::new("'", vec![Object::string_literal(line)]));
            }
        }
        ops.push(Operation::new("ET", vec![]));
        let content = Content { operations: ops }.encode().unwrap_or_default();
        let content_id = doc.add_object(Stream::new(Dictionary::new(), content));
        kids.push(Object::from(doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
        })));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = doc.save_to(&mut bytes);
    bytes
}

/// [`sample_pdf`] encrypted with a user password (RC4, 128-bit), for tests of what a client does
/// with a file it cannot read without one.
pub fn sample_encrypted_pdf(pages: &[SamplePage], user_password: &str) -> Vec<u8> {
    let bytes = sample_pdf(pages);
    let Ok(mut doc) = Document::load_mem(&bytes) else {
        return bytes;
    };
    // The key derivation takes in the file identifier, which a plain sample lacks.
    let id = Object::String(
        b"kensho-extract-id".to_vec(),
        lopdf::StringFormat::Hexadecimal,
    );
    doc.trailer.set("ID", Object::Array(vec![id.clone(), id]));
    let version = lopdf::encryption::EncryptionVersion::V2 {
        document: &doc,
        owner_password: "owner",
        user_password,
        key_length: 128,
        permissions: lopdf::encryption::Permissions::default(),
    };
    let Ok(state) = lopdf::encryption::EncryptionState::try_from(version) else {
        return bytes;
    };
    if doc.encrypt(&state).is_err() {
        return bytes;
    }
    let mut encrypted = Vec::new();
    match doc.save_to(&mut encrypted) {
        Ok(_) => encrypted,
        Err(_) => bytes,
    }
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().map_or(0, |l| l.len());
        if line > 0 && line + 1 + word.len() > width {
            lines.push(String::new());
        }
        if let Some(last) = lines.last_mut() {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_headings_and_paragraphs_with_positions_from_a_real_pdf() {
        let long = "Revenue grew in every region, led by strong demand for structured data products and by steady renewals across the installed base of enterprise customers.";
        let pdf = sample_pdf(&[
            SamplePage {
                heading: "Annual Report".into(),
                paragraphs: vec![long.into(), "Second paragraph.".into()],
            },
            SamplePage {
                heading: "Outlook".into(),
                paragraphs: vec!["We expect growth.".into()],
            },
        ]);
        let pages = extract(&pdf).expect("parses");
        assert_eq!(pages.len(), 2);
        let first = &pages[0];
        assert_eq!((first.width, first.height), (612.0, 792.0));
        let texts: Vec<(Option<u8>, &str)> = first
            .blocks
            .iter()
            .map(|b| (b.heading, b.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                (Some(1), "Annual Report"),
                (None, long),
                (None, "Second paragraph.")
            ]
        );
        let heading = &first.blocks[0];
        assert!((heading.x - 72.0 / 612.0).abs() < 1e-9, "{}", heading.x);
        assert!(
            heading.y > 0.0 && heading.y < 0.1,
            "near the top: {}",
            heading.y
        );
        assert!(
            first.blocks[1].y > heading.y,
            "reading order goes down the page"
        );
        assert!(
            first.blocks[1].height > first.blocks[2].height,
            "a wrapped paragraph is taller"
        );
        assert_eq!(pages[1].blocks[1].text, "We expect growth.");
    }

    #[test]
    fn refuses_what_is_not_a_pdf() {
        assert!(
            extract(b"hello")
                .expect_err("not a PDF")
                .contains("not a PDF")
        );
        assert!(
            extract(b"%PDF-1.5 garbage")
                .expect_err("broken")
                .contains("could not be parsed")
        );
    }

    #[test]
    fn wraps_on_word_boundaries() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("", 5), [""]);
    }
}
