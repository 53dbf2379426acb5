//! Colour bars: the key from heatmap colours back to map values.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::canvas::Canvas;
use crate::error::Result;
use crate::map_style::MapStyle;
use crate::text::{self, Anchor};
use crate::theme::{AXIS, LABEL_PX, TEXT, TICK_PX};
use crate::ticks::{format_ticks, nice_ticks};

/// Width of the coloured strip.
pub(crate) const STRIP: u32 = 22;
/// Length of a tick mark.
const TICK: i32 = 6;
/// Gap between a tick mark and its label, and between labels and the caption.
const GAP: i32 = 6;

/// A vertical colour bar for raw values `range` under `style`, with an optional caption
/// naming the values (e.g. "score drop").
pub(crate) struct VerticalBar<'a> {
    pub style: MapStyle,
    pub range: (f32, f32),
    pub caption: Option<&'a str>,
}

impl VerticalBar<'_> {
    fn ticks(&self) -> (Vec<f64>, Vec<String>) {
        let (lo, hi) = (self.range.0 as f64, self.range.1 as f64);
        let ticks = nice_ticks(lo, hi, 6);
        let labels = format_ticks(&ticks);
        (ticks, labels)
    }

    /// Total width the bar needs: strip, ticks, labels and caption.
    pub(crate) fn width(&self) -> u32 {
        let (_, labels) = self.ticks();
        let label_w = labels
            .iter()
            .map(|l| text::text_size(l, &text::font(TICK_PX)).0)
            .max()
            .unwrap_or(0);
        let caption_w = if self.caption.is_some() {
            LABEL_PX as u32 + GAP as u32 * 2
        } else {
            0
        };
        STRIP + (TICK + GAP) as u32 + label_w + caption_w
    }

    /// Draws the bar with its strip's top-left corner at `(x, y)` and strip height `height`.
    pub(crate) fn draw(
        &self,
        root: &DrawingArea<Canvas, Shift>,
        (x, y): (i32, i32),
        height: u32,
    ) -> Result<()> {
        let h = height.max(2) as i32;
        let (lo, hi) = self.range;
        for row in 0..h {
            // Top row is the high end.
            let t = 1.0 - row as f32 / (h - 1) as f32;
            let [r, g, b] = self.style.colour(lo + t * (hi - lo), self.range);
            root.draw(&Rectangle::new(
                [(x, y + row), (x + STRIP as i32, y + row + 1)],
                RGBColor(r, g, b).filled(),
            ))?;
        }
        root.draw(&Rectangle::new(
            [(x, y), (x + STRIP as i32, y + h)],
            AXIS.stroke_width(1),
        ))?;
        let (ticks, labels) = self.ticks();
        let span = (hi - lo) as f64;
        let right = x + STRIP as i32;
        let mut label_w = 0;
        for (v, label) in ticks.iter().zip(&labels) {
            let ty = y + ((1.0 - (v - lo as f64) / span) * (h - 1) as f64).round() as i32;
            root.draw(&PathElement::new(
                vec![(right, ty), (right + TICK, ty)],
                AXIS.stroke_width(1),
            ))?;
            text::draw(
                root,
                label,
                text::font(TICK_PX),
                TEXT,
                (right + TICK + GAP, ty),
                Anchor::CentreLeft,
            )?;
            label_w = label_w.max(text::text_size(label, &text::font(TICK_PX)).0 as i32);
        }
        if let Some(caption) = self.caption {
            let (caption, size) = text::fit(caption, LABEL_PX, height, text::font);
            let cx = right + TICK + GAP + label_w + GAP * 2 + size as i32 / 2;
            text::draw_vertical(
                root,
                &caption,
                text::font(size),
                TEXT,
                (cx, y + h / 2),
                true,
            )?;
        }
        Ok(())
    }
}

/// A small horizontal key for figures where each map is scaled on its own (the comparison
/// grid): a strip with words at its ends ("low"/"high", or "−max"/"0"/"+max" for signed
/// maps) instead of numbers, since the numbers differ per map.
pub(crate) fn draw_relative_key(
    root: &DrawingArea<Canvas, Shift>,
    style: MapStyle,
    (x, y): (i32, i32),
    width: u32,
    label: &str,
) -> Result<()> {
    let strip_h = 14;
    let w = width.max(2) as i32;
    for col in 0..w {
        let t = col as f32 / (w - 1) as f32;
        let [r, g, b] = style.colormap.rgb(t);
        root.draw(&Rectangle::new(
            [(x + col, y), (x + col + 1, y + strip_h)],
            RGBColor(r, g, b).filled(),
        ))?;
    }
    root.draw(&Rectangle::new(
        [(x, y), (x + w, y + strip_h)],
        AXIS.stroke_width(1),
    ))?;
    let ends: &[(f32, &str)] = match style.scale {
        crate::map_style::MapScale::MinMax => &[(0.0, "low"), (1.0, "high")],
        crate::map_style::MapScale::SymmetricAboutZero => {
            &[(0.0, "−max"), (0.5, "0"), (1.0, "+max")]
        }
    };
    for (t, word) in ends {
        let tx = x + (t * (w - 1) as f32).round() as i32;
        text::draw(
            root,
            word,
            text::font(TICK_PX),
            TEXT,
            (tx, y + strip_h + 4),
            Anchor::TopCentre,
        )?;
    }
    text::draw(
        root,
        label,
        text::font(TICK_PX),
        TEXT,
        (x - 10, y + strip_h / 2),
        Anchor::CentreRight,
    )?;
    Ok(())
}
