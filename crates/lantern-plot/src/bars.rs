//! Bar charts with error bars: one bar per method with its mean and confidence interval,
//! for ranking methods by a metric.

use image::RgbImage;
use plotters::prelude::*;

use crate::chart::{self, AxisPlan, Frame, Scale};
use crate::error::{PlotError, Result};
use crate::figure::{Figure, paint};
use crate::font::ensure_font;
use crate::text::{self, Anchor};
use crate::theme::{AXIS, MIN_TEXT_PX, PLOT_SIZE, TEXT, TICK_PX, series_colour};
use crate::ticks::format_values;

/// One bar: a value and, optionally, the interval around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Category name under the bar (e.g. the method).
    pub label: String,
    /// Bar height (e.g. the mean).
    pub value: f64,
    /// Error bar from low to high (e.g. a 95% confidence interval), absolute values.
    pub interval: Option<(f64, f64)>,
}

impl Bar {
    /// A bar without an error bar.
    pub fn new(label: impl Into<String>, value: f64) -> Self {
        Self {
            label: label.into(),
            value,
            interval: None,
        }
    }

    /// A bar at `mean` with an error bar of `mean ± half_width`.
    pub fn mean_ci(label: impl Into<String>, mean: f64, half_width: f64) -> Self {
        Self::new(label, mean).with_interval(mean - half_width, mean + half_width)
    }

    /// Sets the error bar to `low..=high`.
    pub fn with_interval(mut self, low: f64, high: f64) -> Self {
        self.interval = Some((low.min(high), low.max(high)));
        self
    }
}

/// The order bars are drawn in, left to right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BarOrder {
    /// As given.
    #[default]
    AsGiven,
    /// Largest value first (higher is better).
    Descending,
    /// Smallest value first (lower is better, e.g. deletion AUC).
    Ascending,
}

/// A bar chart with error bars.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Main title.
    pub title: String,
    /// Smaller line under the title (e.g. "mean ± 95% CI over 500 images").
    pub subtitle: Option<String>,
    /// x axis title (often empty: the bar labels say it).
    pub x_label: String,
    /// y axis title (the metric).
    pub y_label: String,
    /// The bars.
    pub bars: Vec<Bar>,
    /// Left-to-right order.
    pub order: BarOrder,
    /// Writes each bar's value above it.
    pub show_values: bool,
    /// Exact y range; automatic (including 0) when `None`.
    pub y_range: Option<(f64, f64)>,
    /// Image size in pixels.
    pub size: (u32, u32),
}

impl BarChart {
    /// A chart of `bars` with values shown, in the given order.
    pub fn new(title: impl Into<String>, y_label: impl Into<String>, bars: Vec<Bar>) -> Self {
        Self {
            title: title.into(),
            subtitle: None,
            x_label: String::new(),
            y_label: y_label.into(),
            bars,
            order: BarOrder::AsGiven,
            show_values: true,
            y_range: None,
            size: PLOT_SIZE,
        }
    }

    /// Adds a subtitle.
    pub fn subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// Sets the order.
    pub fn order(mut self, order: BarOrder) -> Self {
        self.order = order;
        self
    }

    fn ordered(&self) -> Vec<&Bar> {
        let mut bars: Vec<&Bar> = self.bars.iter().collect();
        match self.order {
            BarOrder::AsGiven => {}
            BarOrder::Descending => bars.sort_by(|a, b| b.value.total_cmp(&a.value)),
            BarOrder::Ascending => bars.sort_by(|a, b| a.value.total_cmp(&b.value)),
        }
        bars
    }

