//! The experiment file parser (`crates/lantern/src/config.rs`, included by path) on arbitrary
//! input: the bytes up to the first NUL are the file, each further NUL-separated part a
//! `--set` assignment. Loading, typing, sweeping and overriding never panic, and every refusal
//! names the file (the property of `crates/lantern/tests/fuzz_parsers.rs`, from the file both
//! include). Seed corpus: `just fuzz` copies `experiments/*.toml` there.
#![no_main]
#![allow(
    dead_code,
    reason = "the binary's modules, included for the parser only"
)]

/// config.rs names `head::augment::AugmentSection`.
#[path = "../../crates/lantern/src/head/augment.rs"]
mod augment;
#[path = "../../crates/lantern/src/config.rs"]
mod config;
mod head {
    pub(crate) use super::augment;
}
#[path = "../../crates/lantern/tests/fuzz_support/config_property.rs"]
mod config_property;

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

/// One scratch file per fuzzing process; refusals must name it.
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
    config_property::check_config(scratch(), text, &sets);
});
