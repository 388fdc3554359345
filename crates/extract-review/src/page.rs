//! The review page: one self-contained HTML file (no network, no external script), written
//! page by page as it is made.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;

use extract_convert::escape_html as escape;
use extract_model::OutputDocument;
use serde::Serialize;

use crate::frame::{LETTER, PageFrame};
use crate::limits::RenderLimits;
use crate::located::{Located, colour_class, located};

/// How a review page is made.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReviewOptions {
    /// The page's title (usually the output's file name).
    pub title: String,
    /// CSS pixels per PDF point (1.5 by default: 108 dpi, a Letter page 918 pixels wide).
    pub scale: f64,
    /// Threads rendering PDF pages; 0 is one per core.
    pub threads: usize,
    /// Boxes to highlight, by uid: `added`, `changed` or `moved` (what [`diff`](crate::diff)
    /// found).
    pub highlights: HashMap<String, &'static str>,
    /// Lines listed above the items (what a diff removed).
    pub notes: Vec<String>,
    /// Bounds on rendering each PDF page: pixels, memory, time.
    pub render_limits: RenderLimits,
}

impl Default for ReviewOptions {
    fn default() -> Self {
        ReviewOptions {
            title: "Extract output".into(),
            scale: 1.5,
            threads: 0,
            highlights: HashMap::new(),
            notes: Vec::new(),
            render_limits: RenderLimits::default(),
        }
    }
}

impl ReviewOptions {
    /// The page's title.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }
    /// Pixels per PDF point.
    pub fn with_scale(mut self, scale: f64) -> Self {
        self.scale = scale;
        self
    }
    /// Threads rendering PDF pages (0: one per core; fewer if the memory budget holds fewer).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }
    /// Bounds on rendering each PDF page.
    pub fn with_render_limits(mut self, limits: RenderLimits) -> Self {
        self.render_limits = limits;
        self
    }
}

/// Why a review page could not be written.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReviewError {
    /// The PDF cannot be read (or this build renders none).
    Pdf(String),
    /// Writing failed.
    Io(std::io::Error),
    /// This build renders no PDF pages (it was built without the `pdf` feature).
    NoRenderer,
}

impl std::fmt::Display for ReviewError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReviewError::Pdf(why) => f.write_str(why),
            ReviewError::Io(_) => f.write_str("cannot write the review page"),
            ReviewError::NoRenderer => f.write_str(
                "this build renders no PDF pages: it was built without the `pdf` feature",
            ),
        }
    }
}

impl std::error::Error for ReviewError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReviewError::Io(e) => Some(e),
            ReviewError::Pdf(_) | ReviewError::NoRenderer => None,
        }
    }
}

impl From<std::io::Error> for ReviewError {
    fn from(e: std::io::Error) -> Self {
        ReviewError::Io(e)
    }
}

/// One item of the side panel, as the page's script reads it.
#[derive(Serialize)]
struct PanelItem<'a> {
    n: usize,
    uid: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    page: i64,
    #[serde(rename = "box")]
    bbox: [f64; 4],
    text: &'a str,
}

#[derive(Serialize)]
struct PanelCell<'a> {
    uid: &'a str,
    text: &'a str,
    header: bool,
}

