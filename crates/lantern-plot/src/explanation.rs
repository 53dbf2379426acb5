//! The per-image explanation figure of the study: image | heatmap | overlay side by side,
//! a colour bar in raw map units, and a title naming the class, its probability and the
//! method. A two-panel variant (image | heatmap) matches the study's saliency figure.

use image::RgbImage;
use ndarray::Array2;

use crate::colour_bar::VerticalBar;
use crate::error::{PlotError, Result};
use crate::figure::{Figure, blank, blit, paint_on};
use crate::font::ensure_font;
use crate::map_style::{MapStyle, check_same_size, panel_size};
use crate::text;
use crate::theme::{LABEL_PX, MARGIN};

/// Which panels the figure shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PanelSet {
    /// Image, heatmap, heatmap over the image (the occlusion and Grad-CAM figures).
    #[default]
    ImageHeatmapOverlay,
    /// Image and heatmap only (the saliency figure: leaf | saliency).
    ImageHeatmap,
}

/// One image's explanation figure. Build with [`Explanation::new`], adjust the public fields
/// or the builder methods, then [`Figure::save`].
#[derive(Debug, Clone)]
pub struct Explanation<'a> {
    /// The image as the model saw it (model-input resolution, display colours).
    pub image: &'a RgbImage,
    /// The attribution map at the image's resolution (height × width), raw values.
    pub map: &'a Array2<f32>,
    /// Main title, e.g. from [`prediction_title`].
    pub title: String,
    /// Smaller line under the title, e.g. method parameters.
    pub subtitle: Option<String>,
    /// Which panels to show.
    pub panels: PanelSet,
    /// Colours, value scale and overlay opacity.
    pub style: MapStyle,
    /// Header over the image panel.
    pub image_label: String,
    /// Header over the heatmap panel (e.g. "saliency").
    pub map_label: String,
    /// Header over the overlay panel.
    pub overlay_label: String,
    /// Caption along the colour bar naming the values (e.g. "score drop"); none by default.
    pub value_label: Option<String>,
    /// Longer side of each panel in pixels; images are resampled to it for display.
    pub panel_px: u32,
}

impl<'a> Explanation<'a> {
    /// Three panels, jet colormap, min–max scale, 300 px panels.
    pub fn new(image: &'a RgbImage, map: &'a Array2<f32>, title: impl Into<String>) -> Self {
        Self {
            image,
            map,
            title: title.into(),
            subtitle: None,
            panels: PanelSet::ImageHeatmapOverlay,
            style: MapStyle::default(),
            image_label: "image".to_string(),
            map_label: "heatmap".to_string(),
            overlay_label: "overlay".to_string(),
            value_label: None,
            panel_px: 300,
        }
    }

    /// Adds a subtitle line.
    pub fn subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// Image and heatmap only; `map_label` heads the heatmap (e.g. "saliency").
    pub fn two_panels(mut self, map_label: impl Into<String>) -> Self {
        self.panels = PanelSet::ImageHeatmap;
        self.map_label = map_label.into();
        self
    }

    /// Shows the map as signed: diverging red-blue colormap centred at 0.
    pub fn signed(mut self) -> Self {
        self.style = MapStyle::signed();
        self
    }

    /// Uses `style` for the map.
    pub fn style(mut self, style: MapStyle) -> Self {
        self.style = style;
        self
    }

    /// Names the values along the colour bar.
    pub fn value_label(mut self, label: impl Into<String>) -> Self {
        self.value_label = Some(label.into());
        self
    }

    fn colour_bar(&self) -> VerticalBar<'_> {
        VerticalBar {
            style: self.style,
            range: self.style.value_range(self.map),
            caption: self.value_label.as_deref(),
        }
    }
}

/// "bull mastiff (243) p=0.39 — occlusion": the title the study's figures carry.
pub fn prediction_title(
    class_name: &str,
    class_index: usize,
    probability: f32,
    method: &str,
) -> String {
    format!("{class_name} ({class_index}) p={probability:.2} — {method}")
}

/// A figure title that says how the prediction went: the true label when it is known, the
/// predicted class with its probability, a right / wrong mark, the explained class when it is
/// not the prediction, and the method:
/// `true: rust · predicted: cedar apple rust (2) p=0.97 ✓ right — saliency`.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionTitle<'a> {
    /// The image's true class name, when the dataset says.
    pub truth: Option<&'a str>,
    pub predicted: &'a str,
    pub predicted_index: usize,
    pub predicted_probability: f32,
    /// The class the map explains, with its index and probability, when not the prediction.
    pub target: Option<(&'a str, usize, f32)>,
    pub method: &'a str,
}

