//! A data source's `map`: from the source's own labels (Plant Pathology 2020's one-hot columns,
//! Plant Pathology 2021's label sets, ImageFolder class folders) to an experiment's class names.
//! A head's train and evaluate sources leave out what the map does not name and count it, by
//! reason; `[data]` keeps such images, unlabelled, so they are still explained.

use anyhow::{Result, bail};
use lantern_data::Dataset;
use std::collections::BTreeMap;

/// Why a sample was left out: its label set when that has several labels (Plant Pathology
/// 2021's `"rust complex"`), else its label.
pub const SEVERAL_LABELS: &str = "several labels";
/// A sample the source gives no label.
pub const UNLABELLED: &str = "unlabelled";

/// A dataset relabelled onto `classes`, with what was left out (reason → count).
#[derive(Debug, Clone)]
pub struct Mapped {
    pub dataset: Dataset,
    pub left_out: BTreeMap<String, usize>,
}

/// Relabels `dataset` onto `classes` through `map` (source label → class name). An empty map
/// maps every source label that is itself one of `classes`. Unmapped samples are dropped and
/// counted, or with `keep_unmapped` kept without a label. Samples that already failed (missing
/// file, bad CSV row) are kept as they are, so the run still reports them.
pub fn apply(
    dataset: Dataset,
    map: &BTreeMap<String, String>,
    classes: &[String],
    keep_unmapped: bool,
) -> Result<Mapped> {
    for (from, to) in map {
        if !classes.contains(to) {
            bail!(
                "map: {from:?} = {to:?}, but {to:?} is not one of the classes ({})",
                classes.join(", ")
            );
        }
    }
    let target = |source: &str| -> Option<usize> {
        let name = if map.is_empty() {
            source
        } else {
            map.get(source)?.as_str()
        };
        classes.iter().position(|c| c == name)
    };
    // Plant Pathology 2021 classes are label sets joined by spaces; ImageFolder class names
    // may contain spaces of their own.
    let label_sets = dataset.name == lantern_data::PLANT_PATHOLOGY_2021_NAME;
    let mut left_out: BTreeMap<String, usize> = BTreeMap::new();
    let mut samples = Vec::with_capacity(dataset.samples.len());
    for mut s in dataset.samples {
        let source = s.label.and_then(|l| dataset.classes.get(l)).cloned();
        let mapped = source.as_deref().and_then(target);
        if mapped.is_none() && s.error.is_none() && !keep_unmapped {
            let reason = match &source {
                None => UNLABELLED.to_string(),
                Some(name) if label_sets && name.contains(' ') => SEVERAL_LABELS.to_string(),
                Some(name) => name.clone(),
            };
            *left_out.entry(reason).or_default() += 1;
            continue;
        }
        s.label = mapped;
        samples.push(s);
    }
    let mut notes = dataset.notes;
    if !left_out.is_empty() {
        notes.push(format!(
            "left out by the class map: {}",
            describe(&left_out)
        ));
    }
    Ok(Mapped {
        dataset: Dataset {
            name: dataset.name,
            classes: classes.to_vec(),
            samples,
            notes,
        },
        left_out,
    })
}

/// `"multiple_diseases 1, several labels 2"`.
pub fn describe(left_out: &BTreeMap<String, usize>) -> String {
    left_out
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The classes a `[data]` map names, in order of first appearance (when no head gives them).
pub fn classes_of(map: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for to in map.values() {
        if !out.contains(to) {
            out.push(to.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_data::Sample;
    use std::path::PathBuf;

    fn dataset(name: &str, classes: &[&str], labels: &[Option<usize>]) -> Dataset {
        Dataset {
            name: name.into(),
            classes: classes.iter().map(|c| c.to_string()).collect(),
            samples: labels
                .iter()
                .enumerate()
                .map(|(i, &label)| Sample {
                    id: format!("s{i}"),
                    path: PathBuf::from(format!("s{i}.jpg")),
                    label,
                    error: None,
                })
                .collect(),
            notes: vec![],
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn plant_pathology_2021_label_sets_map_or_are_left_out() {
        let d = dataset(
            "plant-pathology-2021",
            &[
                "healthy",
                "rust complex",
                "cider_apple_rust",
                "powdery_mildew",
            ],
            &[Some(0), Some(1), Some(2), Some(3), None],
        );
        let map: BTreeMap<String, String> = [
            ("healthy", "healthy"),
            ("cider_apple_rust", "cedar apple rust"),
            ("rust", "cedar apple rust"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let classes = names(&["scab", "cedar apple rust", "healthy"]);
        let m = apply(d.clone(), &map, &classes, false).unwrap();
        let labels: Vec<Option<usize>> = m.dataset.samples.iter().map(|s| s.label).collect();
        assert_eq!(labels, [Some(2), Some(1)]);
        assert_eq!(
            m.left_out,
            [
                (SEVERAL_LABELS.to_string(), 1),
                ("powdery_mildew".to_string(), 1),
                (UNLABELLED.to_string(), 1)
            ]
            .into_iter()
            .collect()
        );
        // In [data], the unmapped images stay, unlabelled.
        let kept = apply(d, &map, &classes, true).unwrap();
        assert_eq!(kept.dataset.samples.len(), 5);
        assert_eq!(kept.dataset.samples[1].label, None);
        assert!(kept.left_out.is_empty());
    }

    #[test]
    fn a_map_onto_an_unknown_class_is_an_error() {
        let d = dataset("x", &["a"], &[Some(0)]);
        let map = [("a".to_string(), "b".to_string())].into_iter().collect();
        let err = apply(d, &map, &names(&["c"]), false).unwrap_err();
        assert!(
            err.to_string().contains("\"b\" is not one of the classes"),
            "{err}"
        );
    }

    #[test]
    fn empty_map_matches_names_and_folder_names_with_spaces_are_labels() {
        let d = dataset("folders", &["leaf spot", "healthy"], &[Some(0), Some(1)]);
        let m = apply(d, &BTreeMap::new(), &names(&["healthy"]), false).unwrap();
        assert_eq!(m.dataset.samples.len(), 1);
        assert_eq!(m.left_out.get("leaf spot"), Some(&1));
    }
}
