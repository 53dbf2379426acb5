//! `lantern bench`: Lantern against pure ONNX Runtime on the same passes, in one run.
//!
//! For each model and method the bench times one map (after a warm-up) and the pure ONNX
//! Runtime time for the same work: the same number of images through the plain forward
//! session (pre-built batches, nothing else) and, for gradient methods, through the gradient
//! session. `overhead = lantern / pure_ort`. Ratios come from one run on one machine.

use crate::pipeline;
use anyhow::{Context as _, Result};
use lantern_explain::{Context, Params};
use lantern_graph::{GradientSpec, ReluRule};
use lantern_runtime::Model;
use ndarray::{Array2, Array3, Array4, Axis};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[path = "bench_occlusion.rs"]
mod occlusion_rows;
#[path = "bench_report.rs"]
mod report;
#[path = "bench_timing.rs"]
mod timing;

use report::{bench_image, memory_rows, write_bench};
use timing::{PureOrt, cam_backward, paired, paired_with};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Output folder for bench.csv and bench.md.
    #[arg(long, default_value = "reports/bench")]
    pub out: PathBuf,
    /// Models as name=path (default: MobileNetV2, the ResNet18 reference model, and ViT-B/16
    /// and ConvNeXt-T when `just bench-models` has exported them). The names vit_b_16 and
    /// convnext_tiny get those models' rows (gradient, Grad-CAM, attention rollout).
    #[arg(long = "model", value_name = "NAME=PATH")]
    pub models: Vec<String>,
    /// Methods to time (default: all).
    #[arg(long, value_delimiter = ',', value_parser = crate::cli_values::methods())]
    pub methods: Vec<String>,
    /// Images per ONNX Runtime call.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Intra-op threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long, default_value = "cpu", value_parser = crate::cli_values::devices())]
    pub device: String,
    /// Fewer methods and samples: a quick check that the bench runs.
    #[arg(long)]
    pub quick: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
struct BenchRow {
    model: String,
    task: String,
    batch: usize,
    threads: String,
    device: String,
    seconds_per_image: f64,
    forward_passes: usize,
    backward_passes: usize,
    pure_ort_seconds: f64,
    overhead: f64,
    note: String,
}

/// A model the bench times, and what it times on it.
struct BenchModel {
    name: String,
    path: PathBuf,
    /// Methods timed when `--methods` is not given (`None`: every method).
    methods: Option<Vec<String>>,
    /// Batch sizes of the gradient-vs-forward rows.
    batches: Vec<usize>,
    /// Whether the deletion+insertion row is timed.
    scoring: bool,
}

impl BenchModel {
    /// Every method, gradient-vs-forward at batch 1 and 16, and deletion+insertion.
    fn full(name: &str, path: PathBuf) -> BenchModel {
        BenchModel {
            name: name.into(),
            path,
            methods: None,
            batches: vec![1, 16],
            scoring: true,
        }
    }

    /// A full-size architecture (ViT-B/16, ConvNeXt-T: 17.6 and 4.5 GFLOPs a pass) gets the rows
    /// the peers also time — gradient, Grad-CAM at the `auto` layer, and attention rollout
    /// where the model has attention — and batch 1 only: hundreds of passes per map would take
    /// minutes on a CPU.
    fn architecture(name: &str, path: PathBuf) -> BenchModel {
        let mut methods = vec!["saliency".to_string(), "gradcam".to_string()];
        if ARCHITECTURES
            .iter()
            .any(|&(n, _, attention)| n == name && attention)
        {
            methods.push("attention-rollout".into());
        }
        BenchModel {
            name: name.into(),
            path,
            methods: Some(methods),
            batches: vec![1],
            scoring: false,
        }
    }

    /// `--model NAME=PATH`: the architecture profile for the names of [`ARCHITECTURES`], else full.
    fn named(name: &str, path: PathBuf) -> BenchModel {
        if ARCHITECTURES.iter().any(|&(n, _, _)| n == name) {
            BenchModel::architecture(name, path)
        } else {
            BenchModel::full(name, path)
        }
    }
}

/// The full-size architectures of issue 12 the bench includes when their files exist
/// (`just bench-models` exports them: torchvision, random weights, seed 0): name, file under
/// `data/models/`, whether the model has attention blocks.
const ARCHITECTURES: &[(&str, &str, bool)] = &[
    ("vit_b_16", "vit_b_16.onnx", true),
    ("convnext_tiny", "convnext_tiny.onnx", false),
];