/// Writes the review page of `document` to `out`: per page an SVG with every located item's
/// box, coloured by type and numbered in reading order, table cells as a grid with header
/// cells marked; a side panel listing the items; a page selector. With `pdf`, each page is
/// rendered under its boxes (feature `pdf`); without, a blank sheet of the page's size shows
/// each item's text in its box.
pub fn write_review(
    document: &OutputDocument,
    pdf: Option<&[u8]>,
    options: &ReviewOptions,
    out: &mut dyn Write,
) -> Result<(), ReviewError> {
    let items = located(document);
    let pdf_sizes = match pdf {
        Some(pdf) => Some(pdf_page_sizes(pdf)?),
        None => None,
    };
    let output_sizes: Vec<(f64, f64)> = document
        .pdf_pages
        .iter()
        .flatten()
        .map(|p| (p.width, p.height))
        .collect();
    let size = |page: usize| -> (f64, f64) {
        pdf_sizes
            .as_ref()
            .and_then(|s| s.get(page))
            .or_else(|| output_sizes.get(page))
            .copied()
            .unwrap_or(LETTER)
    };
    // The pages drawn: those the PDF has and those a box is on.
    let mut pages: BTreeSet<usize> = (0..pdf_sizes.as_ref().map_or(0, Vec::len)).collect();
    let mut on_page: HashMap<usize, Vec<(usize, [f64; 4])>> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        for (page, bbox) in &item.boxes {
            let page = usize::try_from(*page).unwrap_or(0);
            pages.insert(page);
            on_page.entry(page).or_default().push((i, *bbox));
        }
    }
    if pages.is_empty() {
        pages.insert(0);
    }
    head(out, options, &items, &pages)?;
    let cells = cell_indices(&items);
    let section = |out: &mut dyn Write, page: usize, image: Option<&[u8]>, note: Option<&str>| {
        let (w, h) = size(page);
        let frame = PageFrame::from_points(w, h, options.scale);
        let boxes = on_page.get(&page).map(Vec::as_slice).unwrap_or_default();
        let drawn = Drawn {
            items: &items,
            cells: &cells,
            boxes,
        };
        write_page(out, page, &frame, image, note, &drawn, options)
    };
    match pdf {
        Some(pdf) => render_under(pdf, options, &pages, out, &section)?,
        None => {
            for &page in &pages {
                section(out, page, None, None)?;
            }
        }
    }
    tail(out, &items)?;
    Ok(())
}

#[cfg(feature = "pdf")]
fn pdf_page_sizes(pdf: &[u8]) -> Result<Vec<(f64, f64)>, ReviewError> {
    crate::raster::page_sizes(pdf).map_err(ReviewError::Pdf)
}

#[cfg(not(feature = "pdf"))]
fn pdf_page_sizes(_pdf: &[u8]) -> Result<Vec<(f64, f64)>, ReviewError> {
    Err(ReviewError::NoRenderer)
}

/// Writes one page's section: the output, the page index, the page's PNG if rendered, a note
/// on how it was rendered (or why not).
type WriteSection<'a> =
    dyn Fn(&mut dyn Write, usize, Option<&[u8]>, Option<&str>) -> std::io::Result<()> + 'a;

/// Every page, the PDF's rendered under its boxes (in page order, as they are rendered), then
/// the pages only boxes are on.
#[cfg(feature = "pdf")]
fn render_under(
    pdf: &[u8],
    options: &ReviewOptions,
    pages: &BTreeSet<usize>,
    out: &mut dyn Write,
    section: &WriteSection<'_>,
) -> Result<(), ReviewError> {
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let scale = options.scale as f32;
    let limits = &options.render_limits;
    let sizes = crate::raster::page_sizes(pdf).map_err(ReviewError::Pdf)?;
    let mut rendered = 0;
    let mut embedded: u64 = 0;
    crate::raster::render_pages_with(pdf, scale, threads, limits, |page, image| {
        rendered = page + 1;
        match &image {
            Ok(image)
                if embedded.saturating_add(image.png.len() as u64) > limits.max_image_bytes =>
            {
                let full = format!(
                    "not drawn: the review already holds {:.1} MiB of page images, its limit",
                    embedded as f64 / f64::from(1 << 20)
                );
                section(&mut *out, page, None, Some(&full))
            }
            Ok(image) => {
                embedded = embedded.saturating_add(image.png.len() as u64);
                // Drawn smaller than asked: the pixel limit, said on the page.
                let wanted = sizes.get(page).map_or(0.0, |s| s.0 * options.scale);
                let note = (f64::from(image.width) + 1.0 < wanted * 0.99).then(|| {
                    format!(
                        "drawn at {:.3} pixels per point instead of {}: the page is larger than the {:.1} megapixel limit per page",
                        f64::from(image.width) * options.scale / wanted,
                        options.scale,
                        limits.max_pixels_per_page as f64 / 1e6
                    )
                });
                section(&mut *out, page, Some(&image.png), note.as_deref())
            }
            Err(why) => section(&mut *out, page, None, Some(why)),
        }
    })
    .map_err(ReviewError::Pdf)??;
    for &page in pages.range(rendered..) {
        section(out, page, None, None)?;
    }
    Ok(())
}

