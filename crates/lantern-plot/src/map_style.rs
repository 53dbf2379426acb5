//! How a raw attribution map is turned into pixels: which values span the colormap, which
//! colormap, and how strongly the heatmap covers the photo in an overlay.

use image::{RgbImage, imageops};
use ndarray::Array2;

use crate::clip::cumulative_sum_threshold;
use crate::colour_map::{Colormap, finite_range};
use crate::error::{PlotError, Result};

/// Which raw values the two ends of the colormap stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MapScale {
    /// The map's own minimum and maximum (unsigned maps: saliency, occlusion, Grad-CAM).
    #[default]
    MinMax,
    /// `-m..=m` with `m` the largest absolute value, so 0 sits at the colormap's centre
    /// (signed maps: gradient × input, integrated gradients, occlusion score changes).
    SymmetricAboutZero,
}

/// Everything needed to show a map: value scale, colormap and overlay opacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapStyle {
    /// Colours for normalised values.
    pub colormap: Colormap,
    /// Which values map to the colormap's ends.
    pub scale: MapScale,
    /// Opacity of the heatmap over the image in overlays, `0..=1`.
    pub alpha: f32,
    /// Clip outliers at this percentile (Captum's cumulative-sum convention, see `clip.rs`):
    /// the top of the colormap stands for the threshold, not the maximum. `None`: no clipping.
    pub clip_percentile: Option<f32>,
}

impl Default for MapStyle {
    /// The study's look: jet, min–max, half-transparent overlay.
    fn default() -> Self {
        Self::unsigned(Colormap::Jet)
    }
}

impl MapStyle {
    /// An unsigned map scaled by its min–max with `colormap`.
    pub fn unsigned(colormap: Colormap) -> Self {
        Self {
            colormap,
            scale: MapScale::MinMax,
            alpha: 0.5,
            clip_percentile: None,
        }
    }

    /// A signed map: diverging red-blue, 0 in the middle (white), blue negative, red positive.
    /// In overlays the colour fades out towards 0 (at full strength for the largest values).
    pub fn signed() -> Self {
        Self {
            colormap: Colormap::RedBlue,
            scale: MapScale::SymmetricAboutZero,
            alpha: 0.8,
            clip_percentile: None,
        }
    }

    /// Sets the overlay opacity.
    pub fn with_alpha(mut self, alpha: f32) -> Self {
        self.alpha = alpha;
        self
    }

    /// Clips outliers at `percentile` (Captum's `visualize_image_attr` uses 98, the study's
    /// figures here 99).
    pub fn with_clip_percentile(mut self, percentile: f32) -> Self {
        self.clip_percentile = Some(percentile);
        self
    }

    /// The raw values at the colormap's low and high ends (what the colour bar shows).
    /// A constant map is widened around its value so the range is never empty. With
    /// `clip_percentile`, the high end (and for signed maps the low end) is Captum's threshold:
    /// of `v − min` for min–max maps, of `|v|` for signed ones.
    pub fn value_range(&self, map: &Array2<f32>) -> (f32, f32) {
        let (lo, hi) = finite_range(map.iter().copied()).unwrap_or((0.0, 1.0));
        let (lo, hi) = match (self.clip_percentile, self.scale) {
            (Some(p), MapScale::MinMax) => {
                match cumulative_sum_threshold(map.iter().map(|v| v - lo), p) {
                    Some(t) if t > 0.0 => (lo, lo + t),
                    _ => (lo, hi),
                }
            }
            (Some(p), MapScale::SymmetricAboutZero) => {
                match cumulative_sum_threshold(map.iter().map(|v| v.abs()), p) {
                    Some(t) if t > 0.0 => (-t, t),
                    _ => (lo, hi),
                }
            }
            (None, _) => (lo, hi),
        };
        match self.scale {
            MapScale::MinMax if hi > lo => (lo, hi),
            MapScale::MinMax => {
                let pad = (lo.abs() * 0.05).max(1e-6);
                (lo - pad, hi + pad)
            }
            MapScale::SymmetricAboutZero => {
                let m = lo.abs().max(hi.abs());
                let m = if m > 0.0 { m } else { 1.0 };
                (-m, m)
            }
        }
    }

