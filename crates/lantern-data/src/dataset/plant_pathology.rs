//! Kaggle Plant Pathology 2020 (FGVC7): `train.csv` with one-hot columns
//! `image_id,healthy,multiple_diseases,rust,scab` and images `images/<image_id>.jpg`.
//!
//! Each CSV row becomes exactly one sample. A row whose label is not exactly one 1 among the
//! four columns, or whose image file is missing, keeps its place with `error` set, so the run
//! reports it as failed instead of silently shrinking the dataset.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use polars::prelude::{CsvReadOptions, DataFrame, SerReader};

use super::image_folder::file_name;
use super::{Dataset, DatasetError, Sample};

/// The label columns, in the order that defines the class indices (the CSV's own order).
pub const PLANT_PATHOLOGY_2020_CLASSES: [&str; 4] =
    ["healthy", "multiple_diseases", "rust", "scab"];

const ID_COLUMN: &str = "image_id";

impl Dataset {
    /// Loads `<root>/train.csv` with images in `<root>/images/`.
    pub fn plant_pathology_2020(root: impl AsRef<Path>) -> Result<Dataset, DatasetError> {
        let root = root.as_ref();
        let mut dataset =
            Dataset::plant_pathology_2020_from(root.join("train.csv"), root.join("images"))?;
        dataset.name = file_name(root);
        Ok(dataset)
    }

    /// Loads a Plant Pathology 2020 CSV whose images are `<images>/<image_id>.jpg`.
    pub fn plant_pathology_2020_from(
        csv: impl AsRef<Path>,
        images: impl AsRef<Path>,
    ) -> Result<Dataset, DatasetError> {
        let (csv, images) = (csv.as_ref(), images.as_ref());
        let frame = read_csv_as_text(csv)?;
        let columns = ColumnNames::of(&frame);

        let wanted: Vec<&str> = std::iter::once(ID_COLUMN)
            .chain(PLANT_PATHOLOGY_2020_CLASSES)
            .collect();
        let missing: Vec<String> = wanted
            .iter()
            .filter(|name| columns.actual(name).is_none())
            .map(|name| name.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(DatasetError::MissingColumns {
                path: csv.to_path_buf(),
                missing,
                found: columns.found(),
            });
        }
        let mut notes = Vec::new();
        let extra = columns.others(&wanted);
        if !extra.is_empty() {
            notes.push(format!(
                "ignored columns of {}: {}",
                csv.display(),
                extra.join(", ")
            ));
        }

        let text_column = |name: &str| -> Result<Vec<Option<String>>, DatasetError> {
            let actual = columns.actual(name).expect("presence checked above");
            let column = frame.column(actual).map_err(|source| DatasetError::Csv {
                path: csv.to_path_buf(),
                source,
            })?;
            let strings = column.str().map_err(|source| DatasetError::Csv {
                path: csv.to_path_buf(),
                source,
            })?;
            Ok(strings.iter().map(|v| v.map(str::to_string)).collect())
        };
        let ids = text_column(ID_COLUMN)?;
        let label_columns: Vec<Vec<Option<String>>> = PLANT_PATHOLOGY_2020_CLASSES
            .iter()
            .map(|name| text_column(name))
            .collect::<Result<_, _>>()?;

        let mut first_row_of_id: HashMap<String, usize> = HashMap::new();
        let mut samples = Vec::with_capacity(ids.len());
        for (row, id) in ids.into_iter().enumerate() {
            // Line numbers as an editor shows them: the header is line 1.
            let line = row + 2;
            let id = id.map(|s| s.trim().to_string()).unwrap_or_default();
            let mut problems = Vec::new();
            let sample_id = if id.is_empty() {
                problems.push(format!("{ID_COLUMN} is empty"));
                format!("line {line}")
            } else {
                id.clone()
            };
            if let Some(first_line) = first_row_of_id.get(&id) {
                problems.push(format!(
                    "{ID_COLUMN} {id:?} already appears on line {first_line}"
                ));
            } else if !id.is_empty() {
                first_row_of_id.insert(id.clone(), line);
            }
            let cells: Vec<Option<&str>> =
                label_columns.iter().map(|c| c[row].as_deref()).collect();
            let label = match one_hot_label(&cells) {
                Ok(class) => Some(class),
                Err(problem) => {
                    problems.push(problem);
                    None
                }
            };
            let path = images.join(format!("{id}.jpg"));
            if !id.is_empty() && !path.is_file() {
                problems.push(format!("image file {} does not exist", path.display()));
            }
            let error = (!problems.is_empty())
                .then(|| format!("{} line {line}: {}", csv.display(), problems.join("; ")));
            samples.push(Sample {
                id: sample_id,
                path,
                label,
                error,
            });
        }
        if samples.is_empty() {
            return Err(DatasetError::NoSamples {
                path: csv.to_path_buf(),
            });
        }
        Ok(Dataset {
            name: "plant-pathology-2020".into(),
            classes: PLANT_PATHOLOGY_2020_CLASSES.map(String::from).to_vec(),
            samples,
            notes,
        })
    }
}

/// Reads every column as text so that we, not type inference, decide what a bad cell means.
pub(crate) fn read_csv_as_text(csv: &Path) -> Result<DataFrame, DatasetError> {
    let error = |source| DatasetError::Csv {
        path: csv.to_path_buf(),
        source,
    };
    if !csv.is_file() {
        let missing = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        return Err(DatasetError::io(csv)(missing));
    }
    CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(PathBuf::from(csv)))
        .map_err(error)?
        .finish()
        .map_err(error)
}

