//! Pages of the PDF rendered to PNG by `hayro` (pure Rust: no system PDF library, nothing
//! downloaded), one at a time per core, handed over in page order as they are done, so that
//! memory holds a few pages whatever the document's length.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};

use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::Pdf;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings, render};

/// A page rendered to a PNG image.
#[derive(Debug, Clone)]
pub struct RenderedPage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The PNG file's bytes.
    pub png: Vec<u8>,
}

fn open(pdf: Arc<Vec<u8>>) -> Result<Pdf, String> {
    Pdf::new(pdf).map_err(|e| match e {
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
/// `sink` in page order. At most `2 × threads` rendered pages wait at any time. A page that
/// fails to render is given as an error; `sink` failing stops the rendering.
pub fn render_pages<E>(
    pdf: &[u8],
    scale: f32,
    threads: usize,
    mut sink: impl FnMut(usize, Result<RenderedPage, String>) -> Result<(), E>,
) -> Result<Result<(), E>, String> {
    let data = Arc::new(pdf.to_vec());
    let count = open(Arc::clone(&data))?.pages().len();
    let threads = threads.clamp(1, count.max(1));
    let window = 2 * threads;
    // (next page to take, pages handed to the sink, stop)
    let progress = Arc::new((Mutex::new((0usize, 0usize, false)), Condvar::new()));
    let (send, receive) = mpsc::channel::<(usize, Result<RenderedPage, String>)>();
    let result = std::thread::scope(|scope| {
        for _ in 0..threads {
            let (data, progress, send) = (Arc::clone(&data), Arc::clone(&progress), send.clone());
            scope.spawn(move || {
                let Ok(pdf) = open(data) else { return };
                let cache = RenderCache::new();
                let settings = InterpreterSettings::default();
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
                    let page = &pdf.pages()[index];
                    let pixmap = render(
                        page,
                        &cache,
                        &settings,
                        &RenderSettings::default(),
                        &PixmapSettings {
                            x_scale: scale,
                            y_scale: scale,
                            bg_color: WHITE,
                        },
                    );
                    let (width, height) = (u32::from(pixmap.width()), u32::from(pixmap.height()));
                    let rendered = pixmap
                        .into_png()
                        .map(|png| RenderedPage { width, height, png })
                        .map_err(|e| format!("page {}: cannot encode PNG: {e:?}", index + 1));
                    if send.send((index, rendered)).is_err() {
                        return;
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
