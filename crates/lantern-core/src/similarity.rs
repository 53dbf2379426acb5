//! Ranking and similarity of maps: the stable pixel order of a map, Spearman rank correlation,
//! SSIM (scikit-image's), quantiles and the overlap of two maps' top fractions. Here, at the
//! bottom of the dependency graph, so that the metrics and the methods that report their own
//! fidelity (approximate occlusion) share one implementation.

use ndarray::{Array2, ArrayView2, Zip};

/// Flat indices of `values` sorted by DESCENDING value, ties by ascending index — NumPy's
/// `np.argsort(-values, kind='stable')`. NaN sorts last.
pub fn argsort_descending(values: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    // `sort_by` is stable, so equal values keep their index order.
    order.sort_by(|&a, &b| {
        let (va, vb) = (values[a], values[b]);
        match (va.is_nan(), vb.is_nan()) {
            (false, false) => vb.partial_cmp(&va).expect("not NaN"),
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
        }
    });
    order
}

/// Ranks (1-based) with ties given their average rank — `scipy.stats.rankdata(method='average')`.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && values[order[j]] == values[order[i]] {
            j += 1;
        }
        // positions i..j (0-based) share ranks i+1..=j; their mean is (i + 1 + j) / 2.
        let rank = (i + 1 + j) as f64 / 2.0;
        for &k in &order[i..j] {
            ranks[k] = rank;
        }
        i = j;
    }
    ranks
}

/// Pearson correlation; `NaN` when either side is constant (as SciPy returns).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "pearson: lengths differ");
    let n = a.len() as f64;
    if a.is_empty() {
        return f64::NAN;
    }
    let ma = a.iter().sum::<f64>() / n;
    let mb = b.iter().sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa == 0.0 || sbb == 0.0 {
        return f64::NAN;
    }
    (sab / (saa.sqrt() * sbb.sqrt())).clamp(-1.0, 1.0)
}

/// Spearman rank correlation (`scipy.stats.spearmanr`): Pearson correlation of average ranks.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&average_ranks(a), &average_ranks(b))
}

/// Spearman rank correlation of two maps, of their values or of their absolute values.
pub fn spearman_maps(a: ArrayView2<f32>, b: ArrayView2<f32>, absolute: bool) -> f64 {
    let prep = |m: ArrayView2<f32>| -> Vec<f64> {
        m.iter()
            .map(|&v| if absolute { v.abs() as f64 } else { v as f64 })
            .collect()
    };
    spearman(&prep(a), &prep(b))
}

/// The `q`-quantile (0 ≤ q ≤ 1) with linear interpolation between order statistics — NumPy's
/// default `np.quantile`; `q = 0.5` is `np.median`.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    quantile_sorted(&sorted, q)
}

/// [`quantile`] on already sorted values.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

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

/// Intersection over union of the pixels in the top `fraction` of each map (by value, ties by
/// ascending flat index as [`argsort_descending`]; ⌈fraction · n⌉ pixels each).
pub fn top_fraction_iou(a: ArrayView2<f32>, b: ArrayView2<f32>, fraction: f64) -> f64 {
    assert_eq!(a.dim(), b.dim(), "top_fraction_iou: shapes differ");
    let n = a.len();
    let k = ((fraction.clamp(0.0, 1.0) * n as f64).ceil() as usize).clamp(1, n.max(1));
    let top = |m: ArrayView2<f32>| -> Vec<bool> {
        let values: Vec<f32> = m.iter().copied().collect();
        let mut inside = vec![false; n];
        for &i in &argsort_descending(&values)[..k.min(n)] {
            inside[i] = true;
        }
        inside
    };
    let (ta, tb) = (top(a), top(b));
    let both = ta.iter().zip(&tb).filter(|(x, y)| **x && **y).count();
    let either = ta.iter().zip(&tb).filter(|(x, y)| **x || **y).count();
    if either == 0 {
        f64::NAN
    } else {
        both as f64 / either as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::minmax;
    use ndarray::array;

    #[test]
    fn top_fraction_overlap() {
        let a = array![[4.0f32, 3.0], [2.0, 1.0]];
        let b = array![[4.0f32, 1.0], [3.0, 2.0]];
        assert_eq!(top_fraction_iou(a.view(), a.view(), 0.5), 1.0);
        // Top halves {0, 1} and {0, 2}: one shared of three.
        assert!((top_fraction_iou(a.view(), b.view(), 0.5) - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn argsort_is_stable_descending() {
        assert_eq!(
            argsort_descending(&[1.0, 3.0, 3.0, 0.0, 3.0]),
            vec![1, 2, 4, 0, 3]
        );
        assert_eq!(argsort_descending(&[0.0, f32::NAN, 2.0]), vec![2, 0, 1]);
    }

    #[test]
    fn ranks_average_ties() {
        assert_eq!(
            average_ranks(&[10.0, 20.0, 10.0, 5.0]),
            vec![2.5, 4.0, 2.5, 1.0]
        );
    }

    #[test]
    fn spearman_known_values() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!((spearman(&a, &[5.0, 6.0, 7.0, 8.0, 7.0]) - 0.820_782_681_668_123_6).abs() < 1e-12);
        assert!((spearman(&a, &[5.0, 4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert!(spearman(&a, &[1.0; 5]).is_nan());
    }

    #[test]
    fn quantile_matches_numpy() {
        assert_eq!(quantile(&[3.0, 1.0, 2.0, 4.0], 0.5), 2.5);
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), 2.0);
        assert!((quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.975) - 4.9).abs() < 1e-12);
    }

    #[test]
    fn reflect_is_half_sample_symmetric() {
        let idx: Vec<usize> = (-4..8).map(|i| reflect_index(i, 4)).collect();
        assert_eq!(idx, vec![3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0]);
    }

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
