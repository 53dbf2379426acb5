//! ONNX Runtime's own log messages (a CUDA provider that falls back, a node placed on the CPU,
//! a graph optimisation that fails) go to `tracing` events with target `onnxruntime`, so they
//! reach whatever subscriber the program installed (the `lantern` binary prints them on stderr,
//! at the level `-q`/`-v` chose). ONNX Runtime is told the same level, so it does not format
//! messages nobody will see.

use ort::logging::LogLevel;
use tracing::level_filters::LevelFilter;

/// Warnings ONNX Runtime gives for harmless things in exported graphs (an exporter's unused
/// shape initialisers), and its note that a saved optimised graph suits only this machine (the
/// session cache's key holds the CPU's instruction sets): shown at `-vv` rather than on every run.
const BENIGN_WARNINGS: &[&str] = &[
    "Removing initializer",
    "Serializing optimized model with Graph Optimization level greater than",
];

/// Forwards one ONNX Runtime message to `tracing`.
pub fn forward(level: LogLevel, category: &str, _id: &str, location: &str, message: &str) {
    let level = match level {
        LogLevel::Warning if BENIGN_WARNINGS.iter().any(|b| message.starts_with(b)) => {
            LogLevel::Verbose
        }
        other => other,
    };
    match level {
        LogLevel::Verbose => {
            tracing::debug!(target: "onnxruntime", category, location, "{message}")
        }
        LogLevel::Info => tracing::info!(target: "onnxruntime", "{message}"),
        LogLevel::Warning => tracing::warn!(target: "onnxruntime", "{message}"),
        LogLevel::Error => tracing::error!(target: "onnxruntime", "{message}"),
        LogLevel::Fatal => tracing::error!(target: "onnxruntime", "(fatal) {message}"),
    }
}

/// The ONNX Runtime severity that matches the installed subscriber's most verbose level.
pub fn level_for(filter: LevelFilter) -> LogLevel {
    if filter >= LevelFilter::DEBUG {
        LogLevel::Verbose
    } else if filter >= LevelFilter::INFO {
        LogLevel::Info
    } else if filter >= LevelFilter::WARN {
        LogLevel::Warning
    } else if filter >= LevelFilter::ERROR {
        LogLevel::Error
    } else {
        LogLevel::Fatal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_from_the_subscriber_to_onnx_runtime() {
        assert!(matches!(level_for(LevelFilter::OFF), LogLevel::Fatal));
        assert!(matches!(level_for(LevelFilter::ERROR), LogLevel::Error));
        assert!(matches!(level_for(LevelFilter::WARN), LogLevel::Warning));
        assert!(matches!(level_for(LevelFilter::INFO), LogLevel::Info));
        assert!(matches!(level_for(LevelFilter::TRACE), LogLevel::Verbose));
    }
}
