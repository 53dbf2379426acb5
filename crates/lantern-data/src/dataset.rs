//! A dataset is a named list of image samples with optional class labels.
//!
//! Loaders never drop a sample they cannot use: a CSV row with an impossible label or a
//! missing image file becomes a sample with `error` set, so the run records it as failed and
//! the report counts it. Things that are not samples at all (a `.txt` file in a class folder)
//! are listed in `notes` instead of vanishing.

mod image_folder;
mod listing;
mod path_list;
mod plant_pathology;
mod plant_pathology_2021;
mod selection;
mod split;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use listing::{IMAGE_EXTENSIONS, has_image_extension};
pub use plant_pathology::PLANT_PATHOLOGY_2020_CLASSES;
pub(crate) use plant_pathology::read_csv_as_text;
pub use plant_pathology_2021::PLANT_PATHOLOGY_2021_NAME;
pub use split::Split;

/// One image of a dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Stable identifier, unique within the dataset (CSV image id, or path relative to the
    /// dataset root); used in work-item ids and file names of results.
    pub id: String,
    pub path: PathBuf,
    /// Index into [`Dataset::classes`], if the dataset says.
    pub label: Option<usize>,
    /// Why this sample cannot be used, if it cannot; such samples are recorded as failed.
    pub error: Option<String>,
}

/// A named list of samples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dataset {
    pub name: String,
    /// Class names; labels index into this. Empty for unlabelled datasets.
    pub classes: Vec<String>,
    pub samples: Vec<Sample>,
    /// What the loader noticed but did not turn into samples (ignored files and columns,
    /// selections applied), for the run's report.
    pub notes: Vec<String>,
}

/// Why a dataset could not be loaded at all. Every variant names the file or folder.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a folder", path.display())]
    NotAFolder { path: PathBuf },
    #[error("cannot read CSV {}: {source}", path.display())]
    Csv {
        path: PathBuf,
        source: polars::error::PolarsError,
    },
    #[error(
        "{} has no column {} (columns found: {})",
        path.display(),
        missing.join(", "),
        found.join(", ")
    )]
    MissingColumns {
        path: PathBuf,
        missing: Vec<String>,
        found: Vec<String>,
    },
    #[error("{} has no class sub-folders (an ImageFolder dataset needs root/<class>/<image>)", path.display())]
    NoClasses { path: PathBuf },
    #[error("{} holds no samples", path.display())]
    NoSamples { path: PathBuf },
    #[error("validation fraction must be between 0 and 1, not {fraction}")]
    InvalidFraction { fraction: f64 },
    #[error("{} row {row}: {message}", path.display())]
    BadBox {
        path: PathBuf,
        row: usize,
        message: String,
    },
}

impl DatasetError {
    /// [`DatasetError::Io`] of an error reading `path`, for `map_err`.
    pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> DatasetError + '_ {
        |source| DatasetError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl Dataset {
    /// Number of samples per class (index = label); unlabelled samples are not counted.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for label in self.samples.iter().filter_map(|s| s.label) {
            if let Some(count) = counts.get_mut(label) {
                *count += 1;
            }
        }
        counts
    }

    /// Samples that cannot be used, with their reasons.
    pub fn failed(&self) -> impl Iterator<Item = &Sample> {
        self.samples.iter().filter(|s| s.error.is_some())
    }

    /// Name of a sample's class, if it has one.
    pub fn class_name(&self, sample: &Sample) -> Option<&str> {
        sample
            .label
            .and_then(|l| self.classes.get(l))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_failures() {
        let sample = |id: &str, label, error: Option<&str>| Sample {
            id: id.into(),
            path: PathBuf::from(id),
            label,
            error: error.map(String::from),
        };
        let dataset = Dataset {
            name: "t".into(),
            classes: vec!["a".into(), "b".into()],
            samples: vec![
                sample("1", Some(0), None),
                sample("2", Some(1), None),
                sample("3", Some(1), Some("broken")),
                sample("4", None, None),
            ],
            notes: vec![],
        };
        assert_eq!(dataset.class_counts(), vec![1, 2]);
        assert_eq!(dataset.failed().count(), 1);
        assert_eq!(dataset.class_name(&dataset.samples[1]), Some("b"));
        assert_eq!(dataset.class_name(&dataset.samples[3]), None);
    }
}