    /// The colour of raw value `v` given the range from [`MapStyle::value_range`].
    pub(crate) fn colour(&self, v: f32, (lo, hi): (f32, f32)) -> [u8; 3] {
        self.colormap.rgb((v - lo) / (hi - lo))
    }

    /// The heatmap of `map` (rows × columns = height × width) as an image.
    pub fn colorize(&self, map: &Array2<f32>) -> RgbImage {
        let range = self.value_range(map);
        let (h, w) = map.dim();
        RgbImage::from_fn(w as u32, h as u32, |x, y| {
            image::Rgb(self.colour(map[(y as usize, x as usize)], range))
        })
    }

    /// The heatmap alpha-blended over `image`; both must have the same size.
    pub fn overlay(&self, image: &RgbImage, map: &Array2<f32>) -> Result<RgbImage> {
        check_same_size(image, map)?;
        let range = self.value_range(map);
        Ok(self.blend(image, &self.colorize(map), map, range))
    }

    /// The heatmap's opacity over a pixel of raw value `v`. Unsigned maps cover the image
    /// evenly, as in the study. Signed maps fade to transparent towards 0, so that regions
    /// without evidence show the photo rather than a white veil.
    fn opacity(&self, v: f32, (lo, hi): (f32, f32)) -> f32 {
        let a = self.alpha.clamp(0.0, 1.0);
        match self.scale {
            MapScale::MinMax => a,
            MapScale::SymmetricAboutZero => {
                let m = lo.abs().max(hi.abs());
                if v.is_finite() && m > 0.0 {
                    a * (v.abs() / m).min(1.0)
                } else {
                    0.0
                }
            }
        }
    }

    /// `(1 - a) · image + a · heat` per channel, with `a` from [`MapStyle::opacity`].
    fn blend(
        &self,
        image: &RgbImage,
        heat: &RgbImage,
        map: &Array2<f32>,
        range: (f32, f32),
    ) -> RgbImage {
        RgbImage::from_fn(image.width(), image.height(), |x, y| {
            let a = self.opacity(map[(y as usize, x as usize)], range);
            let (p, q) = (image.get_pixel(x, y).0, heat.get_pixel(x, y).0);
            image::Rgb(std::array::from_fn(|c| {
                ((1.0 - a) * p[c] as f32 + a * q[c] as f32).round() as u8
            }))
        })
    }
}

/// An error unless `map` is `image.height() × image.width()`.
pub(crate) fn check_same_size(image: &RgbImage, map: &Array2<f32>) -> Result<()> {
    let (h, w) = map.dim();
    if (w as u32, h as u32) != image.dimensions() {
        return Err(PlotError::InvalidInput(format!(
            "map is {w}x{h} but the image is {}x{}; upsample the map to the image size first",
            image.width(),
            image.height()
        )));
    }
    if w == 0 || h == 0 {
        return Err(PlotError::InvalidInput("the image is empty".to_string()));
    }
    Ok(())
}

/// Resamples a map to `width × height`. Resampling the raw values (rather than the coloured
/// heatmap) keeps every displayed colour on the colormap. Written here rather than with
/// `image::imageops::resize`, which clamps `f32` pixels to `0..=1` and would flatten
/// negative and large attributions.
pub(crate) fn resize_map(map: &Array2<f32>, width: u32, height: u32) -> Array2<f32> {
    let (h, w) = map.dim();
    let (width, height) = (width as usize, height as usize);
    if (w, h) == (width, height) {
        return map.clone();
    }
    // Shrinking by 2× or more: average blocks first so the bilinear step does not alias.
    let (fx, fy) = ((w / width).max(1), (h / height).max(1));
    let reduced;
    let src = if fx > 1 || fy > 1 {
        reduced = box_reduce(map, fx, fy);
        &reduced
    } else {
        map
    };
    bilinear(src, width, height)
}

