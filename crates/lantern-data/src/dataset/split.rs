//! A seeded, stratified train/validation split that never changes for the same dataset, seed
//! and fraction: it uses lantern-core's SplitMix64, one independent stream per class.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Dataset, DatasetError};
use lantern_core::SplitMix64;

/// The two halves of a split; each keeps the original dataset's sample order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub train: Dataset,
    pub validation: Dataset,
}

impl Dataset {
    /// Puts `round(fraction · n_c)` samples of every class c into validation (unlabelled
    /// samples form one more group), chosen by a Fisher–Yates shuffle seeded from `seed` and
    /// the class index; the rest goes to training.
    pub fn stratified_split(
        &self,
        validation_fraction: f64,
        seed: u64,
    ) -> Result<Split, DatasetError> {
        if !(0.0..=1.0).contains(&validation_fraction) {
            return Err(DatasetError::InvalidFraction {
                fraction: validation_fraction,
            });
        }
        let mut groups: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
        for (index, sample) in self.samples.iter().enumerate() {
            groups.entry(sample.label).or_default().push(index);
        }
        let mut in_validation = vec![false; self.samples.len()];
        for (label, mut members) in groups {
            // Stream 0 is the unlabelled group, stream c + 1 class c.
            let stream = label.map_or(0, |l| l as u64 + 1);
            SplitMix64::for_stream(seed, stream).shuffle(&mut members);
            let count = (validation_fraction * members.len() as f64).round() as usize;
            for &index in &members[..count] {
                in_validation[index] = true;
            }
        }
        let part = |validation: bool, role: &str| {
            let mut dataset = self.clone();
            dataset.samples = self
                .samples
                .iter()
                .zip(&in_validation)
                .filter(|(_, v)| **v == validation)
                .map(|(s, _)| s.clone())
                .collect();
            dataset.notes.push(format!(
                "{role} part of a stratified split (validation fraction {validation_fraction}, seed {seed}): {} of {} samples",
                dataset.samples.len(),
                self.samples.len()
            ));
            dataset
        };
        Ok(Split {
            train: part(false, "training"),
            validation: part(true, "validation"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assets_dir;

    #[test]
    fn split_of_plantvillage_is_stratified_disjoint_and_stable() {
        lantern_core::skip_without_assets!();
        let dataset = Dataset::image_folder(assets_dir().join("plantvillage-apple")).unwrap();
        let split = dataset.stratified_split(0.2, 7).unwrap();
        // Pinned: the same seed must select the same images forever.
        let first: Vec<&str> = split.validation.samples[..3]
            .iter()
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(
            first,
            [
                "Apple___Apple_scab/0208f4eb-45a4-4399-904e-989ac2c6257c___FREC_Scab 3037.JPG",
                "Apple___Apple_scab/03eccb1a-0368-4ac7-9f48-7546037b775a___FREC_Scab 3334.JPG",
                "Apple___Apple_scab/0672ab32-9fce-41f3-ae69-e39c48a0a292___FREC_Scab 3347.JPG"
            ]
        );
        assert_eq!(split.validation.class_counts(), vec![60, 60, 55, 60]);
        assert_eq!(split.train.class_counts(), vec![240, 240, 220, 240]);
        let again = dataset.stratified_split(0.2, 7).unwrap();
        assert_eq!(split, again);
        let other_seed = dataset.stratified_split(0.2, 8).unwrap();
        assert_ne!(split.validation.samples, other_seed.validation.samples);

        let mut all: Vec<&str> = split
            .train
            .samples
            .iter()
            .chain(&split.validation.samples)
            .map(|s| s.id.as_str())
            .collect();
        all.sort();
        let mut original: Vec<&str> = dataset.samples.iter().map(|s| s.id.as_str()).collect();
        original.sort();
        assert_eq!(all, original);
    }

    #[test]
    fn rejects_fractions_outside_zero_to_one() {
        let dataset = Dataset::from_paths("x", ["a.jpg"]);
        for bad in [-0.1, 1.5, f64::NAN] {
            let err = dataset.stratified_split(bad, 0).unwrap_err().to_string();
            assert!(err.contains("between 0 and 1"), "{err}");
        }
        let all_validation = dataset.stratified_split(1.0, 0).unwrap();
        assert_eq!(all_validation.validation.samples.len(), 1);
    }
}
