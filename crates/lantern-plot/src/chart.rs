//! The frame shared by all x–y plots (curves, sweeps, scatter, bars, confusion matrix):
//! heading, axes with ticks chosen by [`crate::ticks`], axis titles, grid and legend.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;

use crate::canvas::Canvas;
use crate::error::{PlotError, Result};
use crate::series::Look;
use crate::text::{self, Anchor};
use crate::theme::{AXIS, GRID, LABEL_PX, MARGIN, TEXT, TICK_PX, WHITE};
use crate::ticks::{format_exact, format_ticks, log_tick_label, log_ticks, nice_ticks};

/// How values are placed along a numeric axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// Evenly spaced values.
    #[default]
    Linear,
    /// Evenly spaced powers of ten; non-positive values are left out of the plot.
    Log10,
}

/// A chart whose both axes are `f64` plot coordinates with fixed tick positions.
pub(crate) type Chart<'a, 'b> = ChartContext<'a, Canvas<'b>, Cartesian2d<FixedTicks, FixedTicks>>;

/// A linear `f64` coordinate whose grid lines and labels sit exactly at given ticks.
/// (plotters' own `WithKeyPoints` wrapper loses the `f64` label formatter, so the mesh
/// cannot be drawn with it.)
#[derive(Clone)]
pub(crate) struct FixedTicks {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ranged for FixedTicks {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let t = (v - self.lo) / (self.hi - self.lo);
        limit.0 + ((limit.1 - limit.0) as f64 * t).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // No light (minor) grid lines: only the ticks.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// An axis ready to draw: its range and ticks in plot coordinates (log10 of the value on a
/// log axis, the index on a categorical one) and the tick labels.
#[derive(Debug, Clone)]
pub(crate) struct AxisPlan {
    pub lo: f64,
    pub hi: f64,
    pub ticks: Vec<f64>,
    pub labels: Vec<String>,
    pub scale: Scale,
    pub categorical: bool,
}

/// Room left between the data and the frame, as a fraction of the data span.
const PAD: f64 = 0.04;

impl AxisPlan {
    /// A numeric axis covering `values` (or exactly `forced`), with automatic ticks.
    pub(crate) fn numeric(
        values: impl IntoIterator<Item = f64>,
        scale: Scale,
        forced: Option<(f64, f64)>,
    ) -> Result<Self> {
        let (lo, hi) = plot_range(values, scale, forced, PAD)?;
        let (ticks, labels) = match scale {
            Scale::Linear => {
                let ticks = nice_ticks(lo, hi, 6);
                let labels = format_ticks(&ticks);
                (ticks, labels)
            }
            Scale::Log10 => {
                let values = log_ticks(10f64.powf(lo), 10f64.powf(hi));
                let labels = values.iter().map(|v| log_tick_label(*v)).collect();
                (values.iter().map(|v| v.log10()).collect(), labels)
            }
        };
        Ok(Self {
            lo,
            hi,
            ticks,
            labels,
            scale,
            categorical: false,
        })
    }

    /// A numeric axis with one tick at each distinct value (a sweep's parameter values),
    /// falling back to automatic ticks when there are too many to label.
    pub(crate) fn at_values(
        values: &[f64],
        scale: Scale,
        forced: Option<(f64, f64)>,
    ) -> Result<Self> {
        let mut distinct: Vec<f64> = values
            .iter()
            .copied()
            .filter(|v| v.is_finite() && (scale == Scale::Linear || *v > 0.0))
            .collect();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        if distinct.len() < 2 || distinct.len() > 12 {
            return Self::numeric(values.iter().copied(), scale, forced);
        }
        let (lo, hi) = plot_range(distinct.iter().copied(), scale, forced, 0.06)?;
        let to_plot = |v: f64| match scale {
            Scale::Linear => v,
            Scale::Log10 => v.log10(),
        };
        Ok(Self {
            lo,
            hi,
            ticks: distinct.iter().map(|v| to_plot(*v)).collect(),
            labels: distinct.iter().map(|v| format_exact(*v)).collect(),
            scale,
            categorical: false,
        })
    }

