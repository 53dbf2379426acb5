//! Tick positions and tick labels for numeric axes and colour bars.
//!
//! plotters chooses ticks itself, but its labels for small or large floats are long and
//! inconsistent; attribution maps range from 1e-6 (raw gradients) to 1e3, so ticks are chosen
//! and formatted here and handed to plotters as fixed key points.

/// Up to about `target` evenly spaced "nice" values (steps of 1, 2, 2.5 or 5 × 10^k) inside
/// `lo..=hi`. A degenerate range gives the single value `lo`.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !lo.is_finite() || !hi.is_finite() {
        return Vec::new();
    }
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if hi - lo <= f64::EPSILON * lo.abs().max(hi.abs()).max(f64::MIN_POSITIVE) {
        return vec![lo];
    }
    let step = nice_step((hi - lo) / target.max(2) as f64);
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    // `k * step` can land a hair away from the round value (0.6000000000000001); rounding to
    // one decimal more than the step needs gives back the value a person would write.
    let scale = 10f64.powi((1 - step.log10().floor() as i32).max(0));
    (first..=last)
        .map(|k| {
            let v = ((k as f64 * step) * scale).round() / scale;
            if v == 0.0 { 0.0 } else { v }
        })
        .collect()
}

/// The smallest of 1, 2, 2.5, 5 (× 10^k) that is at least `raw`.
pub(crate) fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|&n| n >= fraction - 1e-12)
        .unwrap_or(10.0);
    nice * magnitude
}

/// Ticks for a log10 axis over the positive range `lo..=hi`, as values (not logarithms):
/// powers of ten, with 2× and 5× added when the range spans fewer than three decades, so a
/// narrow log axis still has labels.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi >= lo && hi.is_finite()) {
        return Vec::new();
    }
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    let inside = |multipliers: &[f64]| -> Vec<f64> {
        (first..=last)
            .flat_map(|e| multipliers.iter().map(move |m| m * 10f64.powi(e)))
            .filter(|v| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9))
            .collect()
    };
    let mut ticks = inside(&[1.0]);
    if ticks.len() < 3 {
        ticks = inside(&[1.0, 2.0, 5.0]);
    }
    if ticks.len() < 2 {
        // Less than one "nice" value inside: fall back to the range ends.
        ticks = vec![lo, hi];
    }
    ticks
}

/// Labels for a set of ticks, with one shared number of decimals chosen from the spacing so
/// that neighbouring labels differ and trailing noise (0.30000000000000004) never shows.
/// Very small or very large magnitudes use scientific notation.
pub fn format_ticks(ticks: &[f64]) -> Vec<String> {
    let max_abs = ticks.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let spacing = ticks
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .filter(|d| *d > 0.0)
        .fold(f64::INFINITY, f64::min);
    let reference = if spacing.is_finite() {
        spacing
    } else {
        max_abs
    };
    if max_abs >= 1e5 || (max_abs > 0.0 && max_abs < 1e-3) || (reference > 0.0 && reference < 1e-4)
    {
        return ticks
            .iter()
            .map(|v| format_scientific(*v, reference))
            .collect();
    }
    let decimals = decimals_for(reference);
    ticks
        .iter()
        .map(|v| clean_zero(format!("{v:.decimals$}")))
        .collect()
}

/// One value formatted for display (legend entries, bar annotations): about 3 significant
/// digits.
pub fn format_value(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        return format!("{v:.2e}");
    }
    let decimals = if a == 0.0 {
        0
    } else {
        (2 - a.log10().floor() as i32).clamp(0, 4) as usize
    };
    clean_zero(format!("{v:.decimals$}"))
}

/// A tick label on a log axis (ticks are 1, 2 or 5 × 10^k): plain decimals for moderate
/// magnitudes ("0.02", "500"), scientific otherwise ("1e-6").
pub fn log_tick_label(v: f64) -> String {
    let e = v.log10().floor() as i32;
    if (-4..6).contains(&e) {
        format!("{v:.prec$}", prec = (-e).max(0) as usize)
    } else {
        let m = (v / 10f64.powi(e)).round();
        format!("{m}e{e}")
    }
}

