//! The fuzz tests' support: seeded randomness, case budgets, failure records and byte
//! mutators here; the experiment-file mutators and generators in [`config_gen`]; the two
//! properties (shared with the cargo-fuzz targets) in [`model_property`] and [`config_property`].

#![allow(dead_code, reason = "each fuzz property uses a different subset")]

mod config_gen;
mod config_property;
mod model_property;
pub use config_gen::*;
pub use config_property::check_config;
pub use model_property::check_model;

use lantern_core::rng::{GOLDEN_GAMMA, SplitMix64};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Randomness, budgets and failure records

/// lantern-core's SplitMix64 (the stream of `seed ^ γ`), with the helpers the mutators need.
pub struct Rng(SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(SplitMix64::new(seed ^ GOLDEN_GAMMA))
    }
    pub fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        self.0.below_modulo(n as u64) as usize
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.0.next_f64() <= p
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Runs `case(seed)` for `cases` seeds, or for `LANTERN_FUZZ_SECONDS` when that is set.
pub fn for_seeds(cases: u64, mut case: impl FnMut(u64)) {
    let seconds = std::env::var("LANTERN_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let mut seed = 0;
    loop {
        match deadline {
            Some(d) if Instant::now() >= d => break,
            None if seed >= cases => break,
            _ => {}
        }
        case(seed);
        seed += 1;
    }
}

/// Cases run, inputs accepted (decoded / typed) and panics, per property.
#[derive(Default)]
pub struct Tally {
    pub cases: u64,
    pub accepted: u64,
    pub failures: Vec<String>,
}

/// Runs `f` on `input` and counts it as accepted when it returns true; a panic is recorded
/// with the input saved for reproduction.
pub fn guarded(kind: &str, seed: u64, input: &[u8], tally: &mut Tally, f: impl FnOnce() -> bool) {
    tally.cases += 1;
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(accepted) => tally.accepted += u64::from(accepted),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!("{kind}-{seed}.bin"));
            std::fs::write(&file, input).unwrap();
            tally.failures.push(format!(
                "{kind} seed {seed}: {message} (input: {})",
                file.display()
            ));
        }
    }
}

/// Runs `check` on `cases` inputs (see [`for_seeds`]), each drawn by `draw` from its seed's
/// stream as bytes (saved if `check` panics, see [`guarded`]) and whatever else `check` takes;
/// fails on any panic (see [`assert_no_panics`]). Gives the tally.
pub fn fuzz_property<Extra>(
    kind: &str,
    what: &str,
    cases: u64,
    mut draw: impl FnMut(&mut Rng) -> (Vec<u8>, Extra),
    check: impl Fn(&[u8], &Extra) -> bool,
) -> Tally {
    let mut tally = Tally::default();
    for_seeds(cases, |seed| {
        let (bytes, extra) = draw(&mut Rng::new(seed));
        guarded(kind, seed, &bytes, &mut tally, || check(&bytes, &extra));
    });
    assert_no_panics(what, &tally);
    tally
}

/// [`fuzz_property`] of the ONNX reader: [`check_model`] on each input `draw` gives.
pub fn fuzz_model(
    kind: &str,
    what: &str,
    cases: u64,
    mut draw: impl FnMut(&mut Rng) -> Vec<u8>,
) -> Tally {
    let draw = |rng: &mut Rng| (draw(rng), ());
    fuzz_property(kind, what, cases, draw, |bytes, ()| check_model(bytes))
}

/// [`fuzz_property`] of the experiment file: [`check_config`] on each file and `--set` list
/// `draw` gives, written to a scratch file named after `kind`.
pub fn fuzz_config(
    kind: &str,
    what: &str,
    cases: u64,
    draw: impl FnMut(&mut Rng) -> (Vec<u8>, Vec<String>),
) -> Tally {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{kind}.toml"));
    fuzz_property(kind, what, cases, draw, |bytes, sets| {
        check_config(&path, bytes, sets)
    })
}

/// Prints how many inputs were accepted (with `--nocapture`) and fails on any panic.
pub fn assert_no_panics(what: &str, tally: &Tally) {
    eprintln!(
        "{what}: {} cases, {} accepted, {} panics",
        tally.cases,
        tally.accepted,
        tally.failures.len()
    );
    assert!(
        tally.failures.is_empty(),
        "{what}: {} of {} cases panicked:\n{}",
        tally.failures.len(),
        tally.cases,
        tally.failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Byte mutations shared by both parsers

pub const INTERESTING: [u8; 10] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, b'"', b'[', b'=', 0xfe];

/// One to four random edits of `seed_bytes`, with `others` as splice material.
pub fn mutate(rng: &mut Rng, seed_bytes: &[u8], others: &[&[u8]]) -> Vec<u8> {
    let mut b = seed_bytes.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = b.len();
        match rng.below(9) {
            0 if len > 0 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(len);
                    b[i] ^= 1 << rng.below(8);
                }
            }
            1 if len > 0 => {
                let i = rng.below(len);
                b[i] = *rng.pick(&INTERESTING);
            }
            2 => b.truncate(rng.below(len + 1)),
            3 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                b.drain(start..end);
            }
            4 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(256)).min(len);
                let chunk = b[start..end].to_vec();
                let at = rng.below(len + 1);
                b.splice(at..at, chunk);
            }
            5 => {
                let other = *rng.pick(others);
                let cut = rng.below(b.len() + 1);
                let from = rng.below(other.len() + 1);
                b.truncate(cut);
                b.extend_from_slice(&other[from..]);
            }
            6 => {
                let at = rng.below(len + 1);
                let junk: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
                b.splice(at..at, junk);
            }
            7 if len > 0 => {
                // A run of 0xff: protobuf varints and lengths become huge.
                let at = rng.below(len);
                let end = (at + 1 + rng.below(10)).min(len);
                b[at..end].fill(0xff);
            }
            _ if len > 1 => {
                let (i, j) = (rng.below(len), rng.below(len));
                b.swap(i, j);
            }
            _ => b.push(rng.next() as u8),
        }
    }
    b
}

pub fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let n = [0, 1, 2, 8, 64, 512, 4096][rng.below(7)];
    (0..n).map(|_| rng.next() as u8).collect()
}
