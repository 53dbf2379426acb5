//! `[model.head.augment]`: how a training image becomes feature rows — the lab → field levers.
//!
//! PlantVillage leaves are photographed alone on a plain grey board; Plant Pathology leaves hang
//! among other leaves in daylight. A head fitted on plain-board features learns the board, and
//! calls field leaves whatever class their background resembles. Each training image therefore
//! gives `views` rows, each a new picture of the same leaf:
//! - `background = "leaves"`: the leaf is cut out (the board's colour is read from the image
//!   border, see [`leaf_mask`]) and pasted over a blurred collage of other training leaves —
//!   foliage made only of lab leaves, so no field image is ever used; `"plain"` keeps the board;
//! - the leaf is scaled by a factor drawn from `scale` (of the image side), rotated by any
//!   angle, mirrored, and shifted a little;
//! - brightness, contrast and saturation are each multiplied by a factor in `1 ± jitter`.
//!
//! Every draw comes from Lantern's SplitMix64 (stream = the sample's index in the training
//! split, seeded by the experiment seed), so a seed gives the same rows on every machine. The
//! validation split is scored on the images as they are.

use anyhow::{Result, bail};
use image::{Rgb, RgbImage};
use lantern_core::SplitMix64;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AugmentSection {
    /// Augmented copies per training image.
    #[serde(default = "default_views")]
    pub views: usize,
    /// `leaves` (cut-out leaf over a blurred collage of other training leaves) or `plain`.
    #[serde(default = "default_background")]
    pub background: String,
    /// Leaves in each background collage.
    #[serde(default = "default_background_leaves")]
    pub background_leaves: usize,
    /// The leaf's size as a fraction of the image side, drawn uniformly from this range.
    #[serde(default = "default_scale")]
    pub scale: [f32; 2],
    /// Brightness, contrast and saturation factors are drawn from `1 ± jitter`.
    #[serde(default = "default_jitter")]
    pub jitter: f32,
}

fn default_views() -> usize {
    4
}
fn default_background() -> String {
    "leaves".into()
}
fn default_background_leaves() -> usize {
    8
}
fn default_scale() -> [f32; 2] {
    [0.6, 0.9]
}
fn default_jitter() -> f32 {
    0.3
}

impl AugmentSection {
    pub fn check(&self) -> Result<()> {
        if self.views == 0 {
            bail!("[model.head.augment] views must be at least 1");
        }
        if !matches!(self.background.as_str(), "leaves" | "plain") {
            bail!(
                "[model.head.augment] background = {:?}: expected \"leaves\" or \"plain\"",
                self.background
            );
        }
        let [lo, hi] = self.scale;
        if !(lo > 0.0 && lo <= hi && hi <= 2.0) {
            bail!("[model.head.augment] scale = [{lo}, {hi}]: expected 0 < low ≤ high ≤ 2");
        }
        if !(0.0..1.0).contains(&self.jitter) {
            bail!(
                "[model.head.augment] jitter = {}: expected 0 ≤ jitter < 1",
                self.jitter
            );
        }
        Ok(())
    }
}

/// A leaf cut out of its board: the image and which pixels are leaf.
#[derive(Clone)]
pub struct Sprite {
    image: RgbImage,
    mask: Vec<bool>,
}

impl Sprite {
    pub fn cut(image: RgbImage) -> Sprite {
        let mask = leaf_mask(&image);
        Sprite { image, mask }
    }

    fn is_leaf(&self, x: u32, y: u32) -> bool {
        self.mask[(y * self.image.width() + x) as usize]
    }
}

pub struct Augmenter {
    section: AugmentSection,
    seed: u64,
    /// Leaves the background collages are made of (the training split's own images).
    backgrounds: Vec<Sprite>,
}

impl Augmenter {
    /// `backgrounds`: cut-out training leaves for `background = "leaves"` (unused otherwise).
    pub fn new(section: &AugmentSection, seed: u64, backgrounds: Vec<Sprite>) -> Result<Self> {
        section.check()?;
        if section.background == "leaves" && backgrounds.is_empty() {
            bail!(
                "[model.head.augment] background = \"leaves\" needs training images to cut leaves from"
            );
        }
        Ok(Augmenter {
            section: section.clone(),
            seed,
            backgrounds,
        })
    }

    pub fn views(&self) -> usize {
        self.section.views
    }

    pub fn needs_backgrounds(section: &AugmentSection) -> bool {
        section.background == "leaves"
    }