    /// One slot per label, at positions 0, 1, 2, …
    pub(crate) fn categories(labels: &[String]) -> Self {
        let n = labels.len().max(1);
        Self {
            lo: -0.5,
            hi: n as f64 - 0.5,
            ticks: (0..labels.len()).map(|i| i as f64).collect(),
            labels: labels.to_vec(),
            scale: Scale::Linear,
            categorical: true,
        }
    }

    /// The plot coordinate of data value `v`, if it can be shown on this axis.
    pub(crate) fn to_plot(&self, v: f64) -> Option<f64> {
        match self.scale {
            _ if !v.is_finite() => None,
            Scale::Linear => Some(v),
            Scale::Log10 if v > 0.0 => Some(v.log10()),
            Scale::Log10 => None,
        }
    }

    fn coord(&self) -> FixedTicks {
        FixedTicks {
            lo: self.lo,
            hi: self.hi,
            ticks: self.ticks.clone(),
        }
    }

    /// The tick label at plot coordinate `v` (plotters asks by value, not by index).
    fn label_at(&self, v: f64) -> String {
        let tolerance = (self.hi - self.lo).abs() * 1e-9;
        self.ticks
            .iter()
            .position(|t| (t - v).abs() <= tolerance)
            .map(|i| self.labels[i].clone())
            .unwrap_or_default()
    }

    fn widest_label(&self) -> u32 {
        self.labels
            .iter()
            .map(|l| text::text_size(l, &text::font(TICK_PX)).0)
            .max()
            .unwrap_or(0)
    }
}

/// The padded plot-coordinate range of `values` (or `forced`, unpadded).
fn plot_range(
    values: impl IntoIterator<Item = f64>,
    scale: Scale,
    forced: Option<(f64, f64)>,
    pad: f64,
) -> Result<(f64, f64)> {
    let to_plot = |v: f64| match scale {
        Scale::Linear => v.is_finite().then_some(v),
        Scale::Log10 => (v.is_finite() && v > 0.0).then(|| v.log10()),
    };
    if let Some((lo, hi)) = forced {
        return match (to_plot(lo), to_plot(hi)) {
            (Some(lo), Some(hi)) if hi > lo => Ok((lo, hi)),
            _ => Err(PlotError::InvalidInput(format!(
                "axis range {lo}..{hi} is empty or not valid on a {scale:?} axis"
            ))),
        };
    }
    let range = values
        .into_iter()
        .filter_map(to_plot)
        .fold(None, |acc: Option<(f64, f64)>, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        });
    let (lo, hi) = match range {
        Some(r) => r,
        None if scale == Scale::Log10 => {
            return Err(PlotError::InvalidInput(
                "a log axis needs at least one positive value".to_string(),
            ));
        }
        None => (0.0, 1.0),
    };
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        let widen = (lo.abs() * 0.1).max(if scale == Scale::Log10 { 0.5 } else { 1.0 });
        (lo - widen, hi + widen)
    };
    let margin = (hi - lo) * pad;
    Ok((lo - margin, hi + margin))
}

/// Titles and axes of a chart.
pub(crate) struct Frame<'t> {
    pub title: &'t str,
    pub subtitle: Option<&'t str>,
    pub x_desc: &'t str,
    pub y_desc: &'t str,
    pub x: &'t AxisPlan,
    pub y: &'t AxisPlan,
    /// Vertical grid lines at the x ticks (off for bars and matrices).
    pub vertical_grid: bool,
    /// Horizontal grid lines at the y ticks.
    pub horizontal_grid: bool,
    /// Extra room kept free at the right (for a colour bar).
    pub right_space: u32,
}

impl<'t> Frame<'t> {
    /// A frame with both grids and no extra room at the right.
    pub fn new(
        title: &'t str,
        subtitle: Option<&'t str>,
        (x_desc, x): (&'t str, &'t AxisPlan),
        (y_desc, y): (&'t str, &'t AxisPlan),
    ) -> Frame<'t> {
        Frame {
            title,
            subtitle,
            x_desc,
            y_desc,
            x,
            y,
            vertical_grid: true,
            horizontal_grid: true,
            right_space: 0,
        }
    }

    /// Keeps room at the right for `legend` when it goes outside the plot.
    pub fn legend_outside(self, legend: &Legend, outside: bool) -> Frame<'t> {
        Frame {
            right_space: if outside {
                outside_legend_space(legend)
            } else {
                0
            },
            ..self
        }
    }
}

