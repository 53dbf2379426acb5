//! The subcommands of the `lantern` binary, one file each; `main.rs` only parses and dispatches.

pub mod bench;
pub mod explain;
pub mod grad;
pub mod layers;
pub mod merge;
pub mod run;

/// Runtime flags shared by the commands that run a model.
#[derive(clap::Args, Clone, Debug)]
pub struct RuntimeArgs {
    /// Execution provider: cpu, cuda or auto (cuda when it starts, else cpu).
    #[arg(long)]
    pub device: Option<String>,
    /// Intra-op threads for ONNX Runtime (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}