/// A value as written in a config (sweep parameter values): the shortest exact form when it is
/// short ("0.05", "32"), otherwise about three significant digits.
pub fn format_exact(v: f64) -> String {
    let s = format!("{v}");
    if s.len() <= 7 { s } else { format_value(v) }
}

/// Labels for values shown side by side (bar annotations): one shared number of decimals,
/// giving the largest magnitude three significant digits.
pub fn format_values(values: &[f64]) -> Vec<String> {
    let max_abs = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    if max_abs != 0.0 && !(1e-3..1e5).contains(&max_abs) {
        return values.iter().map(|v| format!("{v:.2e}")).collect();
    }
    let decimals = if max_abs == 0.0 {
        0
    } else {
        (2 - max_abs.log10().floor() as i32).clamp(0, 6) as usize
    };
    values
        .iter()
        .map(|v| clean_zero(format!("{v:.decimals$}")))
        .collect()
}

/// Decimals needed so that a step of `step` shows (0.25 → 2, 0.5 → 1, 2 → 0).
fn decimals_for(step: f64) -> usize {
    if step <= 0.0 || !step.is_finite() {
        return 0;
    }
    for decimals in 0..10usize {
        let scaled = step * 10f64.powi(decimals as i32);
        if (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0) {
            return decimals;
        }
    }
    10
}

fn format_scientific(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    // Enough mantissa digits that neighbouring ticks stay distinct.
    let digits = if step > 0.0 {
        (v.abs().log10().floor() - step.log10().floor()).clamp(0.0, 4.0) as usize
    } else {
        1
    };
    let s = format!("{v:.digits$e}");
    // Rust prints "1.5e-5"; keep it, but drop a redundant ".0" mantissa.
    s.replace(".0e", "e")
}

/// "-0" and "-0.00" read as a bug on an axis; print them as zero.
fn clean_zero(s: String) -> String {
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks_are_round_and_inside() {
        assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        let t = nice_ticks(-0.37, 0.81, 5);
        assert!(t.iter().all(|v| (-0.37..=0.81).contains(v)));
        assert!(t.contains(&0.0));
        assert_eq!(nice_ticks(3.0, 3.0, 5), vec![3.0]);
    }

    #[test]
    fn labels_have_consistent_decimals() {
        assert_eq!(
            format_ticks(&[0.0, 0.25, 0.5, 0.75, 1.0]),
            ["0.00", "0.25", "0.50", "0.75", "1.00"]
        );
        assert_eq!(format_ticks(&[0.0, 0.2, 0.4]), ["0.0", "0.2", "0.4"]);
        assert_eq!(format_ticks(&[10.0, 20.0, 30.0]), ["10", "20", "30"]);
        let tiny = format_ticks(&nice_ticks(0.0, 3e-6, 4));
        assert!(tiny.iter().all(|s| s == "0" || s.contains('e')), "{tiny:?}");
        let distinct: std::collections::HashSet<_> = tiny.iter().collect();
        assert_eq!(distinct.len(), tiny.len(), "{tiny:?}");
    }

    #[test]
    fn log_ticks_cover_decades() {
        assert_eq!(log_ticks(0.01, 100.0), vec![0.01, 0.1, 1.0, 10.0, 100.0]);
        let labels: Vec<_> = [0.01, 0.5, 1.0, 200.0, 1e-6, 2e7]
            .iter()
            .map(|v| log_tick_label(*v))
            .collect();
        assert_eq!(labels, ["0.01", "0.5", "1", "200", "1e-6", "2e7"]);
        assert_eq!(format_exact(0.05), "0.05");
        assert_eq!(format_exact(32.0), "32");
        assert_eq!(log_ticks(1.0, 10.0), vec![1.0, 2.0, 5.0, 10.0]);
        assert_eq!(log_ticks(0.3, 24.0), vec![0.5, 1.0, 2.0, 5.0, 10.0, 20.0]);
    }

    #[test]
    fn values_have_three_significant_digits() {
        assert_eq!(format_value(0.41234), "0.412");
        assert_eq!(format_value(12.345), "12.3");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(2.5e-5), "2.50e-5");
        assert_eq!(
            format_values(&[0.085, 0.192, -0.01]),
            ["0.085", "0.192", "-0.010"]
        );
    }
}
