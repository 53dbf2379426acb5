//! The closed sets the command line accepts, as clap possible values: `--help` lists them,
//! shell completion offers them, and a wrong value is a usage error (exit 2) that names every
//! valid one. Method names come from the registry, so a new method needs no change here.

use clap::builder::{PossibleValue, PossibleValuesParser};

/// Every method in `lantern_explain`'s registry.
pub fn methods() -> PossibleValuesParser {
    PossibleValuesParser::new(lantern_explain::method_names())
}

/// The preprocessing presets.
pub fn presets() -> PossibleValuesParser {
    PossibleValuesParser::new(lantern_data::Preset::ALL.map(|p| p.name()))
}

/// Execution providers: `auto` is CUDA when it starts, else the CPU (`gpu`, hidden, is an alias
/// of `cuda`, as in the config).
pub fn devices() -> PossibleValuesParser {
    PossibleValuesParser::new([
        PossibleValue::new("cpu"),
        PossibleValue::new("cuda"),
        PossibleValue::new("auto"),
        PossibleValue::new("gpu").hide(true),
    ])
}

/// The Relu rules of a gradient graph.
pub fn relu_rules() -> PossibleValuesParser {
    PossibleValuesParser::new(["plain", "guided", "deconvnet"])
}

/// The metrics `lantern explain --metrics` scores a map with.
pub fn explain_metrics() -> PossibleValuesParser {
    PossibleValuesParser::new(crate::scoring::METRICS)
}