    /// The section in words, for the manifest.
    pub fn describe(&self) -> String {
        let s = &self.section;
        format!(
            "{} views per leaf; background {}{}; leaf scale {}–{}, any rotation, mirrored; brightness/contrast/saturation × 1 ± {}",
            s.views,
            s.background,
            if s.background == "leaves" {
                format!(" ({} blurred training leaves)", s.background_leaves)
            } else {
                String::new()
            },
            s.scale[0],
            s.scale[1],
            s.jitter
        )
    }

    /// The `views` augmented copies of training image `index`.
    pub fn views_of(&self, image: &RgbImage, index: u64) -> Vec<RgbImage> {
        let mut rng = SplitMix64::for_stream(self.seed ^ 0xA06_3E17, index);
        let sprite = Sprite::cut(image.clone());
        (0..self.section.views)
            .map(|_| self.view(&sprite, &mut rng))
            .collect()
    }

    fn view(&self, leaf: &Sprite, rng: &mut SplitMix64) -> RgbImage {
        let (w, h) = leaf.image.dimensions();
        let side = w.min(h) as f32;
        let s = &self.section;
        let mut canvas = if s.background == "leaves" {
            let tint = rng.uniform(30.0, 120.0) as f32;
            let mut c = RgbImage::from_pixel(
                w,
                h,
                Rgb([(tint * 0.7) as u8, tint as u8, (tint * 0.6) as u8]),
            );
            for _ in 0..s.background_leaves {
                let j = rng.below_lemire(self.backgrounds.len() as u64) as usize;
                let sprite = &self.backgrounds[j];
                let scale = rng.uniform(0.5, 1.2) as f32;
                let centre = (
                    rng.uniform(0.0, w as f64) as f32,
                    rng.uniform(0.0, h as f64) as f32,
                );
                let angle = rng.uniform(0.0, std::f64::consts::TAU) as f32;
                let mirror = rng.next_f64() < 0.5;
                paste(&mut c, sprite, scale, angle, mirror, centre);
            }
            let c = image::imageops::blur(&c, rng.uniform(1.0, 5.0) as f32);
            let dim = rng.uniform(0.6, 1.1) as f32;
            map_pixels(c, |p| p.map(|v| v * dim))
        } else {
            leaf.image.clone()
        };
        let scale = rng.uniform(s.scale[0] as f64, s.scale[1] as f64) as f32;
        let shift = 0.08 * side;
        let centre = (
            w as f32 / 2.0 + rng.uniform(-shift as f64, shift as f64) as f32,
            h as f32 / 2.0 + rng.uniform(-shift as f64, shift as f64) as f32,
        );
        let angle = rng.uniform(0.0, std::f64::consts::TAU) as f32;
        let mirror = rng.next_f64() < 0.5;
        if s.background == "leaves" {
            paste(&mut canvas, leaf, scale, angle, mirror, centre);
        } else {
            // The board stays: the whole picture is rotated, mirrored and shifted (at its own
            // size; the corners it uncovers show the untransformed picture).
            let whole = Sprite {
                image: leaf.image.clone(),
                mask: vec![true; leaf.mask.len()],
            };
            paste(&mut canvas, &whole, 1.0, angle, mirror, centre);
        }
        jitter(canvas, s.jitter, rng)
    }
}

/// Brightness, contrast and saturation, each by a factor in `1 ± amount` (PIL's
/// `ImageEnhance` definitions: contrast about the mean grey, saturation about each pixel's grey).
fn jitter(image: RgbImage, amount: f32, rng: &mut SplitMix64) -> RgbImage {
    let mut draw = || rng.uniform(1.0 - amount as f64, 1.0 + amount as f64) as f32;
    let (b, c, s) = (draw(), draw(), draw());
    let grey = |p: [f32; 3]| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    let n = (image.width() * image.height()).max(1) as f32;
    let mean = image
        .pixels()
        .map(|p| grey(p.0.map(f32::from)))
        .sum::<f32>()
        / n
        * b;
    map_pixels(image, |p| {
        let p = p.map(|v| v * b);
        let p = p.map(|v| mean + (v - mean) * c);
        let g = grey(p);
        p.map(|v| g + (v - g) * s)
    })
}

fn map_pixels(mut image: RgbImage, f: impl Fn([f32; 3]) -> [f32; 3]) -> RgbImage {
    for p in image.pixels_mut() {
        let v = f(p.0.map(f32::from));
        p.0 = v.map(|x| x.round().clamp(0.0, 255.0) as u8);
    }
    image
}

