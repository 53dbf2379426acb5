//! Class names of a classifier (ImageNet's 1000 and others): by index, by name, and — for
//! ImageNet — by WordNet id, including the class of a sample file named
//! `nXXXXXXXX_name.JPEG`.
//!
//! Two file forms are read: one name per line (`imagenet_classes.txt`, torchvision order), or
//! a tab-separated table with a header holding at least `index`, `wnid` and `simple_label`
//! (`imagenet_class_index.tsv`). Every error names the file and, where it applies, the line.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Class names in index order, optionally with WordNet ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassNames {
    names: Vec<String>,
    wnids: Option<Vec<String>>,
    source: PathBuf,
    by_name: HashMap<String, Vec<usize>>,
    by_wnid: HashMap<String, usize>,
}

/// Why class names could not be read or a lookup failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LabelError {
    #[error("cannot read class names from {}: {message}", path.display())]
    Read { path: PathBuf, message: String },
    #[error("{}: line {line}: {message}", path.display())]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{} has no column {column:?} (columns found: {})", path.display(), found.join(", "))]
    MissingColumn {
        path: PathBuf,
        column: String,
        found: Vec<String>,
    },
    #[error("no class is named {name:?} in {}", path.display())]
    UnknownName { name: String, path: PathBuf },
    #[error("{name:?} names several classes in {}: {indices:?}; use an index", path.display())]
    AmbiguousName {
        name: String,
        indices: Vec<usize>,
        path: PathBuf,
    },
    #[error("{} has no WordNet ids (load imagenet_class_index.tsv instead)", path.display())]
    NoWnids { path: PathBuf },
    #[error("WordNet id {wnid:?} is not in {}", path.display())]
    UnknownWnid { wnid: String, path: PathBuf },
    #[error("{file_name:?} is not an ImageNet sample name (expected nXXXXXXXX_name.JPEG)")]
    NotASampleName { file_name: String },
}

impl ClassNames {
    /// Reads either form: `.tsv` files as the table, anything else as one name per line.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, LabelError> {
        let path = path.as_ref();
        let is_tsv = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
        if is_tsv {
            Self::from_class_index_tsv(path)
        } else {
            Self::from_lines(path)
        }
    }

    /// One class name per line; a final newline is optional, an empty line inside is an error.
    pub fn from_lines(path: impl AsRef<Path>) -> Result<Self, LabelError> {
        let path = path.as_ref();
        let text = read_text(path)?;
        let mut names = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let name = line.trim();
            if name.is_empty() {
                return Err(LabelError::Line {
                    path: path.to_path_buf(),
                    line: i + 1,
                    message: "empty class name".into(),
                });
            }
            names.push(name.to_string());
        }
        if names.is_empty() {
            return Err(LabelError::Read {
                path: path.to_path_buf(),
                message: "the file holds no class names".into(),
            });
        }
        Ok(Self::new(names, None, path))
    }

    /// A tab-separated table with columns `index` (0, 1, 2, … in order), `wnid` and
    /// `simple_label`; other columns are ignored.
    pub fn from_class_index_tsv(path: impl AsRef<Path>) -> Result<Self, LabelError> {
        let path = path.as_ref();
        let text = read_text(path)?;
        let mut lines = text.lines();
        let header: Vec<String> = lines
            .next()
            .unwrap_or("")
            .split('\t')
            .map(|h| h.trim().to_string())
            .collect();
        let column = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| LabelError::MissingColumn {
                    path: path.to_path_buf(),
                    column: name.into(),
                    found: header.clone(),
                })
        };
        let (index_col, wnid_col, label_col) =
            (column("index")?, column("wnid")?, column("simple_label")?);

        let mut names = Vec::new();
        let mut wnids = Vec::new();
        for (i, line) in lines.enumerate() {
            let line_number = i + 2;
            if line.trim().is_empty() {
                continue;
            }
            let line_error = |message: String| LabelError::Line {
                path: path.to_path_buf(),
                line: line_number,
                message,
            };
            let cells: Vec<&str> = line.split('\t').map(str::trim).collect();
            let cell = |col: usize, name: &str| {
                cells
                    .get(col)
                    .copied()
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| line_error(format!("column {name} is empty")))
            };
            let index = cell(index_col, "index")?;
            if index.parse::<usize>().ok() != Some(names.len()) {
                return Err(line_error(format!(
                    "index {index:?} should be {} (rows must be in index order)",
                    names.len()
                )));
            }
            wnids.push(cell(wnid_col, "wnid")?.to_string());
            names.push(cell(label_col, "simple_label")?.to_string());
        }
        if names.is_empty() {
            return Err(LabelError::Read {
                path: path.to_path_buf(),
                message: "the table has no rows".into(),
            });
        }
        Ok(Self::new(names, Some(wnids), path))
    }

    fn new(names: Vec<String>, wnids: Option<Vec<String>>, source: &Path) -> Self {
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, name) in names.iter().enumerate() {
            by_name.entry(normalise(name)).or_default().push(index);
        }
        let by_wnid = wnids
            .iter()
            .flatten()
            .enumerate()
            .map(|(index, wnid)| (wnid.clone(), index))
            .collect();
        ClassNames {
            names,
            wnids,
            source: source.to_path_buf(),
            by_name,
            by_wnid,
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// All names in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The file the names came from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    pub fn name(&self, index: usize) -> Option<&str> {
        self.names.get(index).map(String::as_str)
    }

    pub fn wnid(&self, index: usize) -> Option<&str> {
        self.wnids.as_ref()?.get(index).map(String::as_str)
    }

    /// Every class whose name matches, ignoring case and treating `_` as a space
    /// (ImageNet repeats a few names: "crane" is both a bird and a machine).
    pub fn indices_of(&self, name: &str) -> &[usize] {
        self.by_name
            .get(&normalise(name))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The single class with this name; unknown and ambiguous names are errors.
    pub fn index_of(&self, name: &str) -> Result<usize, LabelError> {
        match self.indices_of(name) {
            [index] => Ok(*index),
            [] => Err(LabelError::UnknownName {
                name: name.into(),
                path: self.source.clone(),
            }),
            several => Err(LabelError::AmbiguousName {
                name: name.into(),
                indices: several.to_vec(),
                path: self.source.clone(),
            }),
        }
    }

    /// The class with this WordNet id (`n02108422`).
    pub fn index_of_wnid(&self, wnid: &str) -> Result<usize, LabelError> {
        if self.wnids.is_none() {
            return Err(LabelError::NoWnids {
                path: self.source.clone(),
            });
        }
        self.by_wnid
            .get(wnid)
            .copied()
            .ok_or_else(|| LabelError::UnknownWnid {
                wnid: wnid.into(),
                path: self.source.clone(),
            })
    }

    /// The class of an ImageNet sample file such as `n02676566_acoustic_guitar.JPEG` (a path
    /// is fine too; only its file name is read), by the WordNet id before the first `_`.
    pub fn index_of_sample_file(&self, file: impl AsRef<Path>) -> Result<usize, LabelError> {
        let file = file.as_ref();
        let file_name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let wnid = file_name.split(['_', '.']).next().unwrap_or("");
        let is_wnid = wnid.len() == 9
            && wnid.starts_with('n')
            && wnid[1..].bytes().all(|b| b.is_ascii_digit());
        if !is_wnid {
            return Err(LabelError::NotASampleName { file_name });
        }
        self.index_of_wnid(wnid)
    }
}