/// Gap between tick marks and tick labels.
const LABEL_GAP: u32 = 8;

/// The space around the plotting area, in pixels.
pub(crate) struct Margins {
    /// Heading and gap above the plot.
    pub top: u32,
    /// y tick labels and y axis title.
    pub left: u32,
    /// x tick labels and x axis title.
    pub bottom: u32,
    /// Free space right of the plot.
    pub right: u32,
    /// How the x tick labels are set.
    pub x_labels: XLabels,
}

/// How x tick labels are set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum XLabels {
    /// One line each, by plotters.
    Plain,
    /// Category names broken at a space onto two lines to fit their slots.
    Wrapped(Vec<Vec<String>>),
    /// Category names too wide even when wrapped, set vertically.
    Vertical,
}

impl XLabels {
    /// The layout for category `labels` in slots `slot` pixels wide.
    fn for_categories(labels: &[String], slot: f64) -> Self {
        let fits = |s: &str| text::text_size(s, &text::font(TICK_PX)).0 as f64 <= slot * 0.92;
        if labels.iter().all(|l| fits(l)) {
            return XLabels::Plain;
        }
        let wrapped: Option<Vec<Vec<String>>> = labels
            .iter()
            .map(|l| {
                if fits(l) {
                    return Some(vec![l.clone()]);
                }
                // The split at a space that makes the longer line shortest.
                l.match_indices(' ')
                    .map(|(i, _)| (l[..i].to_string(), l[i + 1..].to_string()))
                    .filter(|(a, b)| fits(a) && fits(b))
                    .min_by_key(|(a, b)| {
                        let w = |s: &str| text::text_size(s, &text::font(TICK_PX)).0;
                        w(a).max(w(b))
                    })
                    .map(|(a, b)| vec![a, b])
            })
            .collect();
        match wrapped {
            Some(lines) => XLabels::Wrapped(lines),
            None => XLabels::Vertical,
        }
    }
}

/// Height of one line of tick labels.
fn tick_line() -> u32 {
    (TICK_PX * 1.3) as u32
}

impl Margins {
    /// The margins for `frame` when the plotting area is `plot_w` pixels wide.
    pub(crate) fn for_plot_width(frame: &Frame, plot_w: u32) -> Self {
        let desc_h = (LABEL_PX * 1.5) as u32;
        let x_labels = if frame.x.categorical {
            let slot = plot_w as f64 / frame.x.labels.len().max(1) as f64;
            XLabels::for_categories(&frame.x.labels, slot)
        } else {
            XLabels::Plain
        };
        let bottom = match &x_labels {
            XLabels::Plain => tick_line() + LABEL_GAP + 6 + desc_h,
            XLabels::Wrapped(_) => 2 * tick_line() + LABEL_GAP + 6 + desc_h,
            XLabels::Vertical => frame.x.widest_label() + LABEL_GAP + 8 + desc_h,
        };
        Self {
            top: MARGIN + text::heading_height(frame.subtitle.is_some()) as u32 + 10,
            left: MARGIN + frame.y.widest_label() + LABEL_GAP + 6 + desc_h,
            bottom: bottom + MARGIN / 2,
            right: MARGIN + 12 + frame.right_space,
            x_labels,
        }
    }

    /// The margins for `frame` on a canvas `width` pixels wide.
    pub(crate) fn for_canvas_width(frame: &Frame, width: u32) -> Self {
        let m = Self::for_plot_width(frame, 1);
        let plot_w = width.saturating_sub(m.left + m.right).max(1);
        Self::for_plot_width(frame, plot_w)
    }
}