/// Averages `fx × fy` blocks (partial blocks at the edges average what they have).
fn box_reduce(map: &Array2<f32>, fx: usize, fy: usize) -> Array2<f32> {
    let (h, w) = map.dim();
    Array2::from_shape_fn((h.div_ceil(fy), w.div_ceil(fx)), |(by, bx)| {
        let block = map.slice(ndarray::s![
            by * fy..((by + 1) * fy).min(h),
            bx * fx..((bx + 1) * fx).min(w)
        ]);
        block.sum() / block.len() as f32
    })
}

/// Bilinear interpolation with pixel centres aligned (as OpenCV's `INTER_LINEAR`).
fn bilinear(map: &Array2<f32>, width: usize, height: usize) -> Array2<f32> {
    let (h, w) = map.dim();
    let source = |dst: usize, dst_len: usize, src_len: usize| {
        let s = ((dst as f32 + 0.5) * src_len as f32 / dst_len as f32 - 0.5)
            .clamp(0.0, (src_len - 1) as f32);
        let i = (s.floor() as usize).min(src_len.saturating_sub(2));
        (i, (i + 1).min(src_len - 1), s - i as f32)
    };
    let xs: Vec<_> = (0..width).map(|x| source(x, width, w)).collect();
    let ys: Vec<_> = (0..height).map(|y| source(y, height, h)).collect();
    Array2::from_shape_fn((height, width), |(y, x)| {
        let (y0, y1, ty) = ys[y];
        let (x0, x1, tx) = xs[x];
        let top = map[(y0, x0)] * (1.0 - tx) + map[(y0, x1)] * tx;
        let bottom = map[(y1, x0)] * (1.0 - tx) + map[(y1, x1)] * tx;
        top * (1.0 - ty) + bottom * ty
    })
}

/// Resamples a photo for display.
pub(crate) fn resize_image(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    if image.dimensions() == (width, height) {
        return image.clone();
    }
    imageops::resize(image, width, height, imageops::FilterType::CatmullRom)
}

/// The size of a panel whose longer side is `longest`, keeping the image's aspect ratio.
pub(crate) fn panel_size(image: &RgbImage, longest: u32) -> (u32, u32) {
    let (w, h) = image.dimensions();
    let scale = longest as f64 / w.max(h).max(1) as f64;
    (
        ((w as f64 * scale).round() as u32).max(1),
        ((h as f64 * scale).round() as u32).max(1),
    )
}

/// The three images of an explanation at panel size: the photo, the heatmap, the overlay.
pub(crate) struct Panels {
    pub photo: RgbImage,
    pub heatmap: RgbImage,
    pub overlay: RgbImage,
}

