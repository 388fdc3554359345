//! Pages of the PDF rendered to PNG by `hayro` (pure Rust: no system PDF library, nothing
//! downloaded), one at a time per core, handed over in page order as they are done, so that
//! memory holds a few pages whatever the document's length.
//!
//! Each page is bounded before and while it is drawn ([`RenderLimits`]): its size in pixels
//! (a bigger page is drawn smaller), the memory it needs (measured by [`crate::measure`] before
//! hayro allocates, and reserved from a budget that every page rendered in this process
//! shares), and its time (checked at each drawing operation while measuring and at each object
//! read while drawing). A page past a bound, or one that makes hayro panic, becomes a note.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_interpret::util::TransformExt;
use hayro::hayro_syntax::Pdf;
use hayro::hayro_syntax::page::Page;
use hayro::kurbo::Affine;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings, render};

use crate::limits::RenderLimits;
use crate::measure::{self, BYTES_PER_PIXEL, Deadline, Stop, Watched};

/// Pixels of a page's side, at most: the rasteriser counts in `u16` and fails well before.
const MAX_SIDE: f64 = 16_384.0;

/// A page rendered to a PNG image.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RenderedPage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The PNG file's bytes.
    pub png: Vec<u8>,
}

fn open(pdf: Arc<Vec<u8>>) -> Result<Pdf, String> {
    open_watched(pdf, Arc::new(Deadline::new()))
}

/// The PDF read through [`Watched`] bytes: every object hayro reads checks `deadline`.
fn open_watched(pdf: Arc<Vec<u8>>, deadline: Arc<Deadline>) -> Result<Pdf, String> {
    let watched = Arc::new(Watched {
        bytes: pdf,
        deadline,
    });
    Pdf::new(watched).map_err(|e| match e {
        hayro::hayro_syntax::LoadPdfError::Decryption(_) => {
            "the PDF is encrypted: remove its password to review it over the page".to_string()
        }
        _ => "the file is not a PDF hayro can read".to_string(),
    })
}

/// The size of every page of `pdf` in PDF points, as displayed (rotation applied).
pub fn page_sizes(pdf: &[u8]) -> Result<Vec<(f64, f64)>, String> {
    let pdf = open(Arc::new(pdf.to_vec()))?;
    Ok(pdf
        .pages()
        .iter()
        .map(|p| {
            let (w, h) = p.render_dimensions();
            (f64::from(w), f64::from(h))
        })
        .collect())
}

/// Renders every page at `scale` pixels per point on `threads` threads and gives each to
/// `sink` in page order, within the default [`RenderLimits`]. See [`render_pages_with`].
pub fn render_pages<E>(
    pdf: &[u8],
    scale: f32,
    threads: usize,
    sink: impl FnMut(usize, Result<RenderedPage, String>) -> Result<(), E>,
) -> Result<Result<(), E>, String> {
    render_pages_with(pdf, scale, threads, &RenderLimits::default(), sink)
}

