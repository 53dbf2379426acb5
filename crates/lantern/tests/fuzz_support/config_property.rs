//! The experiment file's fuzz property, one copy for both fuzzers: the deterministic tests
//! (`tests/fuzz_parsers.rs`) and the cargo-fuzz target `fuzz/fuzz_targets/experiment_toml.rs`,
//! which includes this file by path. Both include the binary's `config.rs` as `crate::config`.

use crate::config::{ExperimentFile, SweepPoint};
use std::path::Path;

/// `text` written to `path` and loaded, typed, swept and overridden with each of `sets`: no
/// step panics, and every refusal names the file. Returns whether the file typed.
pub fn check_config(path: &Path, text: &[u8], sets: &[String]) -> bool {
    std::fs::write(path, text).unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    let named = |e: &anyhow::Error| {
        let m = format!("{e:#}");
        assert!(m.contains(name), "error does not name the file: {m}");
    };
    let mut file = match ExperimentFile::load(path) {
        Ok(f) => f,
        Err(e) => {
            named(&e);
            return false;
        }
    };
    let typed = match file.typed(&SweepPoint::default()) {
        Ok(_) => true,
        Err(e) => {
            named(&e);
            false
        }
    };
    match file.sweep_points() {
        Ok(points) => {
            for p in &points {
                let _ = p.slug();
                file.typed(p).expect("sweep_points typed every point");
            }
        }
        Err(e) => named(&e),
    }
    for s in sets {
        let _ = file.apply_set(s);
        let _ = file.sweep_points();
    }
    typed
}
