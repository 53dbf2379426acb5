//! Finding `libonnxruntime`, in this order: `ORT_DYLIB_PATH`; the path the config names; the
//! checkout's own install (`.lantern/ort*/onnxruntime/capi/`, written by `just setup`); the
//! user's install (`~/.lantern/ort*` or the platform's data folder, written by `lantern setup`);
//! the `onnxruntime` package of the active Python (`python3`, or `PYTHON`), found without
//! importing it. Nothing is downloaded here; a missing library is an error that names the one
//! command that fixes it.

use crate::error::{Result, RuntimeError};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `just setup` (CPU wheel) and `just setup-gpu` (onnxruntime-gpu wheel) install the library,
/// relative to the project root, and `lantern setup` relative to the user's folder. The GPU
/// folder is preferred when CUDA is asked for.
pub const CPU_INSTALL_DIR: &str = ".lantern/ort";
pub const GPU_INSTALL_DIR: &str = ".lantern/ort-gpu";

/// The ONNX Runtime release Lantern is built and tested against (the PyPI wheel `setup` installs).
pub const ORT_VERSION: &str = "1.32.0";

/// The project root: `LANTERN_HOME`, else the first ancestor of the current directory or of
/// the executable that holds a `justfile` next to a `crates/` folder. Nothing recorded at
/// compile time counts: an installed `lantern` run outside a checkout sees no checkout (test
/// binaries run with their crate folder as the current directory, so they find theirs).
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
    starts.into_iter().find_map(|start| {
        start
            .ancestors()
            .find(|dir| dir.join("justfile").is_file() && dir.join("crates").is_dir())
            .map(Path::to_path_buf)
    })
}

/// The library inside one install folder: `onnxruntime/capi/libonnxruntime.so.<version>`.
fn library_in(install: &Path) -> Option<PathBuf> {
    library_in_package(&install.join("onnxruntime"))
}

/// The library inside an `onnxruntime` Python package folder (`capi/`).
fn library_in_package(package: &Path) -> Option<PathBuf> {
    lantern_core::ort_library::library_in_capi(&package.join("capi"))
}

/// The user's install folders (`lantern setup`), CPU and GPU, in the order to search them.
pub fn user_installs(prefer_gpu: bool) -> Vec<PathBuf> {
    let (first, second) = if prefer_gpu {
        ("ort-gpu", "ort")
    } else {
        ("ort", "ort-gpu")
    };
    lantern_core::dirs::user_dirs()
        .into_iter()
        .flat_map(|d| [d.join(first), d.join(second)])
        .collect()
}

/// The `onnxruntime` package folder of the active Python, located without importing it (the
/// import needs numpy; finding the file does not).
pub fn python_package() -> Option<PathBuf> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .args([
            "-c",
            "import importlib.util as u; s = u.find_spec('onnxruntime'); \
             print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let dir = text.trim();
    (out.status.success() && !dir.is_empty()).then(|| PathBuf::from(dir))
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
    let mut installs = Vec::new();
    if let Some(root) = project_root() {
        let order = if prefer_gpu {
            [GPU_INSTALL_DIR, CPU_INSTALL_DIR]
        } else {
            [CPU_INSTALL_DIR, GPU_INSTALL_DIR]
        };
        installs.extend(order.iter().map(|dir| root.join(dir)));
    }
    installs.extend(user_installs(prefer_gpu));
    for install in installs {
        if let Some(lib) = library_in(&install) {
            return Ok(lib);
        }
        searched.push(install.display().to_string());
    }
    match python_package() {
        Some(package) => match library_in_package(&package) {
            Some(lib) => return Ok(lib),
            None => searched.push(format!("Python's onnxruntime at {}", package.display())),
        },
        None => searched.push("Python's onnxruntime (not installed)".into()),
    }
    Err(RuntimeError::LibraryNotFound {
        searched: searched.join(", "),
    })
}

/// `libonnxruntime.so.1.32.0` → `1.32.0`; ORT's own version string is not exposed by `ort`.
pub fn version_from_path(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.strip_prefix("libonnxruntime.so.")
        .or_else(|| {
            name.strip_prefix("libonnxruntime.")
                .and_then(|n| n.strip_suffix(".dylib"))
        })
        .filter(|v| !v.is_empty())
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

    #[test]
    fn a_python_package_folder_holds_the_library_in_capi() {
        let dir = tempfile::tempdir().unwrap();
        let capi = dir.path().join("onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        assert_eq!(library_in_package(&dir.path().join("onnxruntime")), None);
        std::fs::write(capi.join("libonnxruntime.so.1.32.0"), b"").unwrap();
        std::fs::write(capi.join("onnxruntime_pybind11_state.so"), b"").unwrap();
        assert_eq!(
            library_in(dir.path()),
            Some(capi.join("libonnxruntime.so.1.32.0"))
        );
        assert_eq!(
            version_from_path(&capi.join("libonnxruntime.so.1.32.0")),
            "1.32.0"
        );
        assert_eq!(
            version_from_path(Path::new("libonnxruntime.1.32.0.dylib")),
            "1.32.0"
        );
    }
}
