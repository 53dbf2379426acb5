//! `lantern`: explain ONNX image classifiers. A thin binary over the Lantern crates:
//! `run` (TOML experiment → plan → run → artifacts → report), `explain` (one image, one method),
//! `layers` (tensors and the default CAM layer), `grad` (write a gradient-exporting graph),
//! `merge` (combine sharded runs), `bench` (throughput against pure ONNX Runtime). Each command
//! is a file of `commands/`; `run` is staged in `run/`.

mod commands;
mod config;
mod datasets;
mod figures;
mod files;
mod head;
mod pipeline;
mod plan;
mod report;
mod rows;
mod run;
mod sanity;
mod scoring;

use clap::{Parser, Subcommand};
use commands::{bench, explain, grad, layers, merge};
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

#[derive(Subcommand)]
enum Command {
    /// Run an experiment file: maps, figures, scores tables, manifest and report under reports/<experiment>/.
    Run(commands::run::RunArgs),
    /// Explain one image with one method: writes DIR/<stem>.<method>.npy and a figure.
    Explain(explain::ExplainArgs),
    /// List every tensor with its op and shape, marking the default CAM layer.
    Layers { model: PathBuf },
    /// Write the gradient-exporting ONNX graph of a model (viewable in Netron).
    Grad(grad::GradArgs),
    /// Combine the part files of a sharded run into the tables and report of a single run.
    Merge { dir: PathBuf },
    /// Measure Lantern against pure ONNX Runtime on the same passes; writes bench.csv and bench.md.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Explain(args) => explain::explain(&args),
        Command::Layers { model } => layers::layers(&model),
        Command::Grad(a) => grad::grad(
            &a.model,
            a.layers,
            &a.rule,
            a.through_softmax,
            a.layers_only,
            &a.output,
        ),
        Command::Merge { dir } => merge::merge(&dir),
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
