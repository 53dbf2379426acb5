//! The experiment file parser (`crates/lantern/src/config.rs`, included by path) on arbitrary
//! input: the bytes up to the first NUL are the file, each further NUL-separated part a
//! `--set` assignment. Loading, typing, sweeping and overriding never panic, and every refusal
//! names the file. Seed corpus: `just fuzz` copies `experiments/*.toml` there.
#![no_main]

#[allow(
    dead_code,
    reason = "the binary's module, included for its parser only"
)]
#[path = "../../crates/lantern/src/config.rs"]
mod config;


use config::{ExperimentFile, SweepPoint};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

/// One scratch file per fuzzing process.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("lantern-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        dir.join("fuzz.toml")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0);
    let text = parts.next().unwrap_or_default();
    let sets: Vec<String> = parts
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    let path = scratch();
    std::fs::write(path, text).expect("scratch file");
    let named = |e: &anyhow::Error| {
        let m = format!("{e:#}");
        assert!(m.contains("fuzz.toml"), "error does not name the file: {m}");
    };
    let mut file = match ExperimentFile::load(path) {
        Ok(f) => f,
        Err(e) => return named(&e),
    };
    if let Err(e) = file.typed(&SweepPoint::default()) {
        named(&e);
    }
    match file.sweep_points() {
        Ok(points) => {
            for p in &points {
                let _ = p.slug();
                file.typed(p).expect("sweep_points typed every point");
            }
        }
        Err(e) => named(&e),
    }
    for s in &sets {
        let _ = file.apply_set(s);
        let _ = file.sweep_points();
    }
});
