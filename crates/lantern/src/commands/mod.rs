//! The subcommands of the `lantern` binary, one file each; `main.rs` only parses and dispatches.

pub mod bench;
pub mod explain;
pub mod explain_batch;
pub mod grad;
pub mod layers;
pub mod merge;
pub mod methods;
pub mod run;
pub mod setup;

/// Runtime flags shared by the commands that run a model.
#[derive(clap::Args, Clone, Debug)]
pub struct RuntimeArgs {
    /// Execution provider (auto: cuda when it starts, else cpu).
    #[arg(long, value_parser = crate::cli_values::devices())]
    pub device: Option<String>,
    /// Intra-op threads for ONNX Runtime (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}
