//! Finding `libonnxruntime`: `ORT_DYLIB_PATH`, then the path the config names, then the
//! project's own install location (`.lantern/ort*/onnxruntime/capi/`, written by `just setup`).
//! Nothing is downloaded here; a missing library is an error that names the command to run.

use crate::error::{Result, RuntimeError};
use std::path::{Path, PathBuf};

/// Where `just setup` (CPU wheel) and `just setup-gpu` (onnxruntime-gpu wheel) install the library,
/// relative to the project root. The GPU folder is preferred when CUDA is asked for.
pub const CPU_INSTALL_DIR: &str = ".lantern/ort";
pub const GPU_INSTALL_DIR: &str = ".lantern/ort-gpu";

/// The project root: `LANTERN_HOME`, else the first ancestor of the current directory or of
/// the executable that holds a `justfile` next to a `crates/` folder.
pub fn project_root() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("LANTERN_HOME") {
        return Some(PathBuf::from(home));
    }
    let mut starts = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    if let Ok(exe) = std::env::current_exe() {
        starts.push(exe);
    }
    // Test binaries run with the crate folder as cwd; the manifest dir leads to the workspace too.
    if let Some(dir) = option_env!("CARGO_MANIFEST_DIR") {
        starts.push(PathBuf::from(dir));
    }
    starts.into_iter().find_map(|start| {
        start
            .ancestors()
            .find(|dir| dir.join("justfile").is_file() && dir.join("crates").is_dir())
            .map(Path::to_path_buf)
    })
}

/// The library inside one install folder: `onnxruntime/capi/libonnxruntime.so.<version>`.
fn library_in(install: &Path) -> Option<PathBuf> {
    let capi = install.join("onnxruntime").join("capi");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&capi)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so") || n == "libonnxruntime.dylib")
        })
        .collect();
    found.sort();
    found.pop()
}

/// Resolves the library path in the documented order. `prefer_gpu` looks in the GPU install first.
pub fn find_library(configured: Option<&Path>, prefer_gpu: bool) -> Result<PathBuf> {
    let mut searched = Vec::new();
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        searched.push(format!("ORT_DYLIB_PATH={}", path.display()));
    }
    if let Some(path) = configured {
        if path.is_file() {
            return Ok(path.to_path_buf());
        }
        searched.push(format!("config runtime.library={}", path.display()));
    }
    if let Some(root) = project_root() {
        let order = if prefer_gpu {
            [GPU_INSTALL_DIR, CPU_INSTALL_DIR]
        } else {
            [CPU_INSTALL_DIR, GPU_INSTALL_DIR]
        };
        for dir in order {
            let install = root.join(dir);
            if let Some(lib) = library_in(&install) {
                return Ok(lib);
            }
            searched.push(install.display().to_string());
        }
    } else {
        searched.push("no project root (set LANTERN_HOME)".into());
    }
    Err(RuntimeError::LibraryNotFound {
        searched: searched.join(", "),
    })
}

/// `libonnxruntime.so.1.32.0` → `1.32.0`; ORT's own version string is not exposed by `ort`.
pub fn version_from_path(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("libonnxruntime.so."))
        .unwrap_or("unknown")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_project_install() {
        let lib = find_library(None, false).expect("run `just setup` first");
        assert!(lib.to_string_lossy().contains("libonnxruntime"));
        assert!(version_from_path(&lib).starts_with("1."));
    }

    #[test]
    fn a_missing_configured_library_is_reported_in_the_search_list() {
        // With ORT_DYLIB_PATH unset and a bogus configured path, the project install still wins;
        // the bogus path must not be returned.
        let lib = find_library(Some(Path::new("/nonexistent/libonnxruntime.so")), false).unwrap();
        assert_ne!(lib, PathBuf::from("/nonexistent/libonnxruntime.so"));
    }
}
