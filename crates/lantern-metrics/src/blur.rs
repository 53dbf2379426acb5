//! The RISE blur used as the insertion start image: `gkern(11, 5)` applied per channel.
//!
//! RISE builds its kernel by smoothing an 11×11 float64 delta (1 at the centre) with
//! `scipy.ndimage.gaussian_filter(·, sigma=5)` under SciPy's defaults — mode 'reflect'
//! (half-sample symmetric) and truncate 4, i.e. 41 taps — so the σ-5 tails fold back into the
//! window and the kernel is nearly flat (centre 0.0088, not a truncated Gaussian's 0.0119).
//! The float64 result is cast to float32 and applied per channel as
//! `F.conv2d(x, kern, padding=5)`: a cross-correlation with ZERO padding in model-input space.

use crate::gaussian::{filter_reflect, gaussian_taps};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis};
use rayon::prelude::*;

/// RISE's `gkern(klen, nsig)`: a `klen × klen` delta smoothed by SciPy's `gaussian_filter` with
/// `sigma = nsig` (mode 'reflect', truncate 4), cast to float32.
pub fn rise_kernel(klen: usize, nsig: f64) -> Array2<f32> {
    let mut delta = Array2::<f64>::zeros((klen, klen));
    delta[[klen / 2, klen / 2]] = 1.0;
    let taps = gaussian_taps(nsig, 4.0);
    filter_reflect(&delta, &taps).mapv(|v| v as f32)
}

/// The default insertion kernel, `gkern(11, 5)`.
pub fn default_kernel() -> Array2<f32> {
    rise_kernel(11, 5.0)
}

/// Cross-correlates every channel of a `[C,H,W]` image with `kernel` (odd size k), zero padding
/// k/2, same output size — PyTorch's `conv2d(x, kern, padding=k//2)` with a per-channel kernel.
/// Accumulates in float32 in kernel row-major order.
pub fn blur_image(image: ArrayView3<f32>, kernel: ArrayView2<f32>) -> Array3<f32> {
    let (c, h, w) = image.dim();
    let (kh, kw) = kernel.dim();
    let (ph, pw) = (kh / 2, kw / 2);
    let mut out = Array3::<f32>::zeros((c, h, w));
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(image.axis_iter(Axis(0)).into_par_iter())
        .for_each(|(mut dst, src)| {
            // Zero-padded copy of the channel so the inner loop has no bounds tests.
            let mut padded = Array2::<f32>::zeros((h + 2 * ph, w + 2 * pw));
            padded
                .slice_mut(ndarray::s![ph..ph + h, pw..pw + w])
                .assign(&src);
            for i in 0..h {
                for j in 0..w {
                    let mut acc = 0.0f32;
                    for a in 0..kh {
                        let row = padded.row(i + a);
                        for b in 0..kw {
                            acc += kernel[[a, b]] * row[j + b];
                        }
                    }
                    dst[[i, j]] = acc;
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_matches_the_published_taps() {
        // g from the reference README; k = g gᵀ.
        let g = [
            0.087_958_145_8,
            0.088_896_119_8,
            0.090_474_196_5,
            0.092_191_117_8,
            0.093_489_388_4,
            0.093_982_063_3,
        ];
        let k = default_kernel();
        assert_eq!(k.dim(), (11, 11));
        for i in 0..11 {
            for j in 0..11 {
                let gi = g[if i <= 5 { i } else { 10 - i }];
                let gj = g[if j <= 5 { j } else { 10 - j }];
                assert!((k[[i, j]] as f64 - gi * gj).abs() < 1e-9, "({i},{j})");
            }
        }
        let sum: f64 = k.iter().map(|&v| v as f64).sum();
        assert!((sum - 1.0).abs() < 1e-6);
    }

    #[test]
    fn blur_of_a_constant_shows_zero_padding() {
        let img = Array3::<f32>::ones((1, 20, 20));
        let k = default_kernel();
        let b = blur_image(img.view(), k.view());
        assert!((b[[0, 10, 10]] - 1.0).abs() < 1e-5);
        // A corner sees only the lower-right 6×6 quarter of the kernel.
        let corner: f32 = k.slice(ndarray::s![5.., 5..]).sum();
        assert!((b[[0, 0, 0]] - corner).abs() < 1e-6);
    }
}
