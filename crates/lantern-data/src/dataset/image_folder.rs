//! torchvision-style `ImageFolder`: `root/<class>/<image>`; classes are the sub-folder names in
//! sorted order, so label indices agree with a model trained by torchvision on the same folder.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::listing::{has_image_extension, ignored_note, is_hidden, read_folder};
use super::{Dataset, DatasetError, Sample};

impl Dataset {
    /// Loads `root/<class>/…/<image>`. Images are files ending in jpg/jpeg/png in any case,
    /// found recursively below each class folder and sorted by their path. Hidden class
    /// folders (`.ipynb_checkpoints`) are not classes, unlike in torchvision; they and every
    /// non-image file are listed in `notes`.
    pub fn image_folder(root: impl AsRef<Path>) -> Result<Dataset, DatasetError> {
        let root = root.as_ref();
        let top = read_folder(root)?;
        let mut notes = Vec::new();
        let (hidden, class_folders): (Vec<PathBuf>, Vec<PathBuf>) =
            top.folders.into_iter().partition(|p| is_hidden(p));
        notes.extend(ignored_note("hidden folders (not classes)", root, &hidden));
        notes.extend(ignored_note(
            "files outside class folders",
            root,
            &top.files,
        ));
        notes.extend(ignored_note(
            "entries that are neither files nor folders",
            root,
            &top.others,
        ));
        if class_folders.is_empty() {
            return Err(DatasetError::NoClasses {
                path: root.to_path_buf(),
            });
        }

        let mut classes = Vec::with_capacity(class_folders.len());
        let mut samples = Vec::new();
        let mut ignored = Vec::new();
        for (label, folder) in class_folders.iter().enumerate() {
            let class = file_name(folder);
            let mut images = Vec::new();
            let mut visited = HashSet::new();
            collect_images(folder, &mut images, &mut ignored, &mut visited)?;
            images.sort();
            if images.is_empty() {
                notes.push(format!("class {class:?} has no images"));
            }
            samples.extend(images.into_iter().map(|path| Sample {
                id: relative_id(root, &path),
                path,
                label: Some(label),
                error: None,
            }));
            classes.push(class);
        }
        notes.extend(ignored_note(
            "entries that are not jpg/jpeg/png images (or folders already visited through a link)",
            root,
            &ignored,
        ));
        if samples.is_empty() {
            return Err(DatasetError::NoSamples {
                path: root.to_path_buf(),
            });
        }
        Ok(Dataset {
            name: file_name(root),
            classes,
            samples,
            notes,
        })
    }
}

/// Images below `folder`, at any depth; everything else goes to `ignored`. Folders are
/// followed through symbolic links, so `visited` (canonical paths) stops link cycles.
fn collect_images(
    folder: &Path,
    images: &mut Vec<PathBuf>,
    ignored: &mut Vec<PathBuf>,
    visited: &mut HashSet<PathBuf>,
) -> Result<(), DatasetError> {
    let canonical = folder.canonicalize().map_err(DatasetError::io(folder))?;
    if !visited.insert(canonical) {
        ignored.push(folder.to_path_buf());
        return Ok(());
    }
    let entries = read_folder(folder)?;
    for file in entries.files {
        if has_image_extension(&file) && !is_hidden(&file) {
            images.push(file);
        } else {
            ignored.push(file);
        }
    }
    ignored.extend(entries.others);
    for sub in entries.folders {
        collect_images(&sub, images, ignored, visited)?;
    }
    Ok(())
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// `class/sub/file.jpg` with forward slashes on every platform.
fn relative_id(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assets_dir;
    use std::fs;

    #[test]
    fn loads_plantvillage_apple() {
        lantern_core::skip_without_assets!();
        let root = assets_dir().join("plantvillage-apple");
        let dataset = Dataset::image_folder(&root).unwrap();
        assert_eq!(
            dataset.classes,
            [
                "Apple___Apple_scab",
                "Apple___Black_rot",
                "Apple___Cedar_apple_rust",
                "Apple___healthy"
            ]
        );
        assert_eq!(dataset.samples.len(), 1175);
        assert_eq!(dataset.class_counts(), vec![300, 300, 275, 300]);
        assert!(dataset.samples.iter().all(|s| s.error.is_none()));
        // index.csv sits at the top level and is reported, not silently skipped.
        assert!(
            dataset.notes.iter().any(|n| n.contains("index.csv")),
            "{:?}",
            dataset.notes
        );
        // Upper-case .JPG names with spaces are found, sorted within each class.
        let first = &dataset.samples[0];
        assert!(first.id.starts_with("Apple___Apple_scab/"), "{}", first.id);
        assert!(first.path.is_file());
        let scab: Vec<&str> = dataset.samples[..300]
            .iter()
            .map(|s| s.id.as_str())
            .collect();
        let mut sorted = scab.clone();
        sorted.sort();
        assert_eq!(scab, sorted);
        assert!(
            dataset
                .samples
                .iter()
                .any(|s| s.id.contains(' ') && s.id.ends_with(".JPG"))
        );
    }

    #[test]
    fn notes_odd_files_and_keeps_empty_classes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for folder in ["b class", "a", "empty", ".hidden", "a/nested"] {
            fs::create_dir_all(root.join(folder)).unwrap();
        }
        for file in [
            "b class/y ü.PNG",
            "b class/x.jpeg",
            "a/readme.txt",
            "a/nested/z.jpg",
            "a/1.Jpg",
            "top.jpg",
        ] {
            fs::write(root.join(file), b"not decoded here").unwrap();
        }
        let dataset = Dataset::image_folder(root).unwrap();
        assert_eq!(dataset.classes, ["a", "b class", "empty"]);
        let ids: Vec<&str> = dataset.samples.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "a/1.Jpg",
                "a/nested/z.jpg",
                "b class/x.jpeg",
                "b class/y ü.PNG"
            ]
        );
        let labels: Vec<_> = dataset.samples.iter().map(|s| s.label).collect();
        assert_eq!(labels, [Some(0), Some(0), Some(1), Some(1)]);
        let notes = dataset.notes.join("\n");
        for expected in [
            ".hidden",
            "top.jpg",
            "readme.txt",
            "\"empty\" has no images",
        ] {
            assert!(notes.contains(expected), "missing {expected:?} in {notes}");
        }
    }

    #[test]
    fn symbolic_link_cycles_end() {
        let dir = tempfile::tempdir().unwrap();
        let class = dir.path().join("class");
        fs::create_dir(&class).unwrap();
        fs::write(class.join("a.png"), b"x").unwrap();
        std::os::unix::fs::symlink(&class, class.join("loop")).unwrap();
        let dataset = Dataset::image_folder(dir.path()).unwrap();
        assert_eq!(dataset.samples.len(), 1);
        assert!(
            dataset.notes.iter().any(|n| n.contains("loop")),
            "{:?}",
            dataset.notes
        );
    }

    #[test]
    fn errors_name_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let err = Dataset::image_folder(dir.path()).unwrap_err().to_string();
        assert!(err.contains(&dir.path().display().to_string()) && err.contains("no class"));
        let missing = dir.path().join("nope");
        let err = Dataset::image_folder(&missing).unwrap_err().to_string();
        assert!(
            err.contains("nope") && err.contains("not a folder"),
            "{err}"
        );
    }
}
