//! Outlier clipping for display, as Captum's `visualize_image_attr` does it
//! (`captum.attr._utils.visualization._cumulative_sum_threshold`): the values are sorted, and the
//! threshold is the first value at which their running sum reaches `percentile` % of the total.
//! Values above it saturate the colormap. One hot pixel (a gradient outlier) would otherwise
//! stretch a linear scale so far that the rest of the map is a dark field.

/// Captum's threshold of non-negative `values` at `percentile` (0..=100): the smallest sorted
/// value whose cumulative sum is at least `percentile / 100` of the sum. `None` when there is
/// no finite value or the sum is 0.
pub fn cumulative_sum_threshold(values: impl Iterator<Item = f32>, percentile: f32) -> Option<f32> {
    let mut sorted: Vec<f32> = values.filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f32::total_cmp);
    let total: f64 = sorted.iter().map(|&v| v as f64).sum();
    if total <= 0.0 {
        return None;
    }
    let target = total * 0.01 * percentile.clamp(0.0, 100.0) as f64;
    let mut running = 0.0f64;
    for &v in &sorted {
        running += v as f64;
        if running >= target {
            return Some(v);
        }
    }
    sorted.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_captum_on_a_small_example() {
        // numpy: sorted [1,1,1,1,96], cumsum [1,2,3,4,100]; 99 % of 100 is reached at 96,
        // 4 % at the fourth 1.
        let v = [96.0f32, 1.0, 1.0, 1.0, 1.0];
        assert_eq!(cumulative_sum_threshold(v.into_iter(), 99.0), Some(96.0));
        assert_eq!(cumulative_sum_threshold(v.into_iter(), 4.0), Some(1.0));
        assert_eq!(cumulative_sum_threshold(v.into_iter(), 100.0), Some(96.0));
    }

    #[test]
    fn an_outlier_is_clipped() {
        // 1000 values 1..=1000 and one of 1e6: the outlier carries most of the sum at 99 %,
        // so it is the threshold; at 30 % the threshold falls inside the ordinary values.
        let values: Vec<f32> = (1..=1000).map(|i| i as f32).chain([1.0e6]).collect();
        let t = cumulative_sum_threshold(values.iter().copied(), 30.0).unwrap();
        assert!(t < 1000.0, "{t}");
        assert_eq!(
            cumulative_sum_threshold([0.0f32, 0.0].into_iter(), 99.0),
            None
        );
        assert_eq!(cumulative_sum_threshold([f32::NAN].into_iter(), 99.0), None);
    }
}