impl MapStyle {
    /// Photo, heatmap and overlay resampled to `size`, coloured with the range of the
    /// full-resolution map (resampling must not change what the colour bar says).
    pub(crate) fn panels(
        &self,
        image: &RgbImage,
        map: &Array2<f32>,
        size: (u32, u32),
    ) -> Result<Panels> {
        check_same_size(image, map)?;
        let range = self.value_range(map);
        let photo = resize_image(image, size.0, size.1);
        let resized = resize_map(map, size.0, size.1);
        let heatmap = RgbImage::from_fn(size.0, size.1, |x, y| {
            image::Rgb(self.colour(resized[(y as usize, x as usize)], range))
        });
        let overlay = self.blend(&photo, &heatmap, &resized, range);
        Ok(Panels {
            photo,
            heatmap,
            overlay,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn ranges_follow_the_scale() {
        let m = array![[-1.0, 0.5], [2.0, f32::NAN]];
        assert_eq!(MapStyle::default().value_range(&m), (-1.0, 2.0));
        assert_eq!(MapStyle::signed().value_range(&m), (-2.0, 2.0));
        let (lo, hi) = MapStyle::default().value_range(&array![[4.0, 4.0]]);
        assert!(lo < 4.0 && hi > 4.0);
    }

    #[test]
    fn clipping_puts_the_threshold_at_the_top() {
        // 98 values of 1, a 0 and an outlier of 50: at 50 % of the sum (74) the threshold is 1,
        // so the ordinary values take the top colour instead of one near the bottom.
        let mut m = Array2::from_elem((10, 10), 1.0f32);
        m[(0, 0)] = 50.0;
        m[(9, 9)] = 0.0;
        let style = MapStyle::unsigned(Colormap::Hot).with_clip_percentile(50.0);
        assert_eq!(style.value_range(&m), (0.0, 1.0));
        let heat = style.colorize(&m);
        assert_eq!(heat.get_pixel(5, 5).0, Colormap::Hot.rgb(1.0));
        assert_eq!(heat.get_pixel(0, 0).0, Colormap::Hot.rgb(1.0));
        assert_eq!(heat.get_pixel(9, 9).0, Colormap::Hot.rgb(0.0));
        let unclipped = MapStyle::unsigned(Colormap::Hot).colorize(&m);
        assert_eq!(unclipped.get_pixel(5, 5).0, Colormap::Hot.rgb(0.02));
        let signed = MapStyle::signed().with_clip_percentile(50.0);
        let s = Array2::from_shape_fn((1, 21), |(_, i)| match i {
            20 => 10.0f32,
            i if i % 2 == 0 => -1.0,
            _ => 1.0,
        });
        assert_eq!(signed.value_range(&s), (-1.0, 1.0));
    }

    #[test]
    fn signed_zero_is_white_ish() {
        let m = array![[-3.0, 0.0, 1.0]];
        let heat = MapStyle::signed().colorize(&m);
        let [r, g, b] = heat.get_pixel(1, 0).0;
        assert!(r > 240 && g > 240 && b > 240);
    }

    #[test]
    fn overlay_checks_sizes_and_blends() {
        let image = RgbImage::from_pixel(2, 1, image::Rgb([0, 0, 0]));
        let m = array![[0.0, 1.0]];
        let out = MapStyle::default()
            .with_alpha(1.0)
            .overlay(&image, &m)
            .unwrap();
        assert_eq!(out.get_pixel(1, 0).0, Colormap::Jet.rgb(1.0));
        assert!(MapStyle::default().overlay(&image, &array![[0.0]]).is_err());
    }

    #[test]
    fn signed_overlay_leaves_zero_regions_untouched() {
        let image = RgbImage::from_pixel(3, 1, image::Rgb([10, 200, 30]));
        let m = array![[-2.0, 0.0, 2.0]];
        let out = MapStyle::signed().overlay(&image, &m).unwrap();
        assert_eq!(out.get_pixel(1, 0).0, [10, 200, 30]);
        assert_ne!(out.get_pixel(0, 0).0, [10, 200, 30]);
        assert_ne!(out.get_pixel(2, 0).0, [10, 200, 30]);
    }

    #[test]
    fn resize_map_keeps_signed_and_large_values() {
        let m = array![[-5.0f32, 0.0], [0.0, 40.0]];
        let up = resize_map(&m, 8, 8);
        assert_eq!(up[(0, 0)], -5.0);
        assert_eq!(up[(7, 7)], 40.0);
        let big = Array2::from_shape_fn((100, 100), |(y, x)| (x + y) as f32 - 50.0);
        let down = resize_map(&big, 10, 10);
        assert!(down[(0, 0)] < -35.0 && down[(9, 9)] > 100.0, "{down:?}");
    }

    #[test]
    fn resize_map_keeps_constant_maps_constant() {
        let m = Array2::from_elem((7, 7), 0.25f32);
        let r = resize_map(&m, 20, 30);
        assert_eq!(r.dim(), (30, 20));
        assert!(r.iter().all(|v| (v - 0.25).abs() < 1e-6));
    }
}
