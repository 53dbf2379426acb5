//! Kaggle Plant Pathology 2021 (FGVC8): `train.csv` with columns `image,labels`, where
//! `labels` is a space-separated set (`"healthy"`, `"scab frog_eye_leaf_spot complex"`), and
//! images `train_images/<image>`.
//!
//! A leaf's class is its label set as written (labels separated by one space), so a leaf with
//! one label has that label as its class and a leaf with several has a class such as
//! `"rust complex"`; a class mapping (the experiment's `map`) names the classes it uses and
//! leaves the others out. As with 2020, rows are never dropped: a row without labels or whose
//! image is missing becomes a sample with `error` set.

use std::collections::HashMap;
use std::path::Path;

use super::plant_pathology::read_csv_as_text;
use super::{Dataset, DatasetError, Sample};

/// The dataset name the loader gives (its classes are label sets, see the module docs).
pub const PLANT_PATHOLOGY_2021_NAME: &str = "plant-pathology-2021";

const ID_COLUMN: &str = "image";
const LABELS_COLUMN: &str = "labels";

impl Dataset {
    /// Loads `<root>/train.csv` with images in `<root>/train_images/`.
    pub fn plant_pathology_2021(root: impl AsRef<Path>) -> Result<Dataset, DatasetError> {
        let root = root.as_ref();
        Dataset::plant_pathology_2021_from(root.join("train.csv"), root.join("train_images"))
    }

    /// Loads a Plant Pathology 2021 CSV whose images are `<images>/<image>`.
    pub fn plant_pathology_2021_from(
        csv: impl AsRef<Path>,
        images: impl AsRef<Path>,
    ) -> Result<Dataset, DatasetError> {
        let (csv, images) = (csv.as_ref(), images.as_ref());
        let frame = read_csv_as_text(csv)?;
        let found: Vec<String> = frame
            .get_column_names()
            .into_iter()
            .map(|n| n.to_string())
            .collect();
        let column = |name: &str| -> Result<Vec<Option<String>>, DatasetError> {
            let actual = found
                .iter()
                .find(|n| n.trim_start_matches('\u{feff}').trim() == name)
                .ok_or_else(|| DatasetError::MissingColumns {
                    path: csv.to_path_buf(),
                    missing: vec![name.to_string()],
                    found: found.clone(),
                })?;
            let strings = frame
                .column(actual)
                .and_then(|c| c.str().cloned())
                .map_err(|source| DatasetError::Csv {
                    path: csv.to_path_buf(),
                    source,
                })?;
            Ok(strings.iter().map(|v| v.map(str::to_string)).collect())
        };
        let ids = column(ID_COLUMN)?;
        let labels = column(LABELS_COLUMN)?;

        let mut classes: Vec<String> = Vec::new();
        let mut first_line: HashMap<String, usize> = HashMap::new();
        let mut samples = Vec::with_capacity(ids.len());
        for (row, (id, label)) in ids.into_iter().zip(labels).enumerate() {
            let line = row + 2;
            let id = id.map(|s| s.trim().to_string()).unwrap_or_default();
            let mut problems = Vec::new();
            if id.is_empty() {
                problems.push(format!("{ID_COLUMN} is empty"));
            } else if let Some(first) = first_line.get(&id) {
                problems.push(format!(
                    "{ID_COLUMN} {id:?} already appears on line {first}"
                ));
            } else {
                first_line.insert(id.clone(), line);
            }
            let set = label
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let label = if set.is_empty() {
                problems.push(format!("{LABELS_COLUMN} is empty"));
                None
            } else {
                Some(match classes.iter().position(|c| *c == set) {
                    Some(i) => i,
                    None => {
                        classes.push(set);
                        classes.len() - 1
                    }
                })
            };
            let path = images.join(&id);
            if !id.is_empty() && !path.is_file() {
                problems.push(format!("image file {} does not exist", path.display()));
            }
            samples.push(Sample {
                id: if id.is_empty() {
                    format!("line {line}")
                } else {
                    id
                },
                path,
                label,
                error: (!problems.is_empty())
                    .then(|| format!("{} line {line}: {}", csv.display(), problems.join("; "))),
            });
        }
        if samples.is_empty() {
            return Err(DatasetError::NoSamples {
                path: csv.to_path_buf(),
            });
        }
        Ok(Dataset {
            name: PLANT_PATHOLOGY_2021_NAME.into(),
            classes,
            samples,
            notes: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assets_dir, rows};

    #[test]
    fn loads_the_sample_competition_files() {
        lantern_core::skip_without_assets!();
        let dataset =
            Dataset::plant_pathology_2021(assets_dir().join("plant-pathology-2021")).unwrap();
        assert_eq!(
            rows(&dataset, |s| dataset.class_name(s)),
            [
                ("800113bb65efe69e.jpg", Some("healthy")),
                (
                    "8002cb321f8bfcdf.jpg",
                    Some("scab frog_eye_leaf_spot complex")
                ),
                ("800f85dc5f407aef.jpg", Some("cider_apple_rust")),
                ("8a0be55d81f4bf0c.jpg", Some("healthy")),
                ("8a1a97abda0b4a7a.jpg", Some("frog_eye_leaf_spot")),
                ("8a2d598f2ec436e6.jpg", Some("powdery_mildew")),
                ("8a954b82bf81f2bc.jpg", Some("rust complex")),
            ]
        );
        assert!(dataset.failed().next().is_none());
    }

    #[test]
    fn empty_labels_and_missing_images_are_failed_samples() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("train_images")).unwrap();
        std::fs::write(dir.path().join("train_images/a.jpg"), b"x").unwrap();
        std::fs::write(
            dir.path().join("train.csv"),
            "image,labels\na.jpg,\nb.jpg,scab\na.jpg,rust  complex\n",
        )
        .unwrap();
        let d = Dataset::plant_pathology_2021(dir.path()).unwrap();
        assert_eq!(d.samples.len(), 3);
        for (row, want) in [(0, "labels is empty"), (1, "does not exist"), (2, "line 2")] {
            let error = d.samples[row].error.as_ref().unwrap();
            assert!(error.contains(want), "row {row}: {error}");
        }
        assert_eq!(d.class_name(&d.samples[2]), Some("rust complex"));
    }
}