/// Methods that read attention Softmax nodes: skipped on models that have none.
const ATTENTION_METHODS: &[&str] = &["attention-rollout", "transformer-attribution"];

/// The default models, and a note for each architecture whose file is missing.
fn default_models() -> (Vec<BenchModel>, Vec<String>) {
    let reference = std::env::var_os("LANTERN_ASSETS")
        .map(|a| PathBuf::from(a).join("..").join("reference"))
        .unwrap_or_else(|| PathBuf::from("data/reference"));
    let mut models = vec![
        BenchModel::full(
            "mobilenetv2",
            PathBuf::from("data/models/mobilenetv2-12-float.onnx"),
        ),
        BenchModel::full("resnet18", reference.join("resnet18").join("model.onnx")),
    ];
    let mut missing = Vec::new();
    for (name, file, _) in ARCHITECTURES {
        let path = Path::new("data/models").join(file);
        if path.is_file() {
            models.push(BenchModel::architecture(name, path));
        } else {
            missing.push(format!(
                "{name}: {} is missing, so it was not timed; `just bench-models` exports it (torchvision, random weights, seed 0).",
                path.display()
            ));
        }
    }
    (models, missing)
}

pub fn bench(args: &BenchArgs) -> Result<ExitCode> {
    let runtime = pipeline::open_runtime(Some(&args.device), args.threads, None)?;
    let (models, missing) = if args.models.is_empty() {
        default_models()
    } else {
        let models = args
            .models
            .iter()
            .map(|m| {
                m.split_once('=')
                    .map(|(n, p)| BenchModel::named(n, PathBuf::from(p)))
                    .context("--model NAME=PATH")
            })
            .collect::<Result<_>>()?;
        (models, Vec::new())
    };
    for note in &missing {
        eprintln!("bench: {note}");
    }
    let mut rows = Vec::new();
    for bench_model in &models {
        rows.extend(model_rows(args, runtime, bench_model)?);
    }
    // The memory rows run MobileNetV2: only when it is benched.
    if !args.quick && models.iter().any(|m| m.name == "mobilenetv2") {
        rows.extend(memory_rows(args)?);
    }
    write_bench(&args.out, &rows, &missing)?;
    Ok(ExitCode::SUCCESS)
}

/// What every row of one model shares.
struct RowMaker {
    model: String,
    threads: String,
    device: String,
}

impl RowMaker {
    #[allow(clippy::too_many_arguments, reason = "one row's columns")]
    fn row(
        &self,
        task: &str,
        seconds: f64,
        fwd: usize,
        bwd: usize,
        pure: f64,
        batch: usize,
        note: String,
    ) -> BenchRow {
        BenchRow {
            model: self.model.clone(),
            task: task.to_string(),
            batch,
            threads: self.threads.clone(),
            device: self.device.clone(),
            seconds_per_image: seconds,
            forward_passes: fwd,
            backward_passes: bwd,
            pure_ort_seconds: pure,
            overhead: seconds / pure,
            note,
        }
    }
}

/// One model's setting: the image, its target and what the methods are timed against.
struct Setting<'a> {
    model: &'a Model,
    image: Array3<f32>,
    logits: ndarray::Array1<f32>,
    target: usize,
    batch: usize,
    rounds: usize,
    rows: RowMaker,
}

impl Setting<'_> {
    fn ctx(&self) -> Context<'_> {
        Context {
            model: self.model,
            logits: self.logits.view(),
            batch_size: self.batch,
            seed: 0,
        }
    }
}

