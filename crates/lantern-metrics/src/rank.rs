//! Ranking helpers shared by the metrics: the stable pixel order of a map, Spearman rank
//! correlation, min–max normalisation and quantiles.

pub use lantern_core::normalise::minmax;
use ndarray::ArrayView2;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