fn normalise(name: &str) -> String {
    name.trim().replace('_', " ").to_lowercase()
}

fn read_text(path: &Path) -> Result<String, LabelError> {
    fs::read_to_string(path).map_err(|e| LabelError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assets_dir;

    fn labels_dir() -> PathBuf {
        assets_dir().join("imagenet").join("labels")
    }

    #[test]
    fn reads_torchvision_class_list() {
        lantern_core::skip_without_assets!();
        let names = ClassNames::load(labels_dir().join("imagenet_classes.txt")).unwrap();
        assert_eq!(names.len(), 1000);
        assert_eq!(names.name(0), Some("tench"));
        assert_eq!(names.name(243), Some("bull mastiff"));
        assert_eq!(names.index_of("Bull_Mastiff").unwrap(), 243);
        assert_eq!(names.index_of("TIGER CAT").unwrap(), 282);
        let err = names.index_of("crane").unwrap_err();
        assert!(
            matches!(&err, LabelError::AmbiguousName { indices, .. } if indices == &[134, 517])
        );
        let err = names.index_of("unicorn").unwrap_err().to_string();
        assert!(
            err.contains("unicorn") && err.contains("imagenet_classes.txt"),
            "{err}"
        );
        assert!(matches!(
            names.index_of_wnid("n01440764"),
            Err(LabelError::NoWnids { .. })
        ));
    }

    #[test]
    fn reads_class_index_table_and_sample_names() {
        lantern_core::skip_without_assets!();
        let names = ClassNames::load(labels_dir().join("imagenet_class_index.tsv")).unwrap();
        assert_eq!(names.len(), 1000);
        assert_eq!(names.name(2), Some("great white shark"));
        assert_eq!(names.wnid(0), Some("n01440764"));
        assert_eq!(names.index_of_wnid("n02108422").unwrap(), 243);
        assert_eq!(
            names
                .index_of_sample_file("samples/n02676566_acoustic_guitar.JPEG")
                .unwrap(),
            402
        );
        assert!(matches!(
            names.index_of_sample_file("cat_dog.png"),
            Err(LabelError::NotASampleName { .. })
        ));
        assert!(matches!(
            names.index_of_sample_file("n99999999_x.JPEG"),
            Err(LabelError::UnknownWnid { .. })
        ));
    }

    #[test]
    fn every_sample_file_maps_to_its_tsv_row() {
        lantern_core::skip_without_assets!();
        let names = ClassNames::load(labels_dir().join("imagenet_class_index.tsv")).unwrap();
        let samples = assets_dir().join("imagenet").join("samples");
        let mut count = 0;
        for entry in fs::read_dir(&samples).unwrap() {
            let path = entry.unwrap().path();
            let index = names.index_of_sample_file(&path).unwrap();
            assert!(path.to_string_lossy().contains(names.wnid(index).unwrap()));
            count += 1;
        }
        assert_eq!(count, 502);
    }

    #[test]
    fn table_errors_name_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.tsv");
        fs::write(&path, "index\twnid\tlabel\n0\tn1\ta\n").unwrap();
        let err = ClassNames::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("labels.tsv") && err.contains("\"simple_label\""),
            "{err}"
        );

        fs::write(&path, "index\twnid\tsimple_label\n0\tn1\ta\n2\tn2\tb\n").unwrap();
        let err = ClassNames::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("line 3") && err.contains("should be 1"),
            "{err}"
        );

        let txt = dir.path().join("names.txt");
        fs::write(&txt, "a\n\nb\n").unwrap();
        let err = ClassNames::load(&txt).unwrap_err().to_string();
        assert!(err.contains("names.txt: line 2: empty class name"), "{err}");
    }
}
