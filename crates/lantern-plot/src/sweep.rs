//! Parameter sweeps: a metric against one parameter, one line per value of another
//! (e.g. seconds per image against occluder size, one line per stride), and the
//! "cost vs quality" scatter that puts every configuration on seconds × AUC.

use image::RgbImage;

use crate::chart::{self, AxisPlan, Frame, Legend, Scale};
use crate::curves::{LinePlot, XAxis};
use crate::error::Result;
use crate::figure::{Figure, paint};
use crate::font::ensure_font;
use crate::series::{Look, Series};
use crate::text::{self, Anchor};
use crate::theme::{PLOT_SIZE, TEXT, TICK_PX};

/// The swept parameter's axis.
#[derive(Debug, Clone, PartialEq)]
pub enum SweepAxis {
    /// Numeric parameter values, ticked exactly at the values swept.
    Values(Scale),
    /// Named settings (e.g. "zeros", "blur", "mean"); series use
    /// [`Series::over_categories`].
    Categories(Vec<String>),
}

/// A metric against a swept parameter, one series per value of another parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPlot {
    /// Main title.
    pub title: String,
    /// Smaller line under the title (the fixed parameters).
    pub subtitle: Option<String>,
    /// The swept parameter (x axis title), e.g. "occluder size (px)".
    pub parameter: String,
    /// The metric (y axis title), e.g. "seconds per image".
    pub metric: String,
    /// How parameter values are placed.
    pub x: SweepAxis,
    /// How metric values are placed (log for timings spanning decades).
    pub y_scale: Scale,
    /// Exact y range; automatic when `None`.
    pub y_range: Option<(f64, f64)>,
    /// One series per value of the other parameter, labelled with it (e.g. "stride 8").
    pub series: Vec<Series>,
    /// Image size in pixels.
    pub size: (u32, u32),
}

impl SweepPlot {
    /// A sweep over numeric values on a linear axis.
    pub fn new(
        title: impl Into<String>,
        parameter: impl Into<String>,
        metric: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            subtitle: None,
            parameter: parameter.into(),
            metric: metric.into(),
            x: SweepAxis::Values(Scale::Linear),
            y_scale: Scale::Linear,
            y_range: None,
            series: Vec::new(),
            size: PLOT_SIZE,
        }
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

    /// The line plot this sweep is drawn as: markers on, ticks at the swept values.
    pub fn to_line_plot(&self) -> LinePlot {
        let mut plot = LinePlot::new(&self.title, &self.parameter, &self.metric);
        plot.subtitle = self.subtitle.clone();
        plot.x_axis = match &self.x {
            SweepAxis::Values(Scale::Linear) => XAxis::Linear,
            SweepAxis::Values(Scale::Log10) => XAxis::Log10,
            SweepAxis::Categories(names) => XAxis::Categories(names.clone()),
        };
        plot.y_scale = self.y_scale;
        plot.y_range = self.y_range;
        plot.series = self.series.clone();
        plot.markers = true;
        plot.ticks_at_x_values = true;
        plot.size = self.size;
        plot
    }
}

impl Figure for SweepPlot {
    fn render(&self) -> Result<RgbImage> {
        self.to_line_plot().render()
    }
}

/// A point with a text label next to it.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledPoint {
    /// x value.
    pub x: f64,
    /// y value.
    pub y: f64,
    /// Text shown next to the point (e.g. "32/14"); may be empty.
    pub label: String,
}

impl LabelledPoint {
    /// A labelled point.
    pub fn new(x: f64, y: f64, label: impl Into<String>) -> Self {
        Self {
            x,
            y,
            label: label.into(),
        }
    }
}

/// Points sharing a colour and legend entry (e.g. one method).
#[derive(Debug, Clone, PartialEq)]
pub struct PointGroup {
    /// Legend text; an empty label keeps the group out of the legend.
    pub label: String,
    /// The points.
    pub points: Vec<LabelledPoint>,
}

impl PointGroup {
    /// A group of points.
    pub fn new(label: impl Into<String>, points: Vec<LabelledPoint>) -> Self {
        Self {
            label: label.into(),
            points,
        }
    }
}

/// A scatter plot of labelled points, e.g. cost (seconds per image) against quality (AUC).
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterPlot {
    /// Main title.
    pub title: String,
    /// Smaller line under the title.
    pub subtitle: Option<String>,
    /// x axis title.
    pub x_label: String,
    /// y axis title.
    pub y_label: String,
    /// How x values are placed.
    pub x_scale: Scale,
    /// How y values are placed.
    pub y_scale: Scale,
    /// Exact x range; automatic when `None`.
    pub x_range: Option<(f64, f64)>,
    /// Exact y range; automatic when `None`.
    pub y_range: Option<(f64, f64)>,
    /// The point groups, drawn with palette colours and marker shapes.
    pub groups: Vec<PointGroup>,
    /// Image size in pixels.
    pub size: (u32, u32),
}

