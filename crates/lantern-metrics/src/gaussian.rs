//! SciPy's `gaussian_filter` in float64: the taps, the 'reflect' border and the separable
//! filter, shared by SSIM ([`crate::ssim`]) and the blurred baselines ([`crate::blur`]).

use ndarray::Array2;

/// 1-D Gaussian taps as SciPy's `gaussian_filter` builds them: radius `int(truncate·σ + 0.5)`,
/// `exp(−x²/2σ²)` normalised to sum 1, in float64.
pub fn gaussian_taps(sigma: f64, truncate: f64) -> Vec<f64> {
    let radius = (truncate * sigma + 0.5) as i64;
    let taps: Vec<f64> = (-radius..=radius)
        .map(|x| (-0.5 / (sigma * sigma) * (x * x) as f64).exp())
        .collect();
    let sum: f64 = taps.iter().sum();
    taps.into_iter().map(|t| t / sum).collect()
}

/// SciPy's `mode='reflect'` index (half-sample symmetric: `d c b a | a b c d | d c b a`).
pub fn reflect_index(i: i64, n: usize) -> usize {
    let n = n as i64;
    if n == 1 {
        return 0;
    }
    let period = 2 * n;
    let mut k = i.rem_euclid(period);
    if k >= n {
        k = period - 1 - k;
    }
    k as usize
}

/// Separable correlation of a 2-D float64 array with `taps` along both axes, mode 'reflect'
/// (`scipy.ndimage.gaussian_filter` with these taps: axis 0 first, then axis 1).
pub fn filter_reflect(input: &Array2<f64>, taps: &[f64]) -> Array2<f64> {
    let (h, w) = input.dim();
    let r = (taps.len() / 2) as i64;
    let mut rows = Array2::<f64>::zeros((h, w));
    for i in 0..h {
        for j in 0..w {
            let mut acc = 0.0;
            for (t, &k) in taps.iter().enumerate() {
                acc += k * input[[reflect_index(i as i64 + t as i64 - r, h), j]];
            }
            rows[[i, j]] = acc;
        }
    }
    let mut out = Array2::<f64>::zeros((h, w));
    for i in 0..h {
        for j in 0..w {
            let mut acc = 0.0;
            for (t, &k) in taps.iter().enumerate() {
                acc += k * rows[[i, reflect_index(j as i64 + t as i64 - r, w)]];
            }
            out[[i, j]] = acc;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_is_half_sample_symmetric() {
        let idx: Vec<usize> = (-4..8).map(|i| reflect_index(i, 4)).collect();
        assert_eq!(idx, vec![3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0]);
    }
}