/// The class index of a one-hot row: exactly one cell must be 1 and the others 0; anything
/// else is described in the error.
fn one_hot_label(cells: &[Option<&str>]) -> Result<usize, String> {
    let mut ones = Vec::new();
    for (class, cell) in PLANT_PATHOLOGY_2020_CLASSES.iter().zip(cells) {
        let text = cell.map(str::trim).unwrap_or("");
        match text.parse::<f64>() {
            Ok(1.0) => ones.push(*class),
            Ok(0.0) => {}
            _ => return Err(format!("column {class} holds {text:?}, not 0 or 1")),
        }
    }
    match ones.as_slice() {
        [one] => Ok(PLANT_PATHOLOGY_2020_CLASSES
            .iter()
            .position(|c| c == one)
            .expect("ones holds class names")),
        [] => Err("no label column is 1".into()),
        several => Err(format!(
            "{} label columns are 1 ({}); exactly one must be",
            several.len(),
            several.join(", ")
        )),
    }
}

/// Column names as written, matched after trimming spaces and a UTF-8 byte-order mark (which
/// spreadsheet programs put before the first header).
struct ColumnNames {
    actual: Vec<String>,
}

impl ColumnNames {
    fn of(frame: &DataFrame) -> Self {
        ColumnNames {
            actual: frame
                .get_column_names()
                .into_iter()
                .map(|n| n.to_string())
                .collect(),
        }
    }

    fn clean(name: &str) -> &str {
        name.trim_start_matches('\u{feff}').trim()
    }

    fn actual(&self, wanted: &str) -> Option<&str> {
        self.actual
            .iter()
            .find(|n| Self::clean(n) == wanted)
            .map(String::as_str)
    }

    fn found(&self) -> Vec<String> {
        self.actual.clone()
    }

    fn others(&self, wanted: &[&str]) -> Vec<String> {
        self.actual
            .iter()
            .filter(|n| !wanted.contains(&Self::clean(n)))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assets_dir, rows};
    use std::fs;

    #[test]
    fn loads_the_sample_competition_files() {
        lantern_core::skip_without_assets!();
        let dataset =
            Dataset::plant_pathology_2020(assets_dir().join("plant-pathology-2020")).unwrap();
        assert_eq!(dataset.classes, PLANT_PATHOLOGY_2020_CLASSES);
        // PROVENANCE.md: scab, multiple_diseases, healthy, rust, healthy.
        assert_eq!(
            rows(&dataset, |s| s.label),
            [
                ("Train_0", Some(3)),
                ("Train_1", Some(1)),
                ("Train_2", Some(0)),
                ("Train_3", Some(2)),
                ("Train_4", Some(0))
            ]
        );
        assert!(
            dataset
                .samples
                .iter()
                .all(|s| s.error.is_none() && s.path.is_file())
        );
        assert!(dataset.notes.is_empty(), "{:?}", dataset.notes);
    }

    /// A temporary root with the given CSV and images `Train_0.jpg`, `Train_1.jpg`.
    fn temp_root(csv: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("images")).unwrap();
        for id in ["Train_0", "Train_1"] {
            fs::write(dir.path().join("images").join(format!("{id}.jpg")), b"x").unwrap();
        }
        fs::write(dir.path().join("train.csv"), csv).unwrap();
        dir
    }

    #[test]
    fn missing_column_is_an_error_naming_file_and_column() {
        let dir = temp_root("image_id,healthy,multiple_diseases,scab\nTrain_0,1,0,0\n");
        let err = Dataset::plant_pathology_2020(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("train.csv") && err.contains("no column rust"),
            "{err}"
        );
        assert!(err.contains("columns found: image_id, healthy"), "{err}");
    }

    #[test]
    fn bad_rows_become_failed_samples_in_place() {
        let csv = "image_id,healthy,multiple_diseases,rust,scab,notes\n\
                   Train_0,0,1,1,0,x\n\
                   Train_1,0,0,0,0,x\n\
                   Train_9,1,0,0,0,x\n\
                   Train_0,1,0,0,0,x\n\
                   Train_1,2,0,0,0,x\n\
                   ,1,0,0,0,x\n\
                   Train_1,0,0,1.0,0,x\n";
        let dir = temp_root(csv);
        let dataset = Dataset::plant_pathology_2020(dir.path()).unwrap();
        assert_eq!(dataset.samples.len(), 7, "no row may be dropped");
        let errors: Vec<String> = dataset
            .samples
            .iter()
            .map(|s| s.error.clone().unwrap_or_default())
            .collect();
        for (row, want) in [
            (0, "2 label columns are 1 (multiple_diseases, rust)"),
            (0, "train.csv line 2"),
            (1, "no label column is 1"),
            (2, "Train_9.jpg does not exist"),
            (3, "already appears on line 2"),
            (4, "column healthy holds \"2\""),
            (5, "image_id is empty"),
            (6, "already appears on line 3"),
        ] {
            assert!(errors[row].contains(want), "row {row}: {}", errors[row]);
        }
        assert_eq!(dataset.samples[2].label, Some(0));
        assert_eq!(dataset.samples[5].id, "line 7");
        // "1.0" is still a one; the duplicate id is the only problem of the last row.
        assert_eq!(dataset.samples[6].label, Some(2));
        assert!(
            dataset
                .notes
                .iter()
                .any(|n| n.contains("ignored columns") && n.contains("notes"))
        );
    }

    #[test]
    fn missing_csv_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = Dataset::plant_pathology_2020(dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("train.csv"), "{err}");
    }
}