/// Draws the heading, axes, ticks, axis titles and grid; returns the chart to draw data on.
pub(crate) fn build<'a, 'b>(
    root: &'a DrawingArea<Canvas<'b>, Shift>,
    frame: &Frame,
) -> Result<Chart<'a, 'b>> {
    let (width, _) = root.dim_in_pixel();
    text::heading(root, width, frame.title, frame.subtitle)?;
    let m = Margins::for_canvas_width(frame, width);
    let manual_x_labels = m.x_labels != XLabels::Plain;
    let mut chart = ChartBuilder::on(root)
        .margin_top(m.top)
        .margin_left(MARGIN)
        .margin_right(m.right)
        .margin_bottom(MARGIN / 2)
        .x_label_area_size(m.bottom - MARGIN / 2)
        .y_label_area_size(m.left - MARGIN)
        .build_cartesian_2d(frame.x.coord(), frame.y.coord())?;
    let x_fmt = |v: &f64| {
        if manual_x_labels {
            String::new()
        } else {
            frame.x.label_at(*v)
        }
    };
    let y_fmt = |v: &f64| frame.y.label_at(*v);
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(frame.x.ticks.len())
        .y_labels(frame.y.ticks.len())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(text::font(TICK_PX).color(&TEXT))
        .axis_desc_style(text::font(LABEL_PX).color(&TEXT))
        .axis_style(AXIS.stroke_width(1))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(WHITE.mix(0.0))
        .set_all_tick_mark_size(5)
        .x_desc(frame.x_desc)
        .y_desc(frame.y_desc);
    if !frame.vertical_grid {
        mesh.disable_x_mesh();
    }
    if !frame.horizontal_grid {
        mesh.disable_y_mesh();
    }
    mesh.draw()?;

    let (xs, ys) = chart.plotting_area().get_pixel_range();
    root.draw(&Rectangle::new(
        [(xs.start, ys.start), (xs.end - 1, ys.end - 1)],
        AXIS.stroke_width(1),
    ))?;
    let label_top = ys.end + LABEL_GAP as i32;
    for (i, (t, label)) in frame.x.ticks.iter().zip(&frame.x.labels).enumerate() {
        let (px, _) = chart.backend_coord(&(*t, frame.y.lo));
        match &m.x_labels {
            XLabels::Plain => {}
            XLabels::Wrapped(lines) => {
                for (k, line) in lines[i].iter().enumerate() {
                    text::draw(
                        root,
                        line,
                        text::font(TICK_PX),
                        TEXT,
                        (px, label_top + k as i32 * tick_line() as i32),
                        Anchor::TopCentre,
                    )?;
                }
            }
            XLabels::Vertical => {
                text::draw_vertical(
                    root,
                    label,
                    text::font(TICK_PX),
                    TEXT,
                    (px, label_top),
                    false,
                )?;
            }
        }
    }
    Ok(chart)
}

/// A legend: one sample and label per series.
pub(crate) struct Legend {
    pub entries: Vec<(Look, String)>,
    /// Whether samples show the series' marker.
    pub markers: bool,
    /// Whether samples show the series' line (off for scatter plots).
    pub lines: bool,
}

/// Inner padding of the legend box.
const LEGEND_PAD: i32 = 10;
/// Length of a legend sample line.
const LEGEND_SAMPLE: i32 = 30;

impl Legend {
    fn row_height() -> i32 {
        TICK_PX as i32 + 9
    }

    /// Size of the legend box in pixels.
    pub(crate) fn size(&self) -> (u32, u32) {
        let text_w = self
            .entries
            .iter()
            .map(|(_, l)| text::text_size(l, &text::font(TICK_PX)).0 as i32)
            .max()
            .unwrap_or(0);
        let w = LEGEND_PAD * 2 + LEGEND_SAMPLE + 8 + text_w;
        let h = LEGEND_PAD * 2 + Self::row_height() * self.entries.len() as i32 - 6;
        (w as u32, h as u32)
    }