/// Draws `sprite`'s leaf pixels onto `canvas`, scaled by `scale` (of the canvas's shorter side
/// over the sprite's), rotated by `angle` about its centre, optionally mirrored, centred at
/// `centre`; bilinear sampling, leaf pixels only.
fn paste(
    canvas: &mut RgbImage,
    sprite: &Sprite,
    scale: f32,
    angle: f32,
    mirror: bool,
    centre: (f32, f32),
) {
    let (cw, ch) = canvas.dimensions();
    let (sw, sh) = sprite.image.dimensions();
    let zoom = scale * cw.min(ch) as f32 / sw.min(sh) as f32;
    let (sin, cos) = angle.sin_cos();
    let (sx0, sy0) = (sw as f32 / 2.0, sh as f32 / 2.0);
    for y in 0..ch {
        for x in 0..cw {
            // Canvas → sprite: undo the shift, the rotation, the zoom, the mirror.
            let (dx, dy) = (x as f32 + 0.5 - centre.0, y as f32 + 0.5 - centre.1);
            let (rx, ry) = ((cos * dx + sin * dy) / zoom, (-sin * dx + cos * dy) / zoom);
            let rx = if mirror { -rx } else { rx };
            let (u, v) = (rx + sx0 - 0.5, ry + sy0 - 0.5);
            if u < 0.0 || v < 0.0 || u > (sw - 1) as f32 || v > (sh - 1) as f32 {
                continue;
            }
            if !sprite.is_leaf(u.round() as u32, v.round() as u32) {
                continue;
            }
            canvas.put_pixel(x, y, Rgb(bilinear(&sprite.image, u, v)));
        }
    }
}

fn bilinear(image: &RgbImage, u: f32, v: f32) -> [u8; 3] {
    let (w, h) = image.dimensions();
    let (x0, y0) = (u.floor() as u32, v.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (u - x0 as f32, v - y0 as f32);
    let p = |x, y| image.get_pixel(x, y).0.map(f32::from);
    let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
    std::array::from_fn(|i| {
        let top = a[i] * (1.0 - fx) + b[i] * fx;
        let bottom = c[i] * (1.0 - fx) + d[i] * fx;
        (top * (1.0 - fy) + bottom * fy).round() as u8
    })
}

/// Which pixels of a lab photo are leaf. The board is whatever colour dominates the image border
/// (per-channel median); a pixel is leaf when its chromaticity `rgb / (r + g + b)` is more than
/// 0.06 away from the board's (L1), or when it is green (`g > b + 8`, `g ≥ r − 5`) — so grey
/// shadows stay board. Specks are removed by an opening (two 3×3 erosions, two dilations), holes
/// (dark lesions) are filled — board is only what connects to the border — and the largest
/// connected piece is kept.
pub fn leaf_mask(image: &RgbImage) -> Vec<bool> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut border: Vec<[u8; 3]> = Vec::new();
    for x in 0..w {
        border.push(image.get_pixel(x as u32, 0).0);
        border.push(image.get_pixel(x as u32, (h - 1) as u32).0);
    }
    for y in 0..h {
        border.push(image.get_pixel(0, y as u32).0);
        border.push(image.get_pixel((w - 1) as u32, y as u32).0);
    }
    let board: [f32; 3] = std::array::from_fn(|c| {
        let mut v: Vec<u8> = border.iter().map(|p| p[c]).collect();
        v.sort_unstable();
        v[v.len() / 2] as f32
    });
    let chroma = |p: [f32; 3]| {
        let s = p[0] + p[1] + p[2] + 1e-3;
        p.map(|v| v / s)
    };
    let board_chroma = chroma(board);
    let mut leaf: Vec<bool> = image
        .pixels()
        .map(|p| {
            let p = p.0.map(f32::from);
            let c = chroma(p);
            let distance: f32 = (0..3).map(|i| (c[i] - board_chroma[i]).abs()).sum();
            let green = p[1] > p[2] + 8.0 && p[1] >= p[0] - 5.0;
            distance > 0.06 || green
        })
        .collect();
    for _ in 0..2 {
        leaf = morph(&leaf, w, h, false);
    }
    for _ in 0..2 {
        leaf = morph(&leaf, w, h, true);
    }
    let board = flood(w, h, |i| !leaf[i], border_indices(w, h));
    let filled: Vec<bool> = board.iter().map(|b| !b).collect();
    largest_piece(&filled, w, h)
}

/// 3×3 dilation (`grow`) or erosion; outside the image counts as not set.
fn morph(mask: &[bool], w: usize, h: usize, grow: bool) -> Vec<bool> {
    (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as isize, (i / w) as isize);
            let mut any = false;
            let mut all = true;
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let (nx, ny) = (x + dx, y + dy);
                    let v = nx >= 0
                        && ny >= 0
                        && (nx as usize) < w
                        && (ny as usize) < h
                        && mask[ny as usize * w + nx as usize];
                    any |= v;
                    all &= v;
                }
            }
            if grow { any } else { all }
        })
        .collect()
}