#[cfg(not(feature = "pdf"))]
fn render_under(
    _pdf: &[u8],
    _options: &ReviewOptions,
    _pages: &BTreeSet<usize>,
    _out: &mut dyn Write,
    _section: &WriteSection<'_>,
) -> Result<(), ReviewError> {
    // `pdf_page_sizes` refuses first; said again rather than assumed.
    pdf_page_sizes(&[]).map(|_| ())
}

fn head(
    out: &mut dyn Write,
    options: &ReviewOptions,
    items: &[Located],
    pages: &BTreeSet<usize>,
) -> std::io::Result<()> {
    let title = escape(&options.title);
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width\">\n<title>Review: {title}</title>\n\
         <style>\n{}</style>\n</head>\n<body>\n<aside id=\"panel\">\n<h1>{title}</h1>\n",
        include_str!("../assets/review.css")
    )?;
    write!(out, "<label>Page <select id=\"page-select\">")?;
    for page in pages {
        write!(out, "<option value=\"{0}\">{0}</option>", page + 1)?;
    }
    writeln!(out, "</select></label> of {}", pages.len())?;
    out.write_all(b"<div class=\"legend\">")?;
    for (class, name) in [
        ("heading", "heading"),
        ("text", "text"),
        ("table", "table"),
        ("cell", "cell"),
        ("caption", "caption"),
        ("figure", "figure"),
        ("furniture", "page header/footer"),
        ("toc", "contents"),
        ("other", "other"),
    ] {
        write!(
            out,
            "<span><span class=\"tag c-{class}\">&#160;</span>{name}</span>"
        )?;
    }
    out.write_all(b"</div>\n<div id=\"detail\">Click a box or an item.</div>\n")?;
    if !options.notes.is_empty() {
        out.write_all(b"<ul class=\"notes\">")?;
        for note in &options.notes {
            write!(out, "<li>{}</li>", escape(note))?;
        }
        out.write_all(b"</ul>\n")?;
    }
    out.write_all(b"<ol id=\"items\">\n")?;
    for item in items.iter().filter(|i| !i.cell) {
        let page = item.boxes.first().map_or(0, |b| b.0 + 1);
        let text: String = if item.text.is_empty() {
            format!("({})", item.kind.replace('_', " "))
        } else {
            item.text.chars().take(80).collect()
        };
        writeln!(
            out,
            "<li data-n=\"{}\" data-page=\"{page}\"><span class=\"tag c-{}\">{}</span>{}</li>",
            item.number,
            colour_class(&item.kind),
            item.number,
            escape(&text)
        )?;
    }
    out.write_all(b"</ol>\n</aside>\n<main id=\"pages\">\n")
}

/// What a page draws: the document's located items, each cell's index in the script's list,
/// and the boxes on this page (item index, box).
struct Drawn<'a> {
    items: &'a [Located],
    cells: &'a HashMap<usize, usize>,
    boxes: &'a [(usize, [f64; 4])],
}

