//! Listing the image files of a folder: which files count as images, in which order, and a
//! note for everything else so that nothing disappears unexplained.

use std::fs;
use std::path::{Path, PathBuf};

use super::DatasetError;

/// Extensions (compared case-insensitively) that loaders take as images.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// Whether the file name ends in one of [`IMAGE_EXTENSIONS`], in any case (`.JPG` included).
pub fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// The entries of one folder, split into sub-folders and files (symbolic links followed),
/// each sorted by name (byte order, as Python's `sorted` on `str` for UTF-8 names).
pub struct FolderEntries {
    pub folders: Vec<PathBuf>,
    pub files: Vec<PathBuf>,
    /// Entries that are neither (broken links, sockets …).
    pub others: Vec<PathBuf>,
}

pub fn read_folder(folder: &Path) -> Result<FolderEntries, DatasetError> {
    let io_error = DatasetError::io(folder);
    if !folder.is_dir() {
        return Err(DatasetError::NotAFolder {
            path: folder.to_path_buf(),
        });
    }
    let mut entries = FolderEntries {
        folders: Vec::new(),
        files: Vec::new(),
        others: Vec::new(),
    };
    for entry in fs::read_dir(folder).map_err(&io_error)? {
        let path = entry.map_err(&io_error)?.path();
        // `metadata` follows symbolic links, so a linked class folder counts as a folder.
        match fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => entries.folders.push(path),
            Ok(meta) if meta.is_file() => entries.files.push(path),
            _ => entries.others.push(path),
        }
    }
    entries.folders.sort();
    entries.files.sort();
    entries.others.sort();
    Ok(entries)
}

/// Whether a name starts with a dot (`.DS_Store`, `.ipynb_checkpoints`).
pub fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// A note like "ignored 3 files that are not jpg/jpeg/png images in X: a.txt, b.csv, …",
/// or `None` when the list is empty.
pub fn ignored_note(what: &str, root: &Path, paths: &[PathBuf]) -> Option<String> {
    if paths.is_empty() {
        return None;
    }
    const SHOWN: usize = 5;
    let mut names: Vec<String> = paths
        .iter()
        .take(SHOWN)
        .map(|p| {
            p.strip_prefix(root)
                .unwrap_or(p)
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    if paths.len() > SHOWN {
        names.push(format!("and {} more", paths.len() - SHOWN));
    }
    Some(format!(
        "ignored {} {what} in {}: {}",
        paths.len(),
        root.display(),
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_extensions_ignore_case() {
        for name in ["a.jpg", "a b.JPG", "x.Jpeg", "y.PNG"] {
            assert!(has_image_extension(Path::new(name)), "{name}");
        }
        for name in ["a.txt", "jpg", "a.jpg.bak", "a.gif"] {
            assert!(!has_image_extension(Path::new(name)), "{name}");
        }
    }
}
