//! Pointing game (Zhang et al., "Top-down neural attention by excitation backprop") and the
//! energy-based pointing game (Wang et al., Score-CAM).
//!
//! - Pointing game: the map's maximum (the first in row-major order on ties, like `np.argmax`)
//!   is a hit if some pixel of the object lies within `tolerance` pixels of it (Euclidean
//!   distance between pixel positions; Zhang et al. and TorchRay use 15 px).
//! - Energy-based pointing game: Σ_{object} map / Σ map, the share of the map's energy inside
//!   the object. Negative values are clamped to 0 first (CAM maps are already ≥ 0); a map with
//!   no positive energy scores 0. The map is taken as given: min–max normalise it first to
//!   follow Score-CAM exactly where the map's minimum is not 0.
//!
//! Objects are bounding boxes `(x0, y0, x1, y1)` in input-resolution pixels, half-open like
//! slices (pixel columns x0..x1, rows y0..y1), or a boolean mask at input resolution; several
//! boxes count as their union.

use crate::error::{Result, shape_error};
use ndarray::{Array2, ArrayView2};

const METRIC: &str = "pointing game";

/// The tolerance Zhang et al. use, in pixels.
pub const DEFAULT_TOLERANCE: f64 = 15.0;

/// An axis-aligned box in pixels: columns `x0..x1`, rows `y0..y1` (half-open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BoundingBox {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl BoundingBox {
    pub fn new(x0: usize, y0: usize, x1: usize, y1: usize) -> BoundingBox {
        BoundingBox { x0, y0, x1, y1 }
    }
}

/// Where the object is.
#[derive(Debug, Clone, PartialEq)]
pub enum Region {
    /// One or more boxes (their union).
    Boxes(Vec<BoundingBox>),
    /// A mask at input resolution (`[H,W]`, true on the object).
    Mask(Array2<bool>),
}

impl Region {
    /// The region as a mask of `h × w` pixels (boxes are clipped to the image).
    pub fn to_mask(&self, h: usize, w: usize) -> Result<Array2<bool>> {
        match self {
            Region::Mask(m) => {
                if m.dim() != (h, w) {
                    return Err(shape_error(
                        METRIC,
                        format!("the object mask is {:?} but the map is {h}×{w}", m.shape()),
                    ));
                }
                Ok(m.clone())
            }
            Region::Boxes(boxes) => {
                let mut m = Array2::from_elem((h, w), false);
                for b in boxes {
                    let (x1, y1) = (b.x1.min(w), b.y1.min(h));
                    if b.x0 < x1 && b.y0 < y1 {
                        m.slice_mut(ndarray::s![b.y0..y1, b.x0..x1]).fill(true);
                    }
                }
                Ok(m)
            }
        }
    }
}

/// One pointing-game trial.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PointingResult {
    pub hit: bool,
    /// (row, column) of the map's maximum.
    pub peak: (usize, usize),
    /// Distance in pixels from the peak to the nearest object pixel (0 inside); infinite for an
    /// empty object.
    pub distance: f64,
}

/// Position of the maximum, first in row-major order on ties; NaN values are skipped.
pub fn peak(map: ArrayView2<f32>) -> (usize, usize) {
    let w = map.ncols().max(1);
    let mut best = (0, f32::NEG_INFINITY);
    for (k, &v) in map.iter().enumerate() {
        if v > best.1 {
            best = (k, v);
        }
    }
    (best.0 / w, best.0 % w)
}

/// Pointing game: hit when an object pixel lies within `tolerance` pixels of the map's peak.
pub fn pointing_game(
    map: ArrayView2<f32>,
    region: &Region,
    tolerance: f64,
) -> Result<PointingResult> {
    let (h, w) = map.dim();
    let mask = region.to_mask(h, w)?;
    let (py, px) = peak(map);
    let mut best = f64::INFINITY;
    let r = tolerance.max(0.0).ceil() as usize;
    // Inside the tolerance square first; beyond it only the exact distance is reported.
    let scan = |y0: usize, y1: usize, x0: usize, x1: usize, best: &mut f64| {
        for y in y0..y1 {
            for x in x0..x1 {
                if mask[[y, x]] {
                    let d =
                        ((y as f64 - py as f64).powi(2) + (x as f64 - px as f64).powi(2)).sqrt();
                    if d < *best {
                        *best = d;
                    }
                }
            }
        }
    };
    scan(
        py.saturating_sub(r),
        (py + r + 1).min(h),
        px.saturating_sub(r),
        (px + r + 1).min(w),
        &mut best,
    );
    if best > tolerance {
        scan(0, h, 0, w, &mut best);
    }
    Ok(PointingResult {
        hit: best <= tolerance,
        peak: (py, px),
        distance: best,
    })
}

/// Energy-based pointing game: the share of the (non-negative part of the) map inside the object.
pub fn energy_pointing_game(map: ArrayView2<f32>, region: &Region) -> Result<f64> {
    let (h, w) = map.dim();
    let mask = region.to_mask(h, w)?;
    let (mut inside, mut total) = (0.0f64, 0.0f64);
    for (&v, &m) in map.iter().zip(mask.iter()) {
        let e = v.max(0.0) as f64;
        total += e;
        if m {
            inside += e;
        }
    }
    Ok(if total > 0.0 { inside / total } else { 0.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_misses_and_tolerance() {
        let mut map = Array2::<f32>::zeros((64, 64));
        map[[10, 40]] = 1.0;
        let bbox = Region::Boxes(vec![BoundingBox::new(0, 0, 30, 30)]);
        // Peak at column 40: nearest box pixel is column 29 of row 10 → distance 11.
        let r = pointing_game(map.view(), &bbox, DEFAULT_TOLERANCE).unwrap();
        assert_eq!(r.peak, (10, 40));
        assert!(r.hit);
        assert_eq!(r.distance, 11.0);
        let r = pointing_game(map.view(), &bbox, 10.0).unwrap();
        assert!(!r.hit);
        assert_eq!(r.distance, 11.0);
        let far = Region::Boxes(vec![BoundingBox::new(60, 60, 64, 64)]);
        let r = pointing_game(map.view(), &far, 15.0).unwrap();
        assert!(!r.hit);
        assert!((r.distance - (50.0f64 * 50.0 + 20.0 * 20.0).sqrt()).abs() < 1e-12);
        // Ties: first in row-major order.
        map[[5, 50]] = 1.0;
        assert_eq!(peak(map.view()), (5, 50));
    }

    #[test]
    fn energy_share() {
        let mut map = Array2::<f32>::zeros((4, 4));
        map[[0, 0]] = 3.0;
        map[[3, 3]] = 1.0;
        map[[2, 2]] = -5.0;
        let bbox = Region::Boxes(vec![BoundingBox::new(0, 0, 2, 2)]);
        assert_eq!(energy_pointing_game(map.view(), &bbox).unwrap(), 0.75);
        let mut mask = Array2::from_elem((4, 4), false);
        mask[[3, 3]] = true;
        assert_eq!(
            energy_pointing_game(map.view(), &Region::Mask(mask)).unwrap(),
            0.25
        );
        assert!(
            energy_pointing_game(map.view(), &Region::Mask(Array2::from_elem((2, 2), true)))
                .is_err()
        );
        assert_eq!(
            energy_pointing_game(Array2::zeros((4, 4)).view(), &bbox).unwrap(),
            0.0
        );
    }
}
