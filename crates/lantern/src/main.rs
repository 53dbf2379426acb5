//! `lantern`: explain ONNX image classifiers. A thin binary over the Lantern crates:
//! `run` (TOML experiment → plan → run → artifacts → report), `explain` (one image, one method),
//! `layers` (tensors and the default CAM layer), `grad` (write a gradient-exporting graph),
//! `merge` (combine sharded runs), `bench` (throughput against pure ONNX Runtime).

mod bench;
mod class_map;
mod config;
mod datasets;
mod explain_cmd;
mod figure_style;
mod figures;
mod files;
mod floor;
mod grad_cmd;
mod head;
mod layers_cmd;
mod pipeline;
mod plan;
mod report;
mod rows;
mod run;
mod sanity;
mod scoring;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "lantern",
    version,
    about = "Explain ONNX image classifiers: saliency, occlusion, Grad-CAM and their families, scored for faithfulness."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

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

#[derive(Subcommand)]
enum Command {
    /// Run an experiment file: maps, figures, scores tables, manifest and report under reports/<experiment>/.
    Run {
        experiment: PathBuf,
        /// Output folder (default: reports/<experiment name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override a setting: --set runtime.batch=16 (repeatable; values are TOML).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Process only shard I of N (1-based), e.g. --shard 2/3; `lantern merge` combines them.
        #[arg(long)]
        shard: Option<String>,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Explain one image with one method: writes DIR/<stem>.<method>.npy and a figure.
    Explain(explain_cmd::ExplainArgs),
    /// List every tensor with its op and shape, marking the default CAM layer.
    Layers { model: PathBuf },
    /// Write the gradient-exporting ONNX graph of a model (viewable in Netron).
    Grad {
        model: PathBuf,
        /// Tensors whose activation and gradient the graph also returns (repeatable).
        #[arg(long = "layer")]
        layers: Vec<String>,
        /// Relu rule: plain, guided or deconvnet.
        #[arg(long, default_value = "plain")]
        rule: String,
        /// Differentiate through a final Softmax instead of stopping at its input.
        #[arg(long)]
        through_softmax: bool,
        /// Stop the backward pass at the --layer tensors (no grad_input): what CAMs need.
        #[arg(long)]
        layers_only: bool,
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Combine the part files of a sharded run into the tables and report of a single run.
    Merge { dir: PathBuf },
    /// Measure Lantern against pure ONNX Runtime on the same passes; writes bench.csv and bench.md.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            experiment,
            out,
            set,
            shard,
            runtime,
        } => run::run_experiment(&experiment, out, &set, shard.as_deref(), &runtime),
        Command::Explain(args) => explain_cmd::explain(&args),
        Command::Layers { model } => layers_cmd::layers(&model),
        Command::Grad {
            model,
            layers,
            rule,
            through_softmax,
            layers_only,
            output,
        } => grad_cmd::grad(&model, layers, &rule, through_softmax, layers_only, &output),
        Command::Merge { dir } => run::merge(&dir),
        Command::Bench(args) => bench::bench(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
