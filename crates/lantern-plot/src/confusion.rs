//! Confusion matrices: true class × predicted class, each cell coloured by the fraction of its
//! true class and labelled with the count.

use image::RgbImage;
use ndarray::Array2;
use plotters::prelude::*;

use crate::chart::{self, AxisPlan, Frame, Margins};
use crate::colour_bar::VerticalBar;
use crate::colour_map::Colormap;
use crate::error::{PlotError, Result};
use crate::figure::{Figure, paint};
use crate::font::ensure_font;
use crate::map_style::MapStyle;
use crate::text::{self, Anchor};
use crate::theme::{MARGIN, TICK_PX};

/// A confusion matrix figure.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfusionMatrix {
    /// Main title.
    pub title: String,
    /// Smaller line under the title (e.g. "accuracy 0.91 · 1821 images").
    pub subtitle: Option<String>,
    /// Class names, in the order of the matrix rows and columns.
    pub classes: Vec<String>,
    /// `counts[(t, p)]`: images of true class `t` predicted as `p`.
    pub counts: Array2<u64>,
    /// Colours for row fractions (0 = none of the true class, 1 = all of it).
    pub colormap: Colormap,
    /// Cell side in pixels; chosen from the class count when `None`.
    pub cell_px: Option<u32>,
}

impl ConfusionMatrix {
    /// A matrix with viridis colours and automatic cell size.
    pub fn new(title: impl Into<String>, classes: Vec<String>, counts: Array2<u64>) -> Self {
        Self {
            title: title.into(),
            subtitle: None,
            classes,
            counts,
            colormap: Colormap::Viridis,
            cell_px: None,
        }
    }

    /// Adds a subtitle.
    pub fn subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    fn cell(&self) -> u32 {
        let n = self.classes.len().max(1) as u32;
        self.cell_px.unwrap_or((640 / n).clamp(16, 110))
    }

    /// Fraction of row `t` that is in column `p` (0 for an empty row).
    fn row_fraction(&self, t: usize, p: usize) -> f32 {
        let total: u64 = self.counts.row(t).sum();
        if total == 0 {
            0.0
        } else {
            self.counts[(t, p)] as f32 / total as f32
        }
    }
}

impl Figure for ConfusionMatrix {
    fn render(&self) -> Result<RgbImage> {
        ensure_font()?;
        let n = self.classes.len();
        if n == 0 || self.counts.dim() != (n, n) {
            return Err(PlotError::InvalidInput(format!(
                "confusion matrix is {:?} for {n} class names",
                self.counts.dim()
            )));
        }
        let cell = self.cell();
        let x = AxisPlan::categories(&self.classes);
        // Row 0 at the top: the y axis lists classes bottom-up.
        let reversed: Vec<String> = self.classes.iter().rev().cloned().collect();
        let y = AxisPlan::categories(&reversed);
        let style = MapStyle::unsigned(self.colormap);
        let bar = VerticalBar {
            style,
            range: (0.0, 1.0),
            caption: Some("fraction of true class"),
        };
        let frame = Frame {
            title: &self.title,
            subtitle: self.subtitle.as_deref(),
            x_desc: "predicted class",
            y_desc: "true class",
            x: &x,
            y: &y,
            vertical_grid: false,
            horizontal_grid: false,
            right_space: bar.width() + 24,
        };
        let side = cell * n as u32;
        let m = Margins::for_plot_width(&frame, side);
        // Wide enough for the title too.
        let title_w = text::text_size(&self.title, &text::bold(crate::theme::TITLE_PX)).0;
        let width = (m.left + side + m.right).max(title_w + 2 * MARGIN);
        let height = m.top + side + m.bottom;
        paint((width, height), |root| {
            let mut chart = chart::build(root, &frame)?;
            chart.draw_series(
                (0..n)
                    .flat_map(|t| (0..n).map(move |p| (t, p)))
                    .map(|(t, p)| {
                        let [r, g, b] = self.colormap.rgb(self.row_fraction(t, p));
                        let (cx, cy) = (p as f64, (n - 1 - t) as f64);
                        Rectangle::new(
                            [(cx - 0.5, cy - 0.5), (cx + 0.5, cy + 0.5)],
                            RGBColor(r, g, b).filled(),
                        )
                    }),
            )?;
            let font_px = (cell as f64 * 0.36).min(TICK_PX);
            if font_px >= 10.0 {
                for t in 0..n {
                    for p in 0..n {
                        let count = self.counts[(t, p)].to_string();
                        if text::text_size(&count, &text::font(font_px)).0 + 4 > cell {
                            continue;
                        }
                        let fill = self.colormap.rgb(self.row_fraction(t, p));
                        let ink = if luminance(fill) < 140.0 {
                            RGBColor(255, 255, 255)
                        } else {
                            RGBColor(0, 0, 0)
                        };
                        let (px, py) = chart.backend_coord(&(p as f64, (n - 1 - t) as f64));
                        // The rasteriser sets text slightly high; nudge it to the visual centre.
                        text::draw(
                            root,
                            &count,
                            text::font(font_px),
                            ink,
                            (px, py + 2),
                            Anchor::Centre,
                        )?;
                    }
                }
            }
            let (xs, ys) = chart.plotting_area().get_pixel_range();
            bar.draw(root, (xs.end + 24, ys.start), (ys.end - ys.start) as u32)
        })
    }
}

/// Perceived brightness (0–255) of a colour, to pick black or white text on it.
fn luminance([r, g, b]: [u8; 3]) -> f32 {
    0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32
}
