//! Resizing maps the way the reference libraries do.
//!
//! - [`bilinear`]: torch `F.interpolate(mode="bilinear", align_corners=False)`: source coordinate
//!   `(dst + 0.5)·in/out − 0.5` (half-pixel centres), clamped at 0 below; the upper neighbour is
//!   clamped at `in − 1`. Used for every CAM map at input resolution (pytorch-grad-cam's
//!   `grad-cam-up`), and equal to OpenCV's `INTER_LINEAR` when upsampling.
//! - [`bilinear_align_corners`]: torch `nn.UpsamplingBilinear2d` (align_corners=True): source
//!   `dst·(in − 1)/(out − 1)`; Score-CAM's masks.
//! - [`nearest`]: torch `F.interpolate(mode="nearest")`: source `floor(dst·in/out)`; Captum's
//!   default for `GuidedGradCam`.
//! - [`display_map`]: pytorch-grad-cam's returned (display) map,
//!   `minmax(max(cv2.resize(minmax(raw)), 0))` with `minmax(m) = (m − min)/(1e-7 + max(m − min))`.
//!
//! Arithmetic follows torch's CPU kernel: f32 coordinates and weights, each output row mixed as
//! `h0·(w0·a + w1·b) + h1·(w0·c + w1·d)`.

use lantern_core::normalise::minmax_grad_cam;
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis, Zip};
use rayon::prelude::*;

/// For each output index: (low source index, high source index, low weight, high weight).
type Taps = Vec<(usize, usize, f32, f32)>;

fn linear_taps(input: usize, output: usize, align_corners: bool) -> Taps {
    let scale = if align_corners {
        if output > 1 {
            (input as f32 - 1.0) / (output as f32 - 1.0)
        } else {
            0.0
        }
    } else {
        input as f32 / output as f32
    };
    (0..output)
        .map(|d| {
            let src = if align_corners {
                scale * d as f32
            } else {
                (scale * (d as f32 + 0.5) - 0.5).max(0.0)
            };
            let lo = (src.floor() as usize).min(input - 1);
            let hi = if lo < input - 1 { lo + 1 } else { lo };
            let lambda = (src - lo as f32).clamp(0.0, 1.0);
            (lo, hi, 1.0 - lambda, lambda)
        })
        .collect()
}

fn resample(map: ArrayView2<f32>, rows: &Taps, cols: &Taps) -> Array2<f32> {
    let mut out = Array2::<f32>::zeros((rows.len(), cols.len()));
    out.axis_iter_mut(Axis(0))
        .zip(rows)
        .for_each(|(mut line, &(r0, r1, h0, h1))| {
            for (v, &(c0, c1, w0, w1)) in line.iter_mut().zip(cols) {
                let top = w0 * map[[r0, c0]] + w1 * map[[r0, c1]];
                let bottom = w0 * map[[r1, c0]] + w1 * map[[r1, c1]];
                *v = h0 * top + h1 * bottom;
            }
        });
    out
}

/// torch bilinear, align_corners=False (half-pixel centres, clamped).
pub fn bilinear(map: ArrayView2<f32>, height: usize, width: usize) -> Array2<f32> {
    torch_bilinear(map, (height, width), false)
}

/// torch bilinear, align_corners=True (`nn.UpsamplingBilinear2d`).
pub fn bilinear_align_corners(map: ArrayView2<f32>, height: usize, width: usize) -> Array2<f32> {
    torch_bilinear(map, (height, width), true)
}

fn torch_bilinear(
    map: ArrayView2<f32>,
    (height, width): (usize, usize),
    corners: bool,
) -> Array2<f32> {
    let (h, w) = map.dim();
    resample(
        map,
        &linear_taps(h, height, corners),
        &linear_taps(w, width, corners),
    )
}

