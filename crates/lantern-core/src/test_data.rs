//! Where tests find the shared real images and reference outputs: `$LANTERN_ASSETS` (and
//! `$LANTERN_REFERENCE`), or `shared/` beside the repository as laid out for development and
//! CI. A missing folder fails the test loudly rather than skipping it. Test support for every
//! crate's tests, kept here once.

use std::path::PathBuf;

fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn existing(path: PathBuf, variable: &str) -> PathBuf {
    assert!(
        path.is_dir(),
        "test data folder {} is missing; set {variable} or put shared/ beside the repository",
        path.display()
    );
    path
}

pub fn assets_dir() -> PathBuf {
    let path = std::env::var_os("LANTERN_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| shared_dir().join("assets"));
    existing(path, "LANTERN_ASSETS")
}

pub fn reference_dir() -> PathBuf {
    let path = std::env::var_os("LANTERN_REFERENCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| shared_dir().join("reference"));
    existing(path, "LANTERN_REFERENCE")
}
