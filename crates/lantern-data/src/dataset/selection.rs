//! Deterministic subsets: the first N samples, or the first N of each class, always in the
//! dataset's own order, so the same configuration selects the same images on every machine.

use std::collections::HashMap;

use super::Dataset;

impl Dataset {
    /// The first `n` samples (all of them if there are fewer).
    pub fn limit(&self, n: usize) -> Dataset {
        let mut selected = self.clone();
        if n < self.samples.len() {
            selected.samples.truncate(n);
            selected.notes.push(format!(
                "limited to the first {n} of {} samples",
                self.samples.len()
            ));
        }
        selected
    }

    /// The first `n` samples of every class (unlabelled samples form one more group), in the
    /// dataset's order. Failed samples count like the others, so they are still reported.
    pub fn per_class(&self, n: usize) -> Dataset {
        let mut taken: HashMap<Option<usize>, usize> = HashMap::new();
        let mut selected = self.clone();
        selected.samples = self
            .samples
            .iter()
            .filter(|sample| {
                let count = taken.entry(sample.label).or_default();
                *count += 1;
                *count <= n
            })
            .cloned()
            .collect();
        if selected.samples.len() < self.samples.len() {
            selected.notes.push(format!(
                "kept the first {n} samples of each class: {} of {}",
                selected.samples.len(),
                self.samples.len()
            ));
        }
        selected
    }
}

#[cfg(test)]
mod tests {
    use super::super::Sample;
    use super::*;
    use std::path::PathBuf;

    fn dataset(labels: &[Option<usize>]) -> Dataset {
        Dataset {
            name: "t".into(),
            classes: vec!["a".into(), "b".into()],
            samples: labels
                .iter()
                .enumerate()
                .map(|(i, &label)| Sample {
                    id: i.to_string(),
                    path: PathBuf::from(format!("{i}.jpg")),
                    label,
                    error: None,
                })
                .collect(),
            notes: vec![],
        }
    }

    fn ids(dataset: &Dataset) -> Vec<&str> {
        dataset.samples.iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn limit_takes_a_prefix() {
        let d = dataset(&[Some(0), Some(1), Some(0)]);
        assert_eq!(ids(&d.limit(2)), ["0", "1"]);
        assert_eq!(d.limit(2).notes.len(), 1);
        assert_eq!(ids(&d.limit(10)), ["0", "1", "2"]);
        assert!(d.limit(10).notes.is_empty());
    }

    #[test]
    fn per_class_keeps_order() {
        let d = dataset(&[Some(1), Some(0), Some(1), None, Some(1), Some(0), None]);
        assert_eq!(ids(&d.per_class(1)), ["0", "1", "3"]);
        assert_eq!(ids(&d.per_class(2)), ["0", "1", "2", "3", "5", "6"]);
    }
}
