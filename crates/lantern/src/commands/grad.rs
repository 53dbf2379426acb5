use crate::pipeline;
use anyhow::{Context as _, Result, bail};
use lantern_graph::{GradientSpec, ReluRule};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct GradArgs {
    pub model: PathBuf,
    /// Tensors whose activation and gradient the graph also returns (repeatable).
    #[arg(long = "layer")]
    pub layers: Vec<String>,
    /// Relu rule (guided backprop and deconvnet swap the Relu/Clip rule).
    #[arg(long, default_value = "plain", value_parser = crate::cli_values::relu_rules())]
    pub rule: String,
    /// Differentiate through a final Softmax instead of stopping at its input.
    #[arg(long)]
    pub through_softmax: bool,
    /// Stop the backward pass at the --layer tensors (no grad_input): what CAMs need.
    #[arg(long)]
    pub layers_only: bool,
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
}

/// `lantern grad M.onnx [--layer T]… [--rule plain|guided|deconvnet] [--layers-only] -o OUT.onnx`.
pub fn grad(
    model_path: &Path,
    layers: Vec<String>,
    rule: &str,
    through_softmax: bool,
    layers_only: bool,
    output: &Path,
) -> Result<ExitCode> {
    let rule = match rule {
        "plain" => ReluRule::Plain,
        "guided" => ReluRule::Guided,
        "deconvnet" => ReluRule::Deconvnet,
        other => bail!("--rule {other:?}: expected plain, guided or deconvnet"),
    };
    let runtime = pipeline::open_runtime(None, None, None)?;
    let model = pipeline::load_model(runtime, model_path)?;
    let layers = layers
        .into_iter()
        .map(|l| {
            if l == "auto" {
                model.default_cam_layer().map_err(Into::into)
            } else {
                Ok(l)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    if layers_only && layers.is_empty() {
        bail!(
            "--layers-only stops the backward pass at the --layer tensors: name at least one (e.g. --layer auto)"
        );
    }
    let spec = GradientSpec {
        layers,
        rule,
        logits: None,
        through_softmax,
        layers_only,
    };
    let graph = lantern_graph::build_gradient_graph(&model.proto, model.shapes()?, &spec)?;
    crate::files::write_bytes(output, &lantern_graph::encode_model(&graph))
        .with_context(|| format!("writing {}", output.display()))?;
    // Prove the graph loads before telling the user it is ready.
    runtime.session(&std::fs::read(output)?, &output.display().to_string())?;
    println!(
        "wrote {} (inputs: input, seed; outputs: logits{}{})",
        output.display(),
        if layers_only { "" } else { ", grad_input" },
        spec.layers
            .iter()
            .map(|l| format!(", {l}, grad_{l}"))
            .collect::<String>()
    );
    Ok(ExitCode::SUCCESS)
}