    /// The y axis: covers 0, every value and interval, with headroom for value labels.
    fn y_plan(&self) -> Result<AxisPlan> {
        if self.y_range.is_some() {
            return AxisPlan::numeric(std::iter::empty(), Scale::Linear, self.y_range);
        }
        let values: Vec<f64> = self
            .bars
            .iter()
            .flat_map(|b| {
                let (lo, hi) = b.interval.unwrap_or((b.value, b.value));
                [b.value, lo, hi]
            })
            .filter(|v| v.is_finite())
            .chain([0.0])
            .collect();
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let span = if hi > lo { hi - lo } else { 1.0 };
        // Bars grow from 0, so a non-negative chart starts exactly at 0; the other end gets
        // room for the value labels.
        let head = if self.show_values { 0.12 } else { 0.05 };
        let lo = if lo >= 0.0 { 0.0 } else { lo - span * head };
        let hi = if hi <= 0.0 { 0.0 } else { hi + span * head };
        AxisPlan::numeric(std::iter::empty(), Scale::Linear, Some((lo, hi)))
    }
}

/// Half the width of a bar, in category slots.
const HALF_BAR: f64 = 0.32;
/// Half the width of an error bar's caps, in category slots.
const HALF_CAP: f64 = 0.1;

impl Figure for BarChart {
    fn render(&self) -> Result<RgbImage> {
        ensure_font()?;
        if self.bars.is_empty() {
            return Err(PlotError::InvalidInput(
                "a bar chart needs bars".to_string(),
            ));
        }
        let bars = self.ordered();
        let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
        let x = AxisPlan::categories(&labels);
        let y = self.y_plan()?;
        paint(self.size, |root| {
            let mut chart = chart::build(
                root,
                &Frame {
                    vertical_grid: false,
                    ..Frame::new(
                        &self.title,
                        self.subtitle.as_deref(),
                        (&self.x_label, &x),
                        (&self.y_label, &y),
                    )
                },
            )?;
            let colour = series_colour(0);
            chart.draw_series(
                bars.iter()
                    .enumerate()
                    .filter(|(_, b)| b.value.is_finite())
                    .map(|(i, b)| {
                        let i = i as f64;
                        Rectangle::new(
                            [(i - HALF_BAR, 0.0), (i + HALF_BAR, b.value)],
                            colour.filled(),
                        )
                    }),
            )?;
            if y.lo < 0.0 && y.hi > 0.0 {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(x.lo, 0.0), (x.hi, 0.0)],
                    AXIS.stroke_width(1),
                )))?;
            }
            let whisker = AXIS.stroke_width(2);
            for (i, b) in bars.iter().enumerate() {
                let i = i as f64;
                if let Some((lo, hi)) = b.interval {
                    chart.draw_series([
                        PathElement::new(vec![(i, lo), (i, hi)], whisker),
                        PathElement::new(vec![(i - HALF_CAP, lo), (i + HALF_CAP, lo)], whisker),
                        PathElement::new(vec![(i - HALF_CAP, hi), (i + HALF_CAP, hi)], whisker),
                    ])?;
                }
            }
            if self.show_values {
                let slot = {
                    let (a, _) = chart.backend_coord(&(0.0, 0.0));
                    let (b, _) = chart.backend_coord(&(1.0, 0.0));
                    (b - a).max(1) as u32
                };
                let texts = format_values(&bars.iter().map(|b| b.value).collect::<Vec<_>>());
                for (i, (b, label)) in bars.iter().zip(texts).enumerate() {
                    if !b.value.is_finite() {
                        continue;
                    }
                    let (label, size) = text::fit(&label, TICK_PX, slot, text::font);
                    if size < MIN_TEXT_PX + 1.0 && label.ends_with('…') {
                        continue;
                    }
                    // Above the bar (or its error bar) for positive values, below for negative.
                    let (top, bottom) = b.interval.map_or((b.value, b.value), |(lo, hi)| {
                        (hi.max(b.value), lo.min(b.value))
                    });
                    let (px, py, anchor) = if b.value >= 0.0 {
                        let (px, py) = chart.backend_coord(&(i as f64, top));
                        (px, py - 6, Anchor::BottomCentre)
                    } else {
                        let (px, py) = chart.backend_coord(&(i as f64, bottom));
                        (px, py + 8, Anchor::TopCentre)
                    };
                    text::draw(root, &label, text::font(size), TEXT, (px, py), anchor)?;
                }
            }
            Ok(())
        })
    }
}
