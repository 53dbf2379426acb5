//! Line plots: deletion/insertion curves, randomisation sanity checks, and any other
//! "one line per method" plot.

use image::RgbImage;

use crate::chart::{self, AxisPlan, Frame, Legend, Scale};
use crate::error::{PlotError, Result};
use crate::figure::{Figure, paint};
use crate::font::ensure_font;
use crate::series::{Look, Series, drawable_runs};
use crate::theme::PLOT_SIZE;
use plotters::prelude::*;

/// What the x axis shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum XAxis {
    /// Numbers, evenly spaced.
    #[default]
    Linear,
    /// Numbers, powers of ten evenly spaced.
    Log10,
    /// Named steps (e.g. layers randomised so far); the i-th point of a series sits at the
    /// i-th name, see [`Series::over_categories`].
    Categories(Vec<String>),
}

/// A plot of one or more labelled lines with a legend.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlot {
    /// Main title.
    pub title: String,
    /// Smaller line under the title.
    pub subtitle: Option<String>,
    /// x axis title.
    pub x_label: String,
    /// y axis title.
    pub y_label: String,
    /// How x values are placed.
    pub x_axis: XAxis,
    /// How y values are placed.
    pub y_scale: Scale,
    /// Exact x range (numeric axes); automatic with a little padding when `None`.
    pub x_range: Option<(f64, f64)>,
    /// Exact y range; automatic with a little padding when `None`.
    pub y_range: Option<(f64, f64)>,
    /// The lines, drawn in order with palette colours.
    pub series: Vec<Series>,
    /// Draws a marker at every point (for few points; off for dense curves).
    pub markers: bool,
    /// Puts the x ticks at the data's x values (sweeps) instead of round numbers.
    pub ticks_at_x_values: bool,
    /// Image size in pixels.
    pub size: (u32, u32),
}

impl LinePlot {
    /// An empty plot with linear axes and automatic ranges.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            subtitle: None,
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_axis: XAxis::Linear,
            y_scale: Scale::Linear,
            x_range: None,
            y_range: None,
            series: Vec::new(),
            markers: false,
            ticks_at_x_values: false,
            size: PLOT_SIZE,
        }
    }

    /// Deletion/insertion curves: x is the fraction of pixels deleted or inserted (0..1),
    /// y the class score. Add one [`Series`] per curve, with its AUC.
    pub fn deletion_insertion(title: impl Into<String>) -> Self {
        let mut plot = Self::new(
            title,
            "fraction of pixels deleted / inserted",
            "class score",
        );
        plot.x_range = Some((0.0, 1.0));
        plot
    }

    /// A randomisation sanity check: x names the layers randomised so far (cascading from
    /// the top), y the similarity between original and randomised maps; one series per method.
    pub fn randomisation(
        title: impl Into<String>,
        layers: Vec<String>,
        y_label: impl Into<String>,
    ) -> Self {
        let mut plot = Self::new(
            title,
            "layers randomised (cumulative, from the output)",
            y_label,
        );
        plot.x_axis = XAxis::Categories(layers);
        plot.markers = true;
        plot
    }

    /// Adds a subtitle.
    pub fn subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// Adds a series.
    pub fn series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    fn x_plan(&self) -> Result<AxisPlan> {
        let xs = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0));
        match &self.x_axis {
            XAxis::Categories(names) => {
                if names.is_empty() {
                    return Err(PlotError::InvalidInput(
                        "the x axis has no categories".to_string(),
                    ));
                }
                Ok(AxisPlan::categories(names))
            }
            axis => {
                let scale = if *axis == XAxis::Log10 {
                    Scale::Log10
                } else {
                    Scale::Linear
                };
                if self.ticks_at_x_values {
                    AxisPlan::at_values(&xs.collect::<Vec<_>>(), scale, self.x_range)
                } else {
                    AxisPlan::numeric(xs, scale, self.x_range)
                }
            }
        }
    }
}

impl LinePlot {
    /// Draws the plot; with `legend_outside`, room is kept right of the plot for the legend.
    /// Returns `None` when the legend was meant to go inside but every corner hides data.
    fn draw(&self, legend_outside: bool) -> Result<Option<RgbImage>> {
        let x = self.x_plan()?;
        let y = AxisPlan::numeric(
            self.series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1)),
            self.y_scale,
            self.y_range,
        )?;
        let legend = Legend {
            entries: self
                .series
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.label.is_empty())
                .map(|(i, s)| (Look::of(i), s.legend_label()))
                .collect(),
            markers: self.markers,
            lines: true,
        };
        let mut fitted = true;
        let image = paint(self.size, |root| {
            let mut chart = chart::build(
                root,
                &Frame::new(
                    &self.title,
                    self.subtitle.as_deref(),
                    (&self.x_label, &x),
                    (&self.y_label, &y),
                )
                .legend_outside(&legend, legend_outside),
            )?;
            let mut drawn = Vec::new();
            for (i, series) in self.series.iter().enumerate() {
                let look = Look::of(i);
                let runs = drawable_runs(&series.points, |(px, py)| {
                    Some((x.to_plot(px)?, y.to_plot(py)?))
                });
                for run in &runs {
                    chart.draw_series(LineSeries::new(run.clone(), look.line()))?;
                    if self.markers {
                        look.draw_markers(root, &chart, run)?;
                    }
                    drawn.extend(chart::densify(run));
                }
            }
            fitted = legend.place(root, &chart, legend_outside, &drawn)?;
            Ok(())
        })?;
        Ok(fitted.then_some(image))
    }
}

impl Figure for LinePlot {
    fn render(&self) -> Result<RgbImage> {
        ensure_font()?;
        chart::with_legend_fallback(|outside| self.draw(outside))
    }
}
