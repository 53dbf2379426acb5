//! `lantern`: explain ONNX image classifiers. A thin binary over the Lantern crates:
//! `run` (TOML experiment → plan → run → artifacts → report), `explain` (one image, one method),
//! `layers` (tensors and the default CAM layer), `grad` (write a gradient-exporting graph),
//! `merge` (combine sharded runs), `bench` (throughput against pure ONNX Runtime).

mod bench;
mod cli_values;
mod config;
mod datasets;
mod exit;
mod explain_batch;
mod explain_cmd;
mod fetch;
mod figures;
mod files;
mod grad_cmd;
mod head;
mod layers_cmd;
mod logging;
mod methods_cmd;
mod npz;
mod pipeline;
mod plan;
mod report;
mod rows;
mod run;
mod sanity;
mod scoring;
mod setup_cmd;

use clap::{CommandFactory, Parser, Subcommand};
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
    /// More messages on stderr: -v information, -vv debugging, -vvv everything ONNX Runtime logs.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Errors only: no progress bars, no warnings.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
}

/// Runtime flags shared by the commands that run a model.
#[derive(clap::Args, Clone, Debug)]
pub struct RuntimeArgs {
    /// Execution provider (auto: cuda when it starts, else cpu).
    #[arg(long, value_parser = cli_values::devices())]
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
    /// Explain images with one method: DIR/<stem>.<method>.npy (or one .npz), figures, scores.csv.
    Explain(explain_cmd::ExplainArgs),
    /// List every tensor with its op and shape, marking the default CAM layer.
    Layers { model: PathBuf },
    /// Write the gradient-exporting ONNX graph of a model (viewable in Netron).
    Grad {
        model: PathBuf,
        /// Tensors whose activation and gradient the graph also returns (repeatable).
        #[arg(long = "layer")]
        layers: Vec<String>,
        /// Relu rule (guided backprop and deconvnet swap the Relu/Clip rule).
        #[arg(long, default_value = "plain", value_parser = cli_values::relu_rules())]
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
    /// Download the models, images and labels the shipped experiments read into data/ (sha256-checked).
    Fetch(fetch::FetchArgs),
    /// Install ONNX Runtime for an installed `lantern` into ~/.lantern/ort (PyPI wheel, via pip).
    Setup(setup_cmd::SetupArgs),
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
        Command::Fetch(args) => fetch::fetch(&args),
        Command::Setup(args) => setup_cmd::setup(&args),
        Command::Methods => methods_cmd::methods(),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "lantern",
                &mut std::io::stdout(),
            );
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
