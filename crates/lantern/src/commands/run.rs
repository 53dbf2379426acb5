//! `lantern run EXPERIMENT`: the stages are in `crate::run`.

use super::RuntimeArgs;
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    pub experiment: PathBuf,
    /// Output folder (default: reports/<experiment name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override a setting: --set runtime.batch=16 (repeatable; values are TOML).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Process only shard I of N (1-based), e.g. --shard 2/3; `lantern merge` combines them.
    #[arg(long)]
    pub shard: Option<String>,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    crate::run::run_experiment(
        &args.experiment,
        args.out,
        &args.set,
        args.shard.as_deref(),
        &args.runtime,
    )
}