impl ScatterPlot {
    /// An empty scatter plot with linear axes.
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
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            x_range: None,
            y_range: None,
            groups: Vec::new(),
            size: PLOT_SIZE,
        }
    }

    /// Cost against quality: seconds per image on a log axis, `quality` (e.g. "deletion
    /// AUC (lower is better)") on y.
    pub fn cost_vs_quality(title: impl Into<String>, quality: impl Into<String>) -> Self {
        let mut plot = Self::new(title, "seconds per image", quality);
        plot.x_scale = Scale::Log10;
        plot
    }

    /// Adds a subtitle.
    pub fn subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// Adds a group of points.
    pub fn group(mut self, group: PointGroup) -> Self {
        self.groups.push(group);
        self
    }

    fn draw(&self, legend_outside: bool) -> Result<Option<RgbImage>> {
        let points = || self.groups.iter().flat_map(|g| g.points.iter());
        let x = AxisPlan::numeric(points().map(|p| p.x), self.x_scale, self.x_range)?;
        let y = AxisPlan::numeric(points().map(|p| p.y), self.y_scale, self.y_range)?;
        let legend = Legend {
            entries: self
                .groups
                .iter()
                .enumerate()
                .filter(|(_, g)| !g.label.is_empty())
                .map(|(i, g)| (Look::of(i), g.label.clone()))
                .collect(),
            markers: true,
            lines: false,
        };
        let mut fitted = true;
        let image = paint(self.size, |root| {
            let chart = chart::build(
                root,
                &Frame::new(
                    &self.title,
                    self.subtitle.as_deref(),
                    (&self.x_label, &x),
                    (&self.y_label, &y),
                )
                .legend_outside(&legend, legend_outside),
            )?;
            let (xs, ys) = chart.plotting_area().get_pixel_range();
            let mut placed: Vec<Rect> = Vec::new();
            let mut labels = Vec::new();
            let mut occupied = Vec::new();
            for (i, group) in self.groups.iter().enumerate() {
                let look = Look::of(i);
                for p in &group.points {
                    let (Some(px), Some(py)) = (x.to_plot(p.x), y.to_plot(p.y)) else {
                        continue;
                    };
                    let at = chart.backend_coord(&(px, py));
                    if !xs.contains(&at.0) || !ys.contains(&at.1) {
                        continue;
                    }
                    look.draw_marker(root, at)?;
                    placed.push(Rect::around(at, 6));
                    occupied.push((px, py));
                    if !p.label.is_empty() {
                        labels.push((at, p.label.as_str()));
                    }
                }
            }
            // Labels after all markers, so that each label can avoid every marker.
            let bounds = Rect {
                x0: xs.start,
                y0: ys.start,
                x1: xs.end,
                y1: ys.end,
            };
            for (at, label) in labels {
                let rect = place_label(at, label, &placed, &bounds);
                text::draw(
                    root,
                    label,
                    text::font(TICK_PX),
                    TEXT,
                    (rect.x0, (rect.y0 + rect.y1) / 2),
                    Anchor::CentreLeft,
                )?;
                placed.push(rect);
            }
            fitted = legend.place(root, &chart, legend_outside, &occupied)?;
            Ok(())
        })?;
        Ok(fitted.then_some(image))
    }
}

impl Figure for ScatterPlot {
    fn render(&self) -> Result<RgbImage> {
        ensure_font()?;
        chart::with_legend_fallback(|outside| self.draw(outside))
    }
}

/// A pixel rectangle (inclusive-exclusive).
#[derive(Debug, Clone, Copy)]
struct Rect {
    x0: i32,
    y0: i32,
    x1: i32,
    y1: i32,
}

impl Rect {
    fn around((x, y): (i32, i32), r: i32) -> Self {
        Self {
            x0: x - r,
            y0: y - r,
            x1: x + r,
            y1: y + r,
        }
    }

    fn overlaps(&self, o: &Rect) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }

    fn inside(&self, o: &Rect) -> bool {
        self.x0 >= o.x0 && self.x1 <= o.x1 && self.y0 >= o.y0 && self.y1 <= o.y1
    }
}

/// Where a point's label goes: the first of right, left, above, below (and the diagonals)
/// that stays inside the plot and clear of markers and earlier labels; right of the point
/// when nothing is clear.
fn place_label(at: (i32, i32), label: &str, taken: &[Rect], bounds: &Rect) -> Rect {
    let (w, h) = text::text_size(label, &text::font(TICK_PX));
    let (w, h) = (w as i32, h as i32 + 2);
    let gap = 9;
    let candidates = [
        (gap, -h / 2),
        (-gap - w, -h / 2),
        (-w / 2, -gap - h),
        (-w / 2, gap),
        (gap - 2, -gap - h + 2),
        (gap - 2, gap - 2),
        (-gap - w + 2, -gap - h + 2),
        (-gap - w + 2, gap - 2),
    ];
    let rect_at = |(dx, dy): (i32, i32)| Rect {
        x0: at.0 + dx,
        y0: at.1 + dy,
        x1: at.0 + dx + w,
        y1: at.1 + dy + h,
    };
    candidates
        .iter()
        .map(|d| rect_at(*d))
        .find(|r| r.inside(bounds) && !taken.iter().any(|t| t.overlaps(r)))
        .or_else(|| {
            candidates
                .iter()
                .map(|d| rect_at(*d))
                .find(|r| r.inside(bounds))
        })
        .unwrap_or_else(|| rect_at(candidates[0]))
}