/// Renders every page at `scale` pixels per point (less for a page bigger than
/// `limits.max_pixels_per_page`) on at most `threads` threads, fewer if the memory budget
/// holds fewer pages of this document, and gives each to `sink` in page order. At most
/// `2 × threads` rendered pages wait at any time. A page that is not rendered (past a limit,
/// or the rasteriser failed on it) is given as an error: a short note saying why. `sink`
/// failing stops the rendering.
pub fn render_pages_with<E>(
    pdf: &[u8],
    scale: f32,
    threads: usize,
    limits: &RenderLimits,
    mut sink: impl FnMut(usize, Result<RenderedPage, String>) -> Result<(), E>,
) -> Result<Result<(), E>, String> {
    let data = Arc::new(pdf.to_vec());
    let (count, biggest) = {
        let pdf = open(Arc::clone(&data))?;
        let pages = pdf.pages();
        let biggest = pages
            .iter()
            .filter_map(|p| fit(p, scale, limits).ok())
            .map(|f| f.pixels().saturating_mul(BYTES_PER_PIXEL))
            .max()
            .unwrap_or(0);
        (pages.len(), biggest)
    };
    // As many threads as the budget holds of this document's biggest pages.
    let by_memory = usize::try_from(limits.memory_budget_bytes / biggest.max(1)).unwrap_or(1);
    let threads = threads.clamp(1, count.max(1)).min(by_memory.max(1));
    let window = 2 * threads;
    // (next page to take, pages handed to the sink, stop)
    let progress = Arc::new((Mutex::new((0usize, 0usize, false)), Condvar::new()));
    let (send, receive) = mpsc::channel::<(usize, Result<RenderedPage, String>)>();
    let result = std::thread::scope(|scope| {
        for _ in 0..threads {
            let (data, progress, send) = (Arc::clone(&data), Arc::clone(&progress), send.clone());
            scope.spawn(move || {
                let deadline = Arc::new(Deadline::new());
                // The document is read anew after a page that was stopped, and once the pages
                // drawn since have decoded a quarter of the budget (hayro keeps each page's
                // content and fonts as long as the document).
                loop {
                    let Ok(pdf) = open_watched(Arc::clone(&data), Arc::clone(&deadline)) else {
                        return;
                    };
                    let cache = RenderCache::new();
                    let mut held = 0u64;
                    loop {
                        let index = {
                            let (lock, wake) = &*progress;
                            let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
                            while !state.2 && state.0 < count && state.0 >= state.1 + window {
                                state = wake.wait(state).unwrap_or_else(|p| p.into_inner());
                            }
                            if state.2 || state.0 >= count {
                                return;
                            }
                            state.0 += 1;
                            state.0 - 1
                        };
                        let (rendered, kept, stopped) =
                            render_one(&pdf, &cache, index, scale, limits, &deadline);
                        if send.send((index, rendered)).is_err() {
                            return;
                        }
                        held = held.saturating_add(kept);
                        if stopped || held > limits.memory_budget_bytes / 4 {
                            break;
                        }
                    }
                }
            });
        }
        drop(send);
        let mut waiting = BTreeMap::new();
        let mut next = 0;
        let stop = |progress: &(Mutex<(usize, usize, bool)>, Condvar)| {
            let mut state = progress.0.lock().unwrap_or_else(|p| p.into_inner());
            state.2 = true;
            progress.1.notify_all();
        };
        for (index, page) in receive.iter() {
            waiting.insert(index, page);
            while let Some(page) = waiting.remove(&next) {
                if let Err(e) = sink(next, page) {
                    stop(&progress);
                    return Err(e);
                }
                next += 1;
                let mut state = progress.0.lock().unwrap_or_else(|p| p.into_inner());
                state.1 = next;
                progress.1.notify_all();
            }
        }
        Ok(())
    });
    Ok(result)
}

/// A page's pixel size at the scale it is drawn at.
#[derive(Debug, Clone, Copy)]
struct Fit {
    scale: f32,
    width: u16,
    height: u16,
}

