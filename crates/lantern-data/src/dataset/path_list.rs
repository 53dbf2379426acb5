//! Unlabelled datasets: an explicit list of image paths, or every image directly inside one
//! folder (no patterns, no recursion: what is listed is what runs).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::image_folder::file_name;
use super::listing::{has_image_extension, ignored_note, is_hidden, read_folder};
use super::{Dataset, DatasetError, Sample};

impl Dataset {
    /// One unlabelled sample per path, in the given order; the id is the path as given. A path
    /// that is not an existing file, or that repeats an earlier one, becomes a failed sample.
    pub fn from_paths<P: Into<PathBuf>>(
        name: impl Into<String>,
        paths: impl IntoIterator<Item = P>,
    ) -> Dataset {
        let mut first_index: HashMap<PathBuf, usize> = HashMap::new();
        let samples = paths
            .into_iter()
            .enumerate()
            .map(|(index, path)| {
                let path: PathBuf = path.into();
                let error = if let Some(first) = first_index.get(&path) {
                    Some(format!(
                        "{} is listed twice (entries {} and {})",
                        path.display(),
                        first + 1,
                        index + 1
                    ))
                } else if !path.is_file() {
                    first_index.insert(path.clone(), index);
                    Some(format!("image file {} does not exist", path.display()))
                } else {
                    first_index.insert(path.clone(), index);
                    None
                };
                Sample {
                    id: path.to_string_lossy().into_owned(),
                    path,
                    label: None,
                    error,
                }
            })
            .collect();
        Dataset {
            name: name.into(),
            classes: Vec::new(),
            samples,
            notes: Vec::new(),
        }
    }

    /// Every jpg/jpeg/png file (any case) directly inside `folder`, sorted by name, unlabelled;
    /// the id is the file name. Sub-folders and other files are listed in `notes`.
    pub fn folder_of_images(folder: impl AsRef<Path>) -> Result<Dataset, DatasetError> {
        let folder = folder.as_ref();
        let entries = read_folder(folder)?;
        let (images, ignored): (Vec<PathBuf>, Vec<PathBuf>) = entries
            .files
            .into_iter()
            .partition(|p| has_image_extension(p) && !is_hidden(p));
        let mut notes = Vec::new();
        notes.extend(ignored_note(
            "files that are not jpg/jpeg/png images",
            folder,
            &ignored,
        ));
        notes.extend(ignored_note(
            "sub-folders (not searched)",
            folder,
            &entries.folders,
        ));
        notes.extend(ignored_note(
            "entries that are neither files nor folders",
            folder,
            &entries.others,
        ));
        if images.is_empty() {
            return Err(DatasetError::NoSamples {
                path: folder.to_path_buf(),
            });
        }
        let samples = images
            .into_iter()
            .map(|path| Sample {
                id: file_name(&path),
                path,
                label: None,
                error: None,
            })
            .collect();
        Ok(Dataset {
            name: file_name(folder),
            classes: Vec::new(),
            samples,
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assets_dir;

    #[test]
    fn explicit_paths_keep_order_and_flag_problems() {
        lantern_core::skip_without_assets!();
        let photos = assets_dir().join("photos");
        let dataset = Dataset::from_paths(
            "list",
            [
                photos.join("snake.png"),
                photos.join("absent.png"),
                photos.join("cat_dog.png"),
                photos.join("snake.png"),
            ],
        );
        let errors: Vec<Option<&str>> =
            dataset.samples.iter().map(|s| s.error.as_deref()).collect();
        assert!(errors[0].is_none() && errors[2].is_none());
        assert!(errors[1].unwrap().contains("absent.png does not exist"));
        assert!(
            errors[3]
                .unwrap()
                .contains("listed twice (entries 1 and 4)")
        );
        assert!(dataset.samples.iter().all(|s| s.label.is_none()));
    }

    #[test]
    fn folder_of_images_lists_sorted_images_and_notes_the_rest() {
        lantern_core::skip_without_assets!();
        let dataset = Dataset::folder_of_images(assets_dir().join("photos")).unwrap();
        let ids: Vec<&str> = dataset.samples.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids.len(), 17);
        assert_eq!(ids[0], "astronaut.png");
        assert!(ids.contains(&"pytorch_hub_dog.jpg") && ids.contains(&"bald_eagle.jpeg"));
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(
            dataset.notes[0].contains("skimage-README.txt"),
            "{:?}",
            dataset.notes
        );
    }
}
