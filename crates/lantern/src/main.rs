//! `lantern`: explain ONNX image classifiers. A thin binary over the Lantern crates:
//! `run` (TOML experiment → plan → run → artifacts → report), `explain` (images, one method),
//! `layers` (tensors and the default CAM layer), `grad` (write a gradient-exporting graph),
//! `merge` (combine sharded runs), `bench` (throughput against pure ONNX Runtime), `methods`,
//! `fetch`, `setup`, `completions`. Each command is a file of `commands/`; `run` is staged in
//! `run/`. Exit codes: `exit`.

mod class_map;
mod cli_values;
mod commands;
mod config;
mod datasets;
mod exit;
mod fetch;
mod figure_style;
mod figures;
mod files;
mod floor;
mod head;
mod logging;
mod npz;
mod pipeline;
mod plan;
mod report;
mod rows;
mod run;
mod sanity;
mod scoring;
mod startup;

use clap::{CommandFactory, Parser, Subcommand};
use commands::{bench, explain, grad, layers, merge, methods, setup};
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
    /// More messages on stderr: -v information, -vv debugging and everything ONNX Runtime logs.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Errors only: no progress bars, no warnings.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run an experiment file: maps, figures, scores tables, manifest and report under reports/<experiment>/.
    Run(commands::run::RunArgs),
    /// Explain images with one method: DIR/<stem>.<method>.npy (or one .npz), figures, scores.csv.
    Explain(explain::ExplainArgs),
    /// List every tensor with its op and shape, marking the default CAM layer.
    Layers { model: PathBuf },
    /// Write the gradient-exporting ONNX graph of a model (viewable in Netron).
    Grad(grad::GradArgs),
    /// Combine the part files of a sharded run into the tables and report of a single run.
    Merge { dir: PathBuf },
    /// Measure Lantern against pure ONNX Runtime on the same passes; writes bench.csv and bench.md.
    Bench(bench::BenchArgs),
    /// Download the models, images and labels the shipped experiments read into data/ (sha256-checked).
    Fetch(fetch::FetchArgs),
    /// Install ONNX Runtime for an installed `lantern` into ~/.lantern/ort (PyPI wheel, via pip).
    Setup(setup::SetupArgs),
    /// List every attribution method with its parameters, defaults and paper.
    Methods,
    /// Print a shell completion script: lantern completions bash > ~/.local/share/bash-completion/completions/lantern
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose, cli.quiet);
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
        Command::Fetch(args) => fetch::fetch(&args),
        Command::Setup(args) => setup::setup(&args),
        Command::Methods => methods::methods(),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "lantern", &mut script);
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}