/// Every row of one model: gradient vs forward, each method, occlusion's plans, scoring.
fn model_rows(
    args: &BenchArgs,
    runtime: &'static lantern_runtime::Runtime,
    bench_model: &BenchModel,
) -> Result<Vec<BenchRow>> {
    let (name, path) = (&bench_model.name, &bench_model.path);
    let methods: Vec<String> = if !args.methods.is_empty() {
        args.methods.clone()
    } else if let Some(methods) = &bench_model.methods {
        methods.clone()
    } else if args.quick {
        vec!["occlusion".into(), "saliency".into(), "gradcam".into()]
    } else {
        lantern_explain::method_names()
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let model =
        pipeline::load_model(runtime, path).with_context(|| format!("bench model {name}"))?;
    let image = bench_image(&model)?;
    let x = image.view().insert_axis(Axis(0)).to_owned();
    let logits = model.forward(x.view())?.row(0).to_owned();
    let target = pipeline::top_k(logits.view(), 1)[0];
    let set = Setting {
        model: &model,
        logits,
        target,
        batch: args.batch.max(1),
        rounds: if args.quick { 1 } else { 3 },
        rows: RowMaker {
            model: name.clone(),
            threads: args
                .threads
                .map(|t| t.to_string())
                .unwrap_or_else(|| "all".into()),
            device: model.device_used.to_string(),
        },
        image,
    };
    let pure = pure_ort(&set)?;
    let mut rows = gradient_rows(&set, &pure, bench_model)?;
    for method_name in &methods {
        rows.extend(method_row(&set, &pure, method_name)?);
    }
    // Issue 16: occlusion's plans and approximations on the two CNNs.
    if !args.quick
        && methods.iter().any(|m| m == "occlusion")
        && ["resnet18", "mobilenetv2"].contains(&name.as_str())
    {
        let make = |task: &str, seconds: f64, fwd: usize, full: f64, note: String| {
            set.rows.row(task, seconds, fwd, 0, full, set.batch, note)
        };
        rows.extend(occlusion_rows::occlusion_rows(
            &set.ctx(),
            set.image.view(),
            target,
            name,
            &make,
        )?);
    }
    if bench_model.scoring {
        rows.push(scoring_row(&set, &pure)?);
    }
    Ok(rows)
}

/// The two graphs methods use: the input gradient (gradient methods) and the backward pass
/// stopped at the CAM layer (gradient CAMs), run straight on ONNX Runtime.
fn pure_ort<'a>(set: &Setting<'a>) -> Result<PureOrt<'a>> {
    let (model, image) = (set.model, &set.image);
    let input_spec = GradientSpec {
        rule: ReluRule::Plain,
        ..GradientSpec::default()
    };
    // The `auto` layer: on ViT-B/16 the last block's `ln_1` output, the layer of
    // pytorch-grad-cam's ViT recipe that tools/bench_peers.py hooks.
    let cam_layer = model.default_cam_layer()?;
    let cam_spec = GradientSpec {
        layers: vec![cam_layer],
        layers_only: true,
        ..input_spec.clone()
    };
    let n = set.batch.max(16);
    let mut seed = Array2::<f32>::zeros((n, model.classes));
    seed.column_mut(set.target).fill(1.0);
    Ok(PureOrt {
        model,
        forward_batch: Array4::from_shape_fn(
            (n, image.dim().0, image.dim().1, image.dim().2),
            |(_, c, y, xx)| image[[c, y, xx]],
        ),
        gradient: model.gradient_session(&input_spec)?,
        cam_gradient: model.gradient_session(&cam_spec)?,
        seed,
    })
}

/// One gradient batch (input, and stopped at the CAM layer) vs one forward batch of the same size.
fn gradient_rows(set: &Setting, pure: &PureOrt, bench_model: &BenchModel) -> Result<Vec<BenchRow>> {
    let (name, rounds) = (&bench_model.name, set.rounds);
    let mut rows = Vec::new();
    for &b in &bench_model.batches {
        let (grad, fwd) = paired(rounds + 2, || pure.run(0, b, 0), || pure.run(b, 0, 0))?;
        eprintln!(
            "{name}: gradient batch {b}: {grad:.4}s vs forward {fwd:.4}s (×{:.2})",
            grad / fwd
        );
        rows.push(set.rows.row(
            &format!("gradient batch {b} vs forward batch {b}"),
            grad,
            b,
            b,
            fwd,
            b,
            "ratio = gradient / forward".into(),
        ));
        let (cam, fwd) = paired(rounds + 2, || pure.run(0, 0, b), || pure.run(b, 0, 0))?;
        rows.push(set.rows.row(
            &format!("CAM-layer gradient batch {b} vs forward batch {b}"),
            cam,
            b,
            b,
            fwd,
            b,
            "ratio = gradient stopped at the CAM layer / forward".into(),
        ));
    }
    Ok(rows)
}

