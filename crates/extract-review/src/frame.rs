//! The one transform from the output's boxes to page pixels, shared by the drawn boxes and the
//! rendered page image, so that the two can never disagree.
//!
//! Extract gives boxes as fractions of the page, origin top-left (`x`, `y`, `width`,
//! `height`). A page is drawn at `scale` CSS pixels per PDF point; its image is rendered at
//! exactly that size, and the SVG over it uses the same pixel space.

/// A page as drawn: its size in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct PageFrame {
    /// Width in pixels.
    pub width: f64,
    /// Height in pixels.
    pub height: f64,
}

/// A rectangle in page pixels, origin top-left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PixelRect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

/// US Letter, in points: the page size assumed when neither the PDF nor the output gives one.
pub const LETTER: (f64, f64) = (612.0, 792.0);

impl PageFrame {
    /// A page of `width` × `height` PDF points drawn at `scale` pixels per point. Sizes that are
    /// not positive numbers fall back to US Letter; pages are at most 20,000 pixels a side.
    pub fn from_points(width: f64, height: f64, scale: f64) -> PageFrame {
        let valid = |v: f64| v.is_finite() && v > 0.0;
        let (width, height) = if valid(width) && valid(height) {
            (width, height)
        } else {
            LETTER
        };
        let scale = if valid(scale) { scale } else { 1.0 };
        PageFrame {
            width: (width * scale).clamp(1.0, 20_000.0),
            height: (height * scale).clamp(1.0, 20_000.0),
        }
    }

    /// Where a box `[x, y, width, height]` (fractions of the page, origin top-left) lies on
    /// this page, cut to the page.
    pub fn rect(&self, bbox: [f64; 4]) -> PixelRect {
        let unit = |v: f64| {
            if v.is_finite() {
                v.clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        let (x, y) = (unit(bbox[0]), unit(bbox[1]));
        let (w, h) = (unit(bbox[2]).min(1.0 - x), unit(bbox[3]).min(1.0 - y));
        PixelRect {
            x: x * self.width,
            y: y * self.height,
            width: w * self.width,
            height: h * self.height,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_known_box_on_a_known_page_lands_on_known_pixels() {
        // A4 at 1.5 pixels per point: 893 × 1263 pixels.
        let frame = PageFrame::from_points(595.276, 841.89, 1.5);
        let rect = frame.rect([0.1, 0.25, 0.5, 0.1]);
        assert!((rect.x - 89.29).abs() < 0.01, "{rect:?}");
        assert!((rect.y - 315.71).abs() < 0.01, "{rect:?}");
        assert!((rect.width - 446.46).abs() < 0.01, "{rect:?}");
        assert!((rect.height - 126.28).abs() < 0.01, "{rect:?}");
        assert_eq!(
            PageFrame::from_points(f64::NAN, 0.0, 1.0),
            PageFrame {
                width: 612.0,
                height: 792.0
            }
        );
    }

    proptest! {
        #[test]
        fn every_box_lands_within_its_page(
            x in proptest::num::f64::ANY, y in proptest::num::f64::ANY,
            w in proptest::num::f64::ANY, h in proptest::num::f64::ANY,
            pw in 1.0f64..5000.0, ph in 1.0f64..5000.0, scale in 0.1f64..4.0,
        ) {
            let frame = PageFrame::from_points(pw, ph, scale);
            let r = frame.rect([x, y, w, h]);
            for v in [r.x, r.y, r.width, r.height] {
                prop_assert!(v.is_finite() && v >= 0.0);
            }
            prop_assert!(r.x + r.width <= frame.width * (1.0 + 1e-12));
            prop_assert!(r.y + r.height <= frame.height * (1.0 + 1e-12));
        }
    }
}