impl PredictionTitle<'_> {
    /// Whether the prediction matches the true label (`None` without one).
    pub fn right(&self) -> Option<bool> {
        self.truth.map(|t| t == self.predicted)
    }

    pub fn text(&self) -> String {
        let mut s = String::new();
        if let Some(t) = self.truth {
            s.push_str(&format!("true: {t} · "));
        }
        s.push_str(&format!(
            "predicted: {} ({}) p={:.2}",
            self.predicted, self.predicted_index, self.predicted_probability
        ));
        match self.right() {
            Some(true) => s.push_str(" ✓ right"),
            Some(false) => s.push_str(" ✗ wrong"),
            None => {}
        }
        if let Some((name, index, p)) = self.target {
            s.push_str(&format!(" · explaining {name} ({index}) p={p:.2}"));
        }
        s.push_str(&format!(" — {}", self.method));
        s
    }
}

/// Gap between panels.
const PANEL_GAP: u32 = 16;
/// Gap between the last panel and the colour bar.
const BAR_GAP: u32 = 18;

/// Where everything goes; computed once and shared by drawing and tests.
pub(crate) struct Layout {
    pub size: (u32, u32),
    pub panel: (u32, u32),
    /// Top-left corners of the panels, left to right.
    pub panel_origins: Vec<(u32, u32)>,
    header_y: i32,
    bar_x: i32,
}

impl Layout {
    pub(crate) fn new(fig: &Explanation) -> Self {
        let panel = panel_size(fig.image, fig.panel_px.max(16));
        let count = match fig.panels {
            PanelSet::ImageHeatmapOverlay => 3,
            PanelSet::ImageHeatmap => 2,
        };
        let header_y = MARGIN as i32 + text::heading_height(fig.subtitle.is_some()) + 10;
        let panels_y = (header_y + (LABEL_PX * 1.45) as i32) as u32;
        let panel_origins: Vec<(u32, u32)> = (0..count)
            .map(|i| (MARGIN + i * (panel.0 + PANEL_GAP), panels_y))
            .collect();
        let panels_right = MARGIN + count * panel.0 + (count - 1) * PANEL_GAP;
        let bar_x = panels_right + BAR_GAP;
        let width = bar_x + fig.colour_bar().width() + MARGIN;
        let height = panels_y + panel.1 + MARGIN;
        Self {
            size: (width, height),
            panel,
            panel_origins,
            header_y,
            bar_x: bar_x as i32,
        }
    }
}

