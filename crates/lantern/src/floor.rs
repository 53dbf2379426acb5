//! The floor under the scores: a method's deletion or insertion result means something only if
//! it beats the `random` baseline (a seeded uniform map) run on the same images. A method
//! "beats random" on a metric when its bootstrap CI lies entirely on the better side of
//! random's mean (below it for deletion, above it for insertion) at the same sweep point; every
//! other method is marked in the report's ranking and in `summary.md`.

use lantern_metrics::SummaryRow;

/// The baseline every method is held against.
pub const RANDOM: &str = "random";

/// Whether higher is better for a metric the floor applies to (`None`: not such a metric).
fn higher_is_better(metric: &str) -> Option<bool> {
    match metric {
        "insertion_auc" => Some(true),
        "deletion_auc" => Some(false),
        _ => None,
    }
}

/// One method's standing against random on one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub method: String,
    pub sweep: String,
    pub metric: String,
    pub mean: f64,
    pub ci: (f64, f64),
    pub random_mean: f64,
    pub beats_random: bool,
}

/// Every non-random method's standing on deletion/insertion, where `random` ran at that point.
pub fn standings(summary: &[SummaryRow]) -> Vec<Standing> {
    let mut out = Vec::new();
    for row in summary.iter().filter(|r| r.method != RANDOM) {
        let Some(higher) = higher_is_better(&row.metric) else {
            continue;
        };
        let Some(random) = summary
            .iter()
            .find(|r| r.method == RANDOM && r.metric == row.metric && r.sweep == row.sweep)
        else {
            continue;
        };
        let beats_random = if higher {
            row.ci_low > random.mean
        } else {
            row.ci_high < random.mean
        };
        out.push(Standing {
            method: row.method.clone(),
            sweep: row.sweep.clone(),
            metric: row.metric.clone(),
            mean: row.mean,
            ci: (row.ci_low, row.ci_high),
            random_mean: random.mean,
            beats_random,
        });
    }
    out
}

/// Whether `method` at `sweep` fails to beat random on `metric` (false where there is no floor).
pub fn below_floor(standings: &[Standing], method: &str, sweep: &str, metric: &str) -> bool {
    standings
        .iter()
        .any(|s| s.method == method && s.sweep == sweep && s.metric == metric && !s.beats_random)
}

/// The Markdown section for `summary.md` (empty without a `random` row).
pub fn markdown(standings: &[Standing]) -> String {
    if standings.is_empty() {
        return String::new();
    }
    let mut md = String::from(
        "## Against the random floor\n\nA method beats `random` when its 95 % CI lies on the better side of random's mean (deletion: lower, insertion: higher); ⚠ marks those that do not.\n\n| method | sweep | metric | mean | 95 % CI | random mean | beats random |\n|---|---|---|---:|---|---:|---|\n",
    );
    for s in standings {
        md.push_str(&format!(
            "| {} | {} | {} | {:.4} | [{:.4}, {:.4}] | {:.4} | {} |\n",
            s.method,
            if s.sweep.is_empty() { "–" } else { &s.sweep },
            s.metric,
            s.mean,
            s.ci.0,
            s.ci.1,
            s.random_mean,
            if s.beats_random { "yes" } else { "⚠ no" }
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(method: &str, metric: &str, mean: f64, ci: (f64, f64)) -> SummaryRow {
        SummaryRow {
            method: method.into(),
            sweep: String::new(),
            metric: metric.into(),
            n: 10,
            missing: 0,
            mean,
            std: 0.1,
            ci_low: ci.0,
            ci_high: ci.1,
        }
    }

    #[test]
    fn methods_within_chance_are_marked() {
        let summary = vec![
            row("random", "deletion_auc", 0.50, (0.45, 0.55)),
            row("random", "insertion_auc", 0.50, (0.45, 0.55)),
            row("gradcam", "deletion_auc", 0.30, (0.25, 0.35)),
            row("gradcam", "insertion_auc", 0.70, (0.65, 0.75)),
            row("saliency", "deletion_auc", 0.48, (0.40, 0.56)),
            row("saliency", "insertion_auc", 0.45, (0.40, 0.49)),
            row("saliency", "seconds", 1.0, (0.9, 1.1)),
        ];
        let s = standings(&summary);
        assert_eq!(s.len(), 4, "{s:?}");
        assert!(!below_floor(&s, "gradcam", "", "deletion_auc"));
        assert!(!below_floor(&s, "gradcam", "", "insertion_auc"));
        assert!(below_floor(&s, "saliency", "", "deletion_auc"));
        assert!(below_floor(&s, "saliency", "", "insertion_auc"));
        assert!(!below_floor(&s, "saliency", "", "seconds"));
        let md = markdown(&s);
        assert!(
            md.contains(
                "| saliency | – | insertion_auc | 0.4500 | [0.4000, 0.4900] | 0.5000 | ⚠ no |"
            ),
            "{md}"
        );
        assert!(standings(&summary[2..]).is_empty(), "no random, no floor");
    }
}