fn border_indices(w: usize, h: usize) -> Vec<usize> {
    let mut out: Vec<usize> = (0..w).flat_map(|x| [x, (h - 1) * w + x]).collect();
    out.extend((0..h).flat_map(|y| [y * w, y * w + w - 1]));
    out
}

/// Pixels reachable from `starts` through pixels where `open` holds (4-connected).
fn flood(w: usize, h: usize, open: impl Fn(usize) -> bool, starts: Vec<usize>) -> Vec<bool> {
    let mut seen = vec![false; w * h];
    let mut stack: Vec<usize> = starts.into_iter().filter(|&i| open(i)).collect();
    for &i in &stack {
        seen[i] = true;
    }
    while let Some(i) = stack.pop() {
        let (x, y) = (i % w, i / w);
        let mut visit = |j: usize| {
            if !seen[j] && open(j) {
                seen[j] = true;
                stack.push(j);
            }
        };
        if x > 0 {
            visit(i - 1);
        }
        if x + 1 < w {
            visit(i + 1);
        }
        if y > 0 {
            visit(i - w);
        }
        if y + 1 < h {
            visit(i + w);
        }
    }
    seen
}

/// The largest 4-connected set piece of `mask`.
fn largest_piece(mask: &[bool], w: usize, h: usize) -> Vec<bool> {
    let mut best: Vec<bool> = vec![false; w * h];
    let mut best_size = 0;
    let mut done = vec![false; w * h];
    for start in 0..w * h {
        if !mask[start] || done[start] {
            continue;
        }
        let piece = flood(w, h, |i| mask[i], vec![start]);
        let size = piece.iter().filter(|&&p| p).count();
        for (d, p) in done.iter_mut().zip(&piece) {
            *d |= *p;
        }
        if size > best_size {
            best_size = size;
            best = piece;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grey board with a green disc holding a dark lesion, and a small green speck.
    fn lab_photo() -> RgbImage {
        RgbImage::from_fn(64, 64, |x, y| {
            let (dx, dy) = (x as f32 - 32.0, y as f32 - 32.0);
            let r2 = dx * dx + dy * dy;
            if r2 < 16.0 {
                Rgb([40, 30, 20]) // lesion: dark brown, inside the leaf
            } else if r2 < 400.0 {
                Rgb([60, 140, 50])
            } else if (x, y) == (3, 60) {
                Rgb([50, 160, 40])
            } else {
                Rgb([150, 148, 160])
            }
        })
    }

    #[test]
    fn the_mask_is_the_leaf_with_its_lesion_and_without_specks() {
        let image = lab_photo();
        let mask = leaf_mask(&image);
        let at = |x: usize, y: usize| mask[y * 64 + x];
        assert!(at(32, 32), "the lesion is leaf (hole filled)");
        assert!(at(32, 20) && at(45, 32), "the disc is leaf");
        assert!(!at(2, 2) && !at(3, 60), "board and speck are not");
        let area = mask.iter().filter(|&&m| m).count() as f32;
        let disc = std::f32::consts::PI * 400.0;
        assert!((area - disc).abs() / disc < 0.15, "{area} vs {disc}");
    }

    #[test]
    fn views_are_seeded_and_replace_the_board() {
        let section = AugmentSection {
            views: 3,
            background: "leaves".into(),
            background_leaves: 4,
            scale: [0.6, 0.9],
            jitter: 0.2,
        };
        let photo = lab_photo();
        let a = Augmenter::new(&section, 7, vec![Sprite::cut(photo.clone())]).unwrap();
        let v1 = a.views_of(&photo, 5);
        let v2 = a.views_of(&photo, 5);
        assert_eq!(v1.len(), 3);
        assert!(
            v1.iter().zip(&v2).all(|(x, y)| x == y),
            "same seed, same views"
        );
        assert_ne!(v1[0], v1[1]);
        assert_ne!(v1[0], a.views_of(&photo, 6)[0]);
        // The grey board is gone: no pixel keeps its colour (150, 148, 160) ± 2.
        let board = v1[0]
            .pixels()
            .filter(|p| {
                let [r, g, b] = p.0;
                r.abs_diff(150) <= 2 && g.abs_diff(148) <= 2 && b.abs_diff(160) <= 2
            })
            .count();
        assert!(board < 20, "{board} board pixels left");
    }

    #[test]
    fn bad_settings_are_errors() {
        let mut s = AugmentSection {
            views: 0,
            background: "leaves".into(),
            background_leaves: 4,
            scale: [0.6, 0.9],
            jitter: 0.2,
        };
        assert!(s.check().is_err());
        s.views = 2;
        s.background = "sky".into();
        assert!(s.check().unwrap_err().to_string().contains("sky"));
    }
}