/// Every channel of `[K,h,w]` resized the same way (in parallel).
pub fn bilinear_channels(
    maps: ArrayView3<f32>,
    height: usize,
    width: usize,
    align_corners: bool,
) -> Array3<f32> {
    let (k, h, w) = maps.dim();
    let rows = linear_taps(h, height, align_corners);
    let cols = linear_taps(w, width, align_corners);
    let mut out = Array3::<f32>::zeros((k, height, width));
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(maps.axis_iter(Axis(0)).into_par_iter())
        .for_each(|(mut dst, src)| dst.assign(&resample(src, &rows, &cols)));
    out
}

/// torch nearest (legacy `mode="nearest"`): source index `min(floor(dst·in/out), in − 1)`.
pub fn nearest(map: ArrayView2<f32>, height: usize, width: usize) -> Array2<f32> {
    let (h, w) = map.dim();
    let index = |input: usize, output: usize, d: usize| {
        let scale = input as f32 / output as f32;
        ((d as f32 * scale).floor() as usize).min(input - 1)
    };
    Array2::from_shape_fn((height, width), |(r, c)| {
        map[[index(h, height, r), index(w, width, c)]]
    })
}

/// The map pytorch-grad-cam returns for display: `minmax(max(resize(minmax(raw)), 0))`, resize
/// = OpenCV `INTER_LINEAR` (identical to [`bilinear`] when upsampling). A constant raw map gives
/// all zeros. For figures and tests only; methods return raw maps.
pub fn display_map(raw: ArrayView2<f32>, height: usize, width: usize) -> Array2<f32> {
    let mut up = bilinear(minmax_grad_cam(raw).view(), height, width);
    up.mapv_inplace(|v| v.max(0.0));
    minmax_grad_cam(up.view())
}

/// Elementwise `max(·, 0)`.
pub fn relu(mut map: Array2<f32>) -> Array2<f32> {
    map.mapv_inplace(|v| v.max(0.0));
    map
}

/// Mean of several equally shaped maps.
pub fn mean_maps(maps: &[Array2<f32>]) -> Array2<f32> {
    let mut total = Array2::<f32>::zeros(maps[0].dim());
    for m in maps {
        Zip::from(&mut total).and(m).for_each(|t, &v| *t += v);
    }
    total / maps.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn half_pixel_upsampling_matches_torch() {
        // torch.nn.functional.interpolate(torch.tensor([[[[1.,2.],[3.,4.]]]]), size=(4,4),
        // mode="bilinear", align_corners=False)
        let up = bilinear(array![[1.0f32, 2.0], [3.0, 4.0]].view(), 4, 4);
        let want = array![
            [1.0f32, 1.25, 1.75, 2.0],
            [1.5, 1.75, 2.25, 2.5],
            [2.5, 2.75, 3.25, 3.5],
            [3.0, 3.25, 3.75, 4.0]
        ];
        assert!(
            up.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-6),
            "{up:?}"
        );
    }

    #[test]
    fn align_corners_hits_the_corners() {
        let up = bilinear_align_corners(array![[1.0f32, 2.0], [3.0, 4.0]].view(), 3, 3);
        let want = array![[1.0f32, 1.5, 2.0], [2.0, 2.5, 3.0], [3.0, 3.5, 4.0]];
        assert_eq!(up, want);
    }

    #[test]
    fn nearest_repeats_blocks() {
        let up = nearest(array![[1.0f32, 2.0], [3.0, 4.0]].view(), 4, 4);
        assert_eq!(up.row(1).to_vec(), vec![1.0, 1.0, 2.0, 2.0]);
        assert_eq!(up.row(2).to_vec(), vec![3.0, 3.0, 4.0, 4.0]);
    }

    #[test]
    fn display_map_of_constant_is_zero() {
        let d = display_map(Array2::from_elem((7, 7), 3.0f32).view(), 224, 224);
        assert!(d.iter().all(|&v| v == 0.0));
        let d = display_map(array![[0.0f32, 1.0], [2.0, 4.0]].view(), 8, 8);
        let max = d.iter().copied().fold(0.0f32, f32::max);
        assert!((max - 1.0).abs() < 1e-6 && d.iter().all(|&v| v >= 0.0));
    }
}