    /// Draws the box with its top-left corner at `(x, y)`.
    pub(crate) fn draw(&self, root: &DrawingArea<Canvas, Shift>, (x, y): (i32, i32)) -> Result<()> {
        let (w, h) = self.size();
        root.draw(&Rectangle::new(
            [(x, y), (x + w as i32, y + h as i32)],
            WHITE.mix(0.92).filled(),
        ))?;
        root.draw(&Rectangle::new(
            [(x, y), (x + w as i32, y + h as i32)],
            AXIS.stroke_width(1),
        ))?;
        for (i, (look, label)) in self.entries.iter().enumerate() {
            // A few pixels below the nominal centre: the rasteriser sets text a little high.
            let cy = y + LEGEND_PAD + (TICK_PX as i32) / 2 + 4 + i as i32 * Self::row_height();
            let sample_at = (x + LEGEND_PAD, cy);
            if self.lines {
                look.draw_sample(root, sample_at, LEGEND_SAMPLE, self.markers)?;
            } else {
                look.draw_marker(root, (sample_at.0 + LEGEND_SAMPLE / 2, cy))?;
            }
            text::draw(
                root,
                label,
                text::font(TICK_PX),
                TEXT,
                (x + LEGEND_PAD + LEGEND_SAMPLE + 8, cy),
                Anchor::CentreLeft,
            )?;
        }
        Ok(())
    }

    /// The top-left corner, inside the plot, where the legend covers none of `points` (plot
    /// coordinates; pass line samples from [`densify`]); `None` when every corner would hide
    /// data, in which case the legend belongs outside the plot.
    pub(crate) fn inside_position(
        &self,
        chart: &Chart,
        points: &[(f64, f64)],
    ) -> Option<(i32, i32)> {
        let (xs, ys) = chart.plotting_area().get_pixel_range();
        let (w, h) = self.size();
        let (w, h) = (w as i32, h as i32);
        let gap = 10;
        let corners = [
            (xs.end - gap - w, ys.start + gap),
            (xs.start + gap, ys.start + gap),
            (xs.end - gap - w, ys.end - gap - h),
            (xs.start + gap, ys.end - gap - h),
        ];
        let pixels: Vec<(i32, i32)> = points.iter().map(|p| chart.backend_coord(p)).collect();
        // A little clearance around the box, so lines do not graze it.
        let clear = 6;
        corners.into_iter().find(|(x0, y0)| {
            !pixels.iter().any(|(x, y)| {
                *x >= x0 - clear && *x <= x0 + w + clear && *y >= y0 - clear && *y <= y0 + h + clear
            })
        })
    }

    /// Draws the legend (if it has entries) right of the plot with `outside`, else in a
    /// corner of the plot that hides none of `occupied` (see [`Legend::inside_position`]).
    /// Whether it fitted: `false` when it was meant to go inside and every corner hides data.
    pub(crate) fn place(
        &self,
        root: &DrawingArea<Canvas, Shift>,
        chart: &Chart,
        outside: bool,
        occupied: &[(f64, f64)],
    ) -> Result<bool> {
        if self.entries.is_empty() {
            return Ok(true);
        }
        let at = if outside {
            outside_legend_position(chart)
        } else {
            match self.inside_position(chart, occupied) {
                Some(at) => at,
                None => return Ok(false),
            }
        };
        self.draw(root, at)?;
        Ok(true)
    }
}

/// Room to keep at the right of a chart for an outside legend.
pub(crate) fn outside_legend_space(legend: &Legend) -> u32 {
    legend.size().0 + 16
}

/// Where an outside legend goes: right of the plot, level with its top.
pub(crate) fn outside_legend_position(chart: &Chart) -> (i32, i32) {
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    (xs.end + 16, ys.start)
}

/// Samples along the segments between consecutive points, so that legend placement sees
/// lines, not just their vertices.
pub(crate) fn densify(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 8);
    for w in points.windows(2) {
        for k in 0..8 {
            let t = k as f64 / 8.0;
            out.push((
                w[0].0 + (w[1].0 - w[0].0) * t,
                w[0].1 + (w[1].1 - w[0].1) * t,
            ));
        }
    }
    out.extend(points.last().copied());
    out
}

/// Draws with the legend inside the plot area; when it cannot fit without covering data
/// (`draw(false)` returns `None`), draws again with the legend outside.
pub(crate) fn with_legend_fallback(
    draw: impl Fn(bool) -> crate::error::Result<Option<image::RgbImage>>,
) -> crate::error::Result<image::RgbImage> {
    match draw(false)? {
        Some(image) => Ok(image),
        None => draw(true)?
            .ok_or_else(|| crate::error::PlotError::Drawing("legend placement failed".to_string())),
    }
}