impl Fit {
    fn pixels(self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// The scale `page` is drawn at: `scale`, or less if the page would pass the pixel limit or
/// [`MAX_SIDE`]. Sizes as hayro computes them (points × scale, truncated).
fn fit(page: &Page<'_>, scale: f32, limits: &RenderLimits) -> Result<Fit, String> {
    let (w, h) = page.render_dimensions();
    let (wf, hf) = (f64::from(w), f64::from(h));
    if !(wf.is_finite()
        && hf.is_finite()
        && wf > 0.0
        && hf > 0.0
        && scale.is_finite()
        && scale > 0.0)
    {
        return Err("not rendered: its size cannot be read".into());
    }
    let by_pixels = (limits.max_pixels_per_page as f64 / (wf * hf)).sqrt();
    let mut s = f64::from(scale).min(by_pixels).min(MAX_SIDE / wf.max(hf));
    for _ in 0..8 {
        let s32 = s as f32;
        let (width, height) = ((w * s32) as u16, (h * s32) as u16);
        if width == 0 || height == 0 {
            return Err(format!(
                "not rendered: the page is {w:.0} × {h:.0} points, too narrow to draw within {} pixels",
                limits.max_pixels_per_page
            ));
        }
        let fit = Fit {
            scale: s32,
            width,
            height,
        };
        if fit.pixels() <= limits.max_pixels_per_page {
            return Ok(fit);
        }
        s *= 0.999;
    }
    Err("not rendered: its size cannot be read".into())
}

/// Memory reserved by the pages being rendered in this process.
static POOL: (Mutex<u64>, Condvar) = (Mutex::new(0), Condvar::new());

/// Bytes reserved from [`POOL`] until dropped.
#[derive(Debug)]
struct Reservation(u64);

impl Reservation {
    /// Waits until `bytes` fit in `budget` with the pages already being rendered (or none is).
    fn take(bytes: u64, budget: u64) -> Self {
        let (lock, freed) = &POOL;
        let mut used = lock.lock().unwrap_or_else(|p| p.into_inner());
        while *used > 0 && used.saturating_add(bytes) > budget {
            used = freed.wait(used).unwrap_or_else(|p| p.into_inner());
        }
        *used = used.saturating_add(bytes);
        Reservation(bytes)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let (lock, freed) = &POOL;
        let mut used = lock.lock().unwrap_or_else(|p| p.into_inner());
        *used = used.saturating_sub(self.0);
        freed.notify_all();
    }
}

/// Renders one page within `limits`: the page or a note; the bytes of streams it decoded
/// (which the document keeps); whether it was stopped (and the document must be read anew).
fn render_one<'a>(
    pdf: &'a Pdf,
    cache: &RenderCache<'a>,
    index: usize,
    scale: f32,
    limits: &RenderLimits,
    deadline: &Deadline,
) -> (Result<RenderedPage, String>, u64, bool) {
    let budget = limits.memory_budget_bytes;
    let limit = limits.time_per_page;
    let mut decoded = 0;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let page = &pdf.pages()[index];
        let fit = fit(page, scale, limits)?;
        let base = fit.pixels().saturating_mul(BYTES_PER_PIXEL);
        if base > budget {
            return Err(Stop::Memory(base, budget).note());
        }
        // Drawing a page takes a few times as long as measuring it, and hayro's drawing is
        // only watched where it reads an object: measuring may take a quarter of the limit,
        // so a page that would draw past the limit is stopped before drawing starts.
        let measuring = limit / 4;
        let started = Instant::now();
        deadline.arm(measuring, limit);
        let streams = measure::streams(page, base, budget, deadline);
        decoded = streams.decoded;
        // The path operators' own cost was a bound on the longest path; drawing counts each
        // segment drawn instead.
        let first = base
            .saturating_add(streams.decoded)
            .saturating_add(streams.largest_image);
        let spent = started.elapsed();
        // Waiting for memory is not the page's time.
        let rearm =
            |within: Duration, spent: Duration| deadline.arm(within.saturating_sub(spent), limit);
        deadline.disarm();
        let held = Reservation::take(first, budget);
        rearm(measuring, spent);
        let resumed = Instant::now();
        let transform =
            Affine::scale(f64::from(fit.scale)) * page.initial_transform(true).to_kurbo();
        let need = measure::probe(
            page,
            transform,
            (fit.width, fit.height),
            first,
            budget,
            deadline,
        );
        let spent = spent + resumed.elapsed();
        deadline.disarm();
        drop(held);
        let _held = Reservation::take(need, budget);
        rearm(limit, spent);
        let pixmap = render(
            page,
            cache,
            &InterpreterSettings::default(),
            &RenderSettings::default(),
            &PixmapSettings {
                x_scale: fit.scale,
                y_scale: fit.scale,
                bg_color: WHITE,
            },
        );
        deadline.disarm();
        let (width, height) = (u32::from(pixmap.width()), u32::from(pixmap.height()));
        pixmap
            .into_png()
            .map(|png| RenderedPage { width, height, png })
            .map_err(|e| format!("not rendered: cannot encode PNG: {e:?}"))
    }));
    deadline.disarm();
    match outcome {
        Ok(page) => (page, decoded, false),
        Err(payload) => {
            let note = match payload.downcast::<Stop>() {
                Ok(stop) => stop.note(),
                Err(payload) => {
                    let what = payload
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    let what: String = what.chars().take(160).collect();
                    format!("not rendered: the rasteriser failed on this page ({what})")
                }
            };
            (Err(note), decoded, true)
        }
    }
}