/// One method through Lantern against the same passes on pure ONNX Runtime; `None` when the
/// model lacks what the method needs (attention methods on a CNN).
fn method_row(set: &Setting, pure: &PureOrt, method_name: &str) -> Result<Option<BenchRow>> {
    let (model, name, target) = (set.model, &set.rows.model, set.target);
    if ATTENTION_METHODS.contains(&method_name)
        && lantern_explain::attention::attention_tensors(method_name, model).is_err()
    {
        eprintln!("{name}: {method_name}: skipped (no attention Softmax in the graph)");
        return Ok(None);
    }
    let method =
        lantern_explain::build_method(method_name, &Params::new(method_name, BTreeMap::new()))?;
    let ctx = set.ctx();
    let e = method.explain(&ctx, set.image.view(), target)?;
    let (fwd, bwd) = (e.passes.forward, e.passes.backward);
    // Backward passes run forward+backward in the gradient graph: price them at its cost.
    // Long methods (hundreds of passes) are timed once, without a separate warm-up: the
    // pass-counting call above already warmed the sessions.
    let long = fwd + bwd >= 300;
    let (seconds, pure_s) = paired_with(
        if long { 1 } else { set.rounds },
        !long,
        &mut || Ok(method.explain(&ctx, set.image.view(), target).map(|_| ())?),
        &mut || {
            let cam = cam_backward(method_name, bwd);
            pure.run(fwd.saturating_sub(bwd), bwd - cam, cam)
        },
    )?;
    eprintln!(
        "{name}: {method_name}: {seconds:.3}s ({fwd} fwd, {bwd} bwd), pure ORT {pure_s:.3}s (×{:.2})",
        seconds / pure_s
    );
    let note = if method_name == "occlusion-incremental" {
        let bound = incremental_mac_bound(model)?;
        eprintln!(
            "{name}: occlusion-incremental: ×{:.2} faster than full re-inference; exact-inference bound ×{bound:.2}",
            pure_s / seconds
        );
        format!(
            "×{:.2} faster than full re-inference (pure ORT); bound for exact incremental inference ×{bound:.2} (multiply-accumulates only)",
            pure_s / seconds
        )
    } else {
        String::new()
    };
    Ok(Some(set.rows.row(
        method_name,
        seconds,
        fwd,
        bwd,
        pure_s,
        set.batch,
        note,
    )))
}

/// Deletion + insertion of one map.
fn scoring_row(set: &Setting, pure: &PureOrt) -> Result<BenchRow> {
    let model = set.model;
    let map = Array2::from_shape_fn((model.input.height, model.input.width), |(y, x)| {
        ((y * 31 + x * 17) % 97) as f32
    });
    let metrics = ["deletion".to_string(), "insertion".to_string()];
    let score = || {
        lantern_metrics::score_map(
            model,
            set.image.view(),
            &map,
            set.target,
            &metrics,
            &Default::default(),
            set.batch,
            Some(set.logits.view()),
            None,
        )
    };
    let passes = score()?.forward_passes;
    let (seconds, pure_s) = paired(
        set.rounds,
        || {
            score()?;
            Ok(())
        },
        || pure.run(passes, 0, 0),
    )?;
    eprintln!(
        "{}: deletion+insertion: {seconds:.3}s ({passes} fwd), pure ORT {pure_s:.3}s",
        set.rows.model
    );
    Ok(set.rows.row(
        "deletion+insertion",
        seconds,
        passes,
        0,
        pure_s,
        set.batch,
        String::new(),
    ))
}

/// The best speed-up exact incremental occlusion (default window and stride) can reach on
/// `model` counting only arithmetic: the planner priced per op, with free copies and calls and
/// as many exits as it likes, gives the fewest multiply-accumulates per window that recompute
/// every changed activation; full inference over that is the ceiling. On ResNet18 the
/// occluder's projective field covers layer3 and layer4 entirely for every window (their
/// receptive fields span ≥ 211 of 224 pixels), which alone is 45 % of the network's work.
fn incremental_mac_bound(model: &Model) -> Result<f64> {
    use lantern_graph::surgery::{PlanOptions, Rect, Segmentation, plan_incremental};
    let windows: Vec<Rect> = lantern_explain::occlusion::Occlusion::default()
        .windows(model.input.height, model.input.width)
        .into_iter()
        .map(|(t, l, b, r)| Rect::new(t as i64, l as i64, b as i64, r as i64))
        .collect();
    let options = PlanOptions {
        copy_cost: 0.0,
        store_cost: 0.0,
        call_cost: 0.0,
        max_fraction: 1.0,
        max_exits: 16,
        segmentation: Segmentation::PerOp,
        ..PlanOptions::default()
    };
    let plan = plan_incremental(&model.proto, model.shapes()?, &windows, &options)?;
    Ok(1.0 / plan.estimated_fraction)
}
