//! A named sequence of (x, y) points and how one is drawn: line colour, marker shape and
//! legend entry. Shared by line plots and sweep plots.

use plotters::coord::Shift;

use plotters::prelude::*;

use crate::canvas::Canvas;
use crate::chart::Chart;
use crate::error::Result;
use crate::theme::series_colour;

/// One line of a line or sweep plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Data points in x order. Non-finite points (and non-positive ones on a log axis) are
    /// left out, breaking the line there.
    pub points: Vec<(f64, f64)>,
    /// Area under the curve, shown in the legend as "label (AUC 0.412)".
    pub auc: Option<f64>,
}

impl Series {
    /// A series from `(x, y)` points.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            label: label.into(),
            points,
            auc: None,
        }
    }

    /// A series over categories: the i-th value belongs to the i-th category of the x axis.
    pub fn over_categories(label: impl Into<String>, values: &[f64]) -> Self {
        Self::new(
            label,
            values
                .iter()
                .enumerate()
                .map(|(i, v)| (i as f64, *v))
                .collect(),
        )
    }

    /// Shows `auc` in the legend (use the value the metrics computed, so figure and table
    /// agree).
    pub fn with_auc(mut self, auc: f64) -> Self {
        self.auc = Some(auc);
        self
    }

    /// Shows the trapezoidal area under the points in the legend.
    pub fn with_trapezoid_auc(self) -> Self {
        let auc = trapezoid_auc(&self.points);
        self.with_auc(auc)
    }

    /// The legend entry.
    pub(crate) fn legend_label(&self) -> String {
        match self.auc {
            Some(auc) => format!("{} (AUC {auc:.3})", self.label),
            None => self.label.clone(),
        }
    }
}

/// Area under a piecewise-linear curve through `points` (sorted by x; non-finite points are
/// skipped).
pub fn trapezoid_auc(points: &[(f64, f64)]) -> f64 {
    let finite: Vec<_> = points
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    finite
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum()
}

/// How the i-th series looks: its colour and marker shape. Colours cycle through the palette;
/// marker shapes change too so that series stay apart in greyscale prints.
#[derive(Clone, Copy)]
pub(crate) struct Look {
    pub colour: RGBColor,
    shape: usize,
}

impl Look {
    pub(crate) fn of(i: usize) -> Self {
        Self {
            colour: series_colour(i),
            shape: i % 4,
        }
    }

    pub(crate) fn line(&self) -> ShapeStyle {
        self.colour.stroke_width(3)
    }

    /// Draws a marker at each of `points` (plot coordinates) that lies inside the plot.
    pub(crate) fn draw_markers(
        &self,
        root: &DrawingArea<Canvas, Shift>,
        chart: &Chart,
        points: &[(f64, f64)],
    ) -> Result<()> {
        let (xs, ys) = chart.plotting_area().get_pixel_range();
        for p in points {
            let (x, y) = chart.backend_coord(p);
            if xs.contains(&x) && ys.contains(&y) {
                self.draw_marker(root, (x, y))?;
            }
        }
        Ok(())
    }

    /// Draws the marker shape centred on pixel `(x, y)`.
    pub(crate) fn draw_marker(
        &self,
        root: &DrawingArea<Canvas, Shift>,
        (x, y): (i32, i32),
    ) -> Result<()> {
        let fill = self.colour.filled();
        match self.shape {
            0 => root.draw(&Circle::new((x, y), 5, fill))?,
            1 => root.draw(&Polygon::new(
                vec![(x, y - 7), (x - 6, y + 4), (x + 6, y + 4)],
                fill,
            ))?,
            2 => root.draw(&Rectangle::new([(x - 5, y - 5), (x + 5, y + 5)], fill))?,
            _ => root.draw(&Cross::new((x, y), 5, self.colour.stroke_width(3)))?,
        }
        Ok(())
    }

    /// Draws this look's legend sample starting at pixel `(x, y)`: a line of `width` pixels,
    /// with the marker in its middle when the plot has markers.
    pub(crate) fn draw_sample(
        &self,
        root: &DrawingArea<Canvas, Shift>,
        (x, y): (i32, i32),
        width: i32,
        with_marker: bool,
    ) -> Result<()> {
        root.draw(&PathElement::new(vec![(x, y), (x + width, y)], self.line()))?;
        if with_marker {
            self.draw_marker(root, (x + width / 2, y))?;
        }
        Ok(())
    }
}

/// Splits points into runs that can all be drawn (both coordinates mapped), so a missing
/// value breaks the line instead of bridging the gap.
pub(crate) fn drawable_runs(
    points: &[(f64, f64)],
    to_plot: impl Fn((f64, f64)) -> Option<(f64, f64)>,
) -> Vec<Vec<(f64, f64)>> {
    let mut runs = vec![Vec::new()];
    for p in points {
        match to_plot(*p) {
            Some(q) => runs.last_mut().expect("never empty").push(q),
            None if !runs.last().expect("never empty").is_empty() => runs.push(Vec::new()),
            None => {}
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trapezoid_auc_of_a_line() {
        assert!((trapezoid_auc(&[(0.0, 1.0), (1.0, 0.0)]) - 0.5).abs() < 1e-12);
        assert!((trapezoid_auc(&[(0.0, 1.0), (0.5, 1.0), (1.0, 1.0)]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn runs_break_at_missing_values() {
        let pts = [(0.0, 1.0), (1.0, f64::NAN), (2.0, 3.0), (3.0, 4.0)];
        let runs = drawable_runs(&pts, |(x, y)| y.is_finite().then_some((x, y)));
        assert_eq!(runs, vec![vec![(0.0, 1.0)], vec![(2.0, 3.0), (3.0, 4.0)]]);
    }

    #[test]
    fn legend_shows_auc() {
        let s = Series::new("deletion", vec![]).with_auc(0.41234);
        assert_eq!(s.legend_label(), "deletion (AUC 0.412)");
    }
}
