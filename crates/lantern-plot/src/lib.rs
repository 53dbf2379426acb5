//! Figures with plotters: overlays, panels, curves and sweep plots.
//!
//! Every figure is a plain struct implementing [`Figure`]: [`Figure::render`] draws it into an
//! [`image::RgbImage`], [`Figure::save`] writes it as a PNG atomically. Text uses a TrueType
//! font found at runtime (see [`ensure_font`]).

mod bars;
mod canvas;
mod chart;
mod clip;
mod colour_bar;
mod colour_map;
mod confusion;
mod curves;
mod error;
mod explanation;
mod figure;
mod font;
mod grid;
mod map_style;
mod series;
mod sweep;
mod text;
mod theme;
mod ticks;

pub use bars::{Bar, BarChart, BarOrder};
pub use chart::Scale;
pub use clip::cumulative_sum_threshold;
pub use colour_map::{Colormap, minmax_normalise};
pub use confusion::ConfusionMatrix;
pub use curves::{LinePlot, XAxis};
pub use error::{FontError, PlotError, Result};
pub use explanation::{Explanation, PanelSet, PredictionTitle, prediction_title};
pub use figure::{Figure, FigureFormat, write_png_atomic};
pub use font::{FONT_ENV, ensure_font};
pub use grid::{ComparisonGrid, GridColumn, GridRow};
pub use map_style::{MapScale, MapStyle};
pub use series::{Series, trapezoid_auc};
pub use sweep::{LabelledPoint, PointGroup, ScatterPlot, SweepAxis, SweepPlot};
pub use ticks::{
    format_exact, format_ticks, format_value, format_values, log_tick_label, log_ticks, nice_ticks,
};
