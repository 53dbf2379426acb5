//! Shared look of all figures: font sizes, margins and the series palette.
//!
//! Sizes are in pixels and chosen for the default figure sizes (about 1100 px wide), where
//! they read like 10–14 pt text in a printed A4 figure.

use plotters::style::RGBColor;

/// Figure title.
pub(crate) const TITLE_PX: f64 = 28.0;
/// Subtitle under the title (parameters, notes).
pub(crate) const SUBTITLE_PX: f64 = 19.0;
/// Panel headers and axis descriptions.
pub(crate) const LABEL_PX: f64 = 21.0;
/// Tick labels, legend entries, annotations.
pub(crate) const TICK_PX: f64 = 17.0;
/// Text is shrunk to fit its space, but never below this.
pub(crate) const MIN_TEXT_PX: f64 = 11.0;
/// Space around the figure content.
pub(crate) const MARGIN: u32 = 20;

/// The default size of plots (curves, sweeps, bars).
pub(crate) const PLOT_SIZE: (u32, u32) = (1100, 700);

pub(crate) const WHITE: RGBColor = RGBColor(255, 255, 255);
pub(crate) const TEXT: RGBColor = RGBColor(20, 20, 20);
pub(crate) const MUTED_TEXT: RGBColor = RGBColor(85, 85, 85);
pub(crate) const GRID: RGBColor = RGBColor(225, 225, 225);
pub(crate) const AXIS: RGBColor = RGBColor(60, 60, 60);

/// matplotlib's "tab10" palette: distinct hues that readers of ML papers already know.
const SERIES: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of the `i`-th series (cycles after ten).
pub(crate) fn series_colour(i: usize) -> RGBColor {
    SERIES[i % SERIES.len()]
}
