//! Structural similarity of two maps, as scikit-image computes it.

use crate::gaussian::{filter_reflect, gaussian_taps};
use ndarray::{Array2, ArrayView2, Zip};

/// Mean structural similarity of two maps as scikit-image's
/// `structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
/// data_range=data_range)`: Gaussian window (σ 1.5, truncate 3.5 → 11 taps, mode 'reflect'),
/// K1 = 0.01, K2 = 0.03, population covariances, and the mean over the map with a 5-pixel
/// border cropped (`crop(S, (win_size − 1) // 2)`), all in float64.
pub fn ssim(a: ArrayView2<f32>, b: ArrayView2<f32>, data_range: f64) -> f64 {
    assert_eq!(a.dim(), b.dim(), "ssim: shapes differ");
    let taps = gaussian_taps(1.5, 3.5);
    let x = a.mapv(|v| v as f64);
    let y = b.mapv(|v| v as f64);
    let filt = |m: &Array2<f64>| filter_reflect(m, &taps);
    let ux = filt(&x);
    let uy = filt(&y);
    let uxx = filt(&(&x * &x));
    let uyy = filt(&(&y * &y));
    let uxy = filt(&(&x * &y));
    let c1 = (0.01 * data_range).powi(2);
    let c2 = (0.03 * data_range).powi(2);
    let mut s = Array2::<f64>::zeros(x.raw_dim());
    Zip::from(&mut s)
        .and(&ux)
        .and(&uy)
        .and(&uxx)
        .and(&uyy)
        .and(&uxy)
        .for_each(|s, &ux, &uy, &uxx, &uyy, &uxy| {
            let vx = uxx - ux * ux;
            let vy = uyy - uy * uy;
            let vxy = uxy - ux * uy;
            let num = (2.0 * ux * uy + c1) * (2.0 * vxy + c2);
            let den = (ux * ux + uy * uy + c1) * (vx + vy + c2);
            *s = num / den;
        });
    let pad = (taps.len() - 1) / 2;
    let (h, w) = s.dim();
    if h <= 2 * pad || w <= 2 * pad {
        return s.mean().unwrap_or(f64::NAN);
    }
    s.slice(ndarray::s![pad..h - pad, pad..w - pad])
        .mean()
        .unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_core::normalise::minmax;
    use ndarray::array;

    #[test]
    fn ssim_identity_and_range() {
        let a = Array2::from_shape_fn((20, 20), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 10.0);
        assert!((ssim(a.view(), a.view(), 1.0) - 1.0).abs() < 1e-12);
        let b = a.mapv(|v| 1.0 - v);
        let s = ssim(a.view(), b.view(), 1.0);
        assert!(s < 0.0, "inverted map should anti-correlate, got {s}");
        // Value from a NumPy transcription of skimage's algorithm (np.pad 'symmetric' + 11 taps).
        let a = Array2::from_shape_fn((20, 24), |(i, j)| {
            (((i * 7 + j * 3) % 11) as f64 / 10.0) as f32
        });
        let b = Array2::from_shape_fn((20, 24), |(i, j)| {
            (0.6 * a[[i, j]] as f64 + 0.4 * (((i * 5 + j * 2) % 13) as f64 / 12.0)) as f32
        });
        let s = ssim(a.view(), b.view(), 1.0);
        assert!((s - 0.789_216_273_031_549_7).abs() < 1e-6, "{s}");
        let m = minmax(array![[2.0f32, 4.0], [6.0, 2.0]].view());
        assert_eq!(m, array![[0.0f32, 0.5], [1.0, 0.0]]);
    }
}
