//! How much one rendered page may cost: pixels, memory and time.

use std::time::Duration;

/// Bounds on rendering the PDF's pages under their boxes (feature `pdf`).
///
/// A page that would exceed them is drawn without its image, its boxes on a blank sheet of
/// the page's size, with a short note saying why; a page bigger than
/// [`max_pixels_per_page`](Self::max_pixels_per_page) is drawn smaller instead, and says so.
/// Nothing a PDF contains makes rendering panic, abort or allocate past these bounds:
/// `docs/limits.md` lists what each one checks.
///
/// ```
/// use std::time::Duration;
/// use extract_review::{RenderLimits, ReviewOptions};
/// let limits = RenderLimits::default()
///     .with_memory_budget_bytes(128 << 20)
///     .with_time_per_page(Duration::from_secs(5));
/// let options = ReviewOptions::default().with_render_limits(limits);
/// assert_eq!(options.render_limits.max_pixels_per_page, 16 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenderLimits {
    /// Pixels of one page's image (16 Mi by default: a Letter page at 5 pixels per point). A
    /// bigger page is rendered at the scale that fits, and its review page says so.
    pub max_pixels_per_page: u64,
    /// Bytes the pages being rendered at once may use together, in this process (256 MiB by
    /// default). Each page's need is estimated before the rasteriser allocates (its pixels, its
    /// decoded streams, its drawing operations, its images); a page that needs more than the
    /// whole budget is not rendered, and render threads wait for each other beyond it.
    pub memory_budget_bytes: u64,
    /// Time to render one page (10 s by default). A page still being measured or drawn when it
    /// runs out is stopped and not rendered.
    pub time_per_page: Duration,
    /// Bytes of page images one review holds in all (64 MiB of PNG by default). The review is
    /// one file with its images inside, built in memory by a batch run's review: past this, the
    /// remaining pages are drawn without their image and say why, so a long noisy document
    /// cannot make the review outgrow memory.
    pub max_image_bytes: u64,
}

impl Default for RenderLimits {
    fn default() -> Self {
        RenderLimits {
            max_pixels_per_page: 16 << 20,
            memory_budget_bytes: 256 << 20,
            time_per_page: Duration::from_secs(10),
            max_image_bytes: 64 << 20,
        }
    }
}

impl RenderLimits {
    /// The default limits.
    pub fn new() -> Self {
        Self::default()
    }
    /// Pixels of one page's image (at least one).
    pub fn with_max_pixels_per_page(mut self, pixels: u64) -> Self {
        self.max_pixels_per_page = pixels.max(1);
        self
    }
    /// Bytes the pages rendered at once may use together.
    pub fn with_memory_budget_bytes(mut self, bytes: u64) -> Self {
        self.memory_budget_bytes = bytes;
        self
    }
    /// Time to render one page.
    pub fn with_time_per_page(mut self, time: Duration) -> Self {
        self.time_per_page = time;
        self
    }
    /// Bytes of page images one review holds in all.
    pub fn with_max_image_bytes(mut self, bytes: u64) -> Self {
        self.max_image_bytes = bytes;
        self
    }
}
