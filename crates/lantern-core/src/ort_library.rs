//! Where ONNX Runtime's shared library sits in an `onnxruntime` Python package (the PyPI wheel
//! that `just setup` / `lantern setup` install): `capi/libonnxruntime.so.<version>` (`.dylib`
//! on macOS, `onnxruntime.dll` on Windows). Shared by the runtime's discovery and the test and
//! example harnesses that load the library themselves.

use std::path::{Path, PathBuf};

/// The library in a package's `capi` folder (the newest by name when several are there).
pub fn library_in_capi(capi: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(capi)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("libonnxruntime.so")
                    || n.starts_with("libonnxruntime.") && n.ends_with(".dylib")
                    || n == "onnxruntime.dll"
            })
        })
        .collect();
    found.sort();
    found.pop()
}
