//! Min–max normalisations of a map to [0, 1] shared across crates. Two conventions are in use,
//! each pinned by its callers' outputs, so both stay, side by side:
//! - [`minmax`]: exact `(v − lo)/(hi − lo)`; a constant map (or a non-finite range) gives all
//!   zeros. Metrics compare normalised maps with it (sanity checks, confidence masks).
//! - [`minmax_grad_cam`]: pytorch-grad-cam's `scale_cam_image`, `(m − min)/(1e-7 + max(m − min))`
//!   (never divides by zero; a constant map gives zeros). CAM display maps match the reference.
//!
//! lantern-plot's display normalisation (`minmax_normalise`: finite values only, clamped) is a
//! third convention used by nothing but figures, so it stays in lantern-plot.

use ndarray::{Array2, ArrayView2};

/// Min–max normalisation to [0, 1]; a constant map becomes all zeros.
pub fn minmax(map: ArrayView2<f32>) -> Array2<f32> {
    let (lo, hi) = map
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let span = hi - lo;
    if !span.is_finite() || span <= 0.0 {
        return Array2::zeros(map.raw_dim());
    }
    map.mapv(|v| (v - lo) / span)
}

/// pytorch-grad-cam's `scale_cam_image` normalisation: `(m − min)/(1e-7 + max(m − min))`.
pub fn minmax_grad_cam(map: ArrayView2<f32>) -> Array2<f32> {
    let min = map.iter().copied().fold(f32::INFINITY, f32::min);
    let shifted = map.mapv(|v| v - min);
    let max = shifted.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    shifted.mapv(|v| v / (1e-7 + max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn the_two_conventions_agree_on_a_plain_map_up_to_the_epsilon() {
        let map = array![[2.0f32, 4.0], [6.0, 2.0]];
        assert_eq!(minmax(map.view()), array![[0.0f32, 0.5], [1.0, 0.0]]);
        // 4 / (4 + 1e-7) rounds to 1 in f32; on a span of 0.5 the epsilon shows.
        let g = minmax_grad_cam(map.view());
        assert!((g[[1, 0]] - 1.0).abs() < 1e-6);
        let small = minmax_grad_cam(array![[0.0f32, 0.5]].view());
        assert!(small[[0, 1]] < 1.0 && (small[[0, 1]] - 1.0).abs() < 1e-6);
        assert_eq!(
            minmax_grad_cam(array![[3.0f32, 3.0]].view()),
            array![[0.0f32, 0.0]]
        );
    }
}