impl Figure for Explanation<'_> {
    fn render(&self) -> Result<RgbImage> {
        // The layout measures text, which needs the font.
        ensure_font()?;
        check_same_size(self.image, self.map)?;
        if !self.map.iter().any(|v| v.is_finite()) {
            return Err(PlotError::InvalidInput(
                "the map has no finite values".to_string(),
            ));
        }
        let layout = Layout::new(self);
        let panels = self.style.panels(self.image, self.map, layout.panel)?;
        let mut canvas = blank(layout.size)?;
        let images: Vec<&RgbImage> = match self.panels {
            PanelSet::ImageHeatmapOverlay => vec![&panels.photo, &panels.heatmap, &panels.overlay],
            PanelSet::ImageHeatmap => vec![&panels.photo, &panels.heatmap],
        };
        for (img, origin) in images.iter().zip(&layout.panel_origins) {
            blit(&mut canvas, img, *origin);
        }
        let headers = [&self.image_label, &self.map_label, &self.overlay_label];
        paint_on(canvas, |root| {
            text::heading(root, layout.size.0, &self.title, self.subtitle.as_deref())?;
            for (header, origin) in headers.iter().zip(&layout.panel_origins) {
                let x = (origin.0 + layout.panel.0 / 2) as i32;
                text::column_header(root, header, layout.panel.0, (x, layout.header_y))?;
            }
            let top = layout.panel_origins[0].1 as i32;
            self.colour_bar()
                .draw(root, (layout.bar_x, top), layout.panel.1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::colour_map::Colormap;

    /// A gradient photo and a Gaussian bump centred at (`cx`, `cy`).
    fn scene(w: u32, h: u32, cx: f32, cy: f32) -> (RgbImage, Array2<f32>) {
        let image = RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 90])
        });
        let map = Array2::from_shape_fn((h as usize, w as usize), |(y, x)| {
            let d2 = (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2);
            (-d2 / 300.0).exp() * 0.7 + 0.1
        });
        (image, map)
    }

    /// How close a pixel is to the colormap's top colour (smaller is closer).
    fn distance_to(p: [u8; 3], c: [u8; 3]) -> i32 {
        (0..3).map(|i| (p[i] as i32 - c[i] as i32).abs()).sum()
    }

    #[test]
    fn heatmap_panel_is_hottest_where_the_map_peaks() {
        let (w, h) = (224, 160);
        let (cx, cy) = (170.0, 40.0);
        let (image, map) = scene(w, h, cx, cy);
        let fig = Explanation::new(&image, &map, "test p=0.50 — occlusion");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("explanation.png");
        fig.save(&path).unwrap();
        let png = image::open(&path).unwrap().to_rgb8();
        let layout = Layout::new(&fig);
        assert_eq!(png.dimensions(), layout.size);
        let (ox, oy) = layout.panel_origins[1];
        let hot = Colormap::Jet.rgb(1.0);
        let mut best = (i32::MAX, 0, 0);
        for y in 0..layout.panel.1 {
            for x in 0..layout.panel.0 {
                let d = distance_to(png.get_pixel(ox + x, oy + y).0, hot);
                if d < best.0 {
                    best = (d, x, y);
                }
            }
        }
        let scale = layout.panel.0 as f32 / w as f32;
        let (px, py) = (best.1 as f32 / scale, best.2 as f32 / scale);
        assert!(
            (px - cx).abs() < 6.0 && (py - cy).abs() < 6.0,
            "hottest heatmap pixel at ({px}, {py}), map peaks at ({cx}, {cy})"
        );
    }

    #[test]
    fn title_names_truth_prediction_and_mark() {
        let mut t = PredictionTitle {
            truth: Some("rust"),
            predicted: "cedar apple rust",
            predicted_index: 2,
            predicted_probability: 0.973,
            target: None,
            method: "saliency",
        };
        assert_eq!(
            t.text(),
            "true: rust · predicted: cedar apple rust (2) p=0.97 ✗ wrong — saliency"
        );
        t.truth = Some("cedar apple rust");
        assert_eq!(t.right(), Some(true));
        assert!(t.text().starts_with(
            "true: cedar apple rust · predicted: cedar apple rust (2) p=0.97 ✓ right"
        ));
        t.truth = None;
        t.target = Some(("healthy", 3, 0.01));
        assert_eq!(
            t.text(),
            "predicted: cedar apple rust (2) p=0.97 · explaining healthy (3) p=0.01 — saliency"
        );
    }

    /// The 99th-percentile value (Captum's cumulative-sum threshold) takes the colour at the
    /// top of the colour bar: half the map is 1, one pixel an outlier of 10, the rest 0.
    #[test]
    fn clipped_figure_puts_the_99th_percentile_at_the_top_of_the_bar() {
        let (w, h) = (64u32, 64u32);
        let image = RgbImage::from_pixel(w, h, image::Rgb([40, 120, 40]));
        let mut map =
            Array2::from_shape_fn(
                (h as usize, w as usize),
                |(_, x)| {
                    if x < 32 { 1.0f32 } else { 0.0 }
                },
            );
        map[(10, 50)] = 10.0;
        assert_eq!(
            crate::clip::cumulative_sum_threshold(map.iter().copied(), 99.0),
            Some(1.0)
        );
        let style = MapStyle::unsigned(Colormap::Hot).with_clip_percentile(99.0);
        let fig = Explanation::new(&image, &map, "t")
            .two_panels("saliency")
            .style(style);
        assert_eq!(fig.colour_bar().range, (0.0, 1.0));
        let png = fig.render().unwrap();
        let layout = Layout::new(&fig);
        let (ox, oy) = layout.panel_origins[1];
        let top = Colormap::Hot.rgb(1.0);
        // Inside the left half of the heatmap panel, away from the resampled edge.
        let inside = png
            .get_pixel(ox + layout.panel.0 / 4, oy + layout.panel.1 / 2)
            .0;
        assert!(distance_to(inside, top) <= 3, "{inside:?} vs {top:?}");
        // The colour bar's top (below its 1 px frame) has the same colour.
        let bar = png.get_pixel(layout.bar_x as u32 + 5, oy + 1).0;
        assert!(distance_to(bar, top) <= 12, "{bar:?} vs {top:?}");
        // Without clipping the same pixels are a dull red (1 of 10).
        let plain = Explanation::new(&image, &map, "t")
            .two_panels("saliency")
            .style(MapStyle::unsigned(Colormap::Hot));
        let png = plain.render().unwrap();
        let dull = png
            .get_pixel(ox + layout.panel.0 / 4, oy + layout.panel.1 / 2)
            .0;
        assert!(distance_to(dull, Colormap::Hot.rgb(0.1)) <= 3, "{dull:?}");
    }

    #[test]
    fn mismatched_map_is_an_error() {
        let (image, _) = scene(32, 32, 5.0, 5.0);
        let map = Array2::zeros((7, 7));
        let err = Explanation::new(&image, &map, "t").render().unwrap_err();
        assert!(err.to_string().contains("upsample"), "{err}");
    }

    #[test]
    fn panels_keep_the_image_aspect_ratio() {
        let (image, map) = scene(300, 200, 10.0, 10.0);
        let layout = Layout::new(&Explanation::new(&image, &map, "t"));
        assert_eq!(layout.panel, (300, 200));
    }

    #[test]
    fn two_panel_figure_is_narrower() {
        let (image, map) = scene(64, 64, 20.0, 20.0);
        let three = Layout::new(&Explanation::new(&image, &map, "t"));
        let two = Layout::new(&Explanation::new(&image, &map, "t").two_panels("saliency"));
        assert_eq!(two.panel_origins.len(), 2);
        assert!(two.size.0 < three.size.0);
    }
}
