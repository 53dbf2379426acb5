//! Messages on stderr: a `tracing` subscriber for Lantern's own log events and for ONNX
//! Runtime's (forwarded by lantern-runtime with target `onnxruntime`: a CUDA provider falling
//! back, nodes placed on the CPU). `-q` keeps errors only and hides progress bars; the default
//! shows warnings; `-v` adds information, `-vv` debugging, `-vvv` everything ONNX Runtime says.

use std::sync::atomic::{AtomicBool, Ordering};
use tracing::level_filters::LevelFilter;

static QUIET: AtomicBool = AtomicBool::new(false);

/// The most verbose level shown for `-v` given `verbose` times, or `-q`.
pub fn level(verbose: u8, quiet: bool) -> LevelFilter {
    if quiet {
        return LevelFilter::ERROR;
    }
    match verbose {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// Installs the subscriber (once; later calls keep the first).
pub fn init(verbose: u8, quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
    let _ = tracing_subscriber::fmt()
        .with_max_level(level(verbose, quiet))
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}

/// Whether `-q` was given: progress bars and chatty notes stay hidden.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_wins_and_each_v_shows_more() {
        assert_eq!(level(3, true), LevelFilter::ERROR);
        assert_eq!(level(0, false), LevelFilter::WARN);
        assert_eq!(level(1, false), LevelFilter::INFO);
        assert_eq!(level(2, false), LevelFilter::DEBUG);
        assert_eq!(level(9, false), LevelFilter::TRACE);
    }
}