/// One page: the image (or a blank sheet with the texts), the cells, the items and numbers.
fn write_page(
    out: &mut dyn Write,
    page: usize,
    frame: &PageFrame,
    image: Option<&[u8]>,
    note: Option<&str>,
    drawn: &Drawn,
    options: &ReviewOptions,
) -> std::io::Result<()> {
    let Drawn {
        items,
        cells,
        boxes,
    } = *drawn;
    let (w, h) = (frame.width, frame.height);
    writeln!(
        out,
        "<section class=\"page\" id=\"page-{0}\" data-page=\"{0}\" style=\"width:{w:.0}px;height:{h:.0}px\">",
        page + 1
    )?;
    if let Some(note) = note {
        writeln!(
            out,
            "<p class=\"render-note\">Page {}: {}</p>",
            page + 1,
            escape(note)
        )?;
    }
    if let Some(png) = image {
        write!(
            out,
            "<img class=\"scan\" alt=\"page {}\" width=\"{w:.0}\" height=\"{h:.0}\" src=\"data:image/png;base64,",
            page + 1
        )?;
        {
            let mut encoder = base64::write::EncoderWriter::new(
                &mut *out,
                &base64::engine::general_purpose::STANDARD,
            );
            encoder.write_all(png)?;
            encoder.finish()?;
        }
        out.write_all(b"\">\n")?;
    }
    writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\">"
    )?;
    if image.is_none() {
        // The text in its box, so a page without its PDF can still be read.
        for &(i, bbox) in boxes {
            let item = &items[i];
            if item.text.is_empty()
                || matches!(item.kind.as_str(), "table" | "figure_extracted_table")
            {
                continue;
            }
            let r = frame.rect(bbox);
            let size = font_size(r.width, r.height, item.text.chars().count());
            writeln!(
                out,
                "<foreignObject x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><div xmlns=\"http://www.w3.org/1999/xhtml\" style=\"font-size:{size:.1}px\">{}</div></foreignObject>",
                r.x,
                r.y,
                r.width,
                r.height,
                escape(&item.text)
            )?;
        }
    }
    // Cells first, then items over them, each numbered at its top-left corner.
    for &(i, bbox) in boxes.iter().filter(|(i, _)| items[*i].cell) {
        let item = &items[i];
        let r = frame.rect(bbox);
        let header = if item.header { " header" } else { "" };
        writeln!(
            out,
            "<rect class=\"cell{header}\" data-c=\"{}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>cell {}: {}</title></rect>",
            cells.get(&i).copied().unwrap_or(0),
            r.x,
            r.y,
            r.width,
            r.height,
            escape(&item.uid),
            escape(&short(&item.text))
        )?;
    }
    for &(i, bbox) in boxes.iter().filter(|(i, _)| !items[*i].cell) {
        let item = &items[i];
        let r = frame.rect(bbox);
        let diff = options
            .highlights
            .get(&item.uid)
            .map(|kind| format!(" diff-{kind}"))
            .unwrap_or_default();
        let class = colour_class(&item.kind);
        write!(
            out,
            "<rect class=\"box c-{class}{diff}\" data-n=\"{n}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{n}. {} (uid {}): {}</title></rect>\n\
             <rect class=\"num c-{class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"12\"/><text class=\"num\" x=\"{:.1}\" y=\"{:.1}\">{n}</text>\n",
            r.x,
            r.y,
            r.width,
            r.height,
            escape(&item.kind),
            escape(&item.uid),
            escape(&short(&item.text)),
            r.x,
            (r.y - 12.0).max(0.0),
            6.5 * item.number.to_string().len() as f64 + 4.0,
            r.x + 2.0,
            (r.y - 12.0).max(0.0) + 10.0,
            n = item.number,
        )?;
    }
    out.write_all(b"</svg>\n</section>\n")
}

/// Each cell's index in the script's list of cells.
fn cell_indices(items: &[Located]) -> HashMap<usize, usize> {
    items
        .iter()
        .enumerate()
        .filter(|(_, i)| i.cell)
        .enumerate()
        .map(|(c, (i, _))| (i, c))
        .collect()
}

/// A font size that fits `chars` characters into a box, roughly.
fn font_size(width: f64, height: f64, chars: usize) -> f64 {
    let area = width * height;
    let size = (area / (chars.max(1) as f64 * 0.55)).sqrt();
    size.clamp(3.0, (height * 0.9).max(3.0)).min(28.0)
}

/// Text for a tooltip: at most 300 characters.
fn short(text: &str) -> String {
    let cut: String = text.chars().take(300).collect();
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

fn tail(out: &mut dyn Write, items: &[Located]) -> std::io::Result<()> {
    let panel: Vec<PanelItem> = items
        .iter()
        .filter(|i| !i.cell)
        .map(|i| {
            let (page, bbox) = i.boxes.first().copied().unwrap_or((0, [0.0; 4]));
            PanelItem {
                n: i.number,
                uid: &i.uid,
                kind: &i.kind,
                page: page + 1,
                bbox,
                text: &i.text,
            }
        })
        .collect();
    let cells: Vec<PanelCell> = items
        .iter()
        .filter(|i| i.cell)
        .map(|i| PanelCell {
            uid: &i.uid,
            text: &i.text,
            header: i.header,
        })
        .collect();
    let data = serde_json::json!({"items": panel, "cells": cells});
    // `<` escaped so that no text can close the script element.
    let json = serde_json::to_string(&data)
        .unwrap_or_else(|_| "{\"items\":[],\"cells\":[]}".into())
        .replace('<', "\\u003c");
    write!(
        out,
        "</main>\n<script type=\"application/json\" id=\"data\">{json}</script>\n<script>\n{}</script>\n</body>\n</html>\n",
        include_str!("../assets/review.js")
    )
}
