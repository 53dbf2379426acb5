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

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Output folder for bench.csv and bench.md.
    #[arg(long, default_value = "reports/bench")]
    pub out: PathBuf,
    /// Models as name=path (default: MobileNetV2 and the ResNet18 reference model).
    #[arg(long = "model", value_name = "NAME=PATH")]
    pub models: Vec<String>,
    /// Methods to time (default: all).
    #[arg(long, value_delimiter = ',')]
    pub methods: Vec<String>,
    /// Images per ONNX Runtime call.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Intra-op threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long, default_value = "cpu")]
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

fn default_models() -> Vec<(String, PathBuf)> {
    let reference = std::env::var_os("LANTERN_ASSETS")
        .map(|a| PathBuf::from(a).join("..").join("reference"))
        .unwrap_or_else(|| PathBuf::from("data/reference"));
    vec![
        (
            "mobilenetv2".into(),
            PathBuf::from("data/models/mobilenetv2-12-float.onnx"),
        ),
        (
            "resnet18".into(),
            reference.join("resnet18").join("model.onnx"),
        ),
    ]
}

/// Median wall time of `runs` calls after one warm-up call.
fn time<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<f64> {
    f()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Pure ORT: `n` images through the forward session in batches of `batch` (pre-built input).
fn pure_forward(model: &Model, image: &Array3<f32>, n: usize, batch: usize) -> Result<f64> {
    let full = Array4::from_shape_fn(
        (
            batch.min(n).max(1),
            image.dim().0,
            image.dim().1,
            image.dim().2,
        ),
        |(_, c, y, x)| image[[c, y, x]],
    );
    let last = n % batch.max(1);
    let tail = full.slice(ndarray::s![..last, .., .., ..]).to_owned();
    time(1, || {
        for _ in 0..n / batch.max(1) {
            model.forward(full.view())?;
        }
        if last > 0 {
            model.forward(tail.view())?;
        }
        Ok(())
    })
}

/// Pure ORT: `n` images through the gradient session in batches of `batch`.
fn pure_gradient(
    model: &Model,
    image: &Array3<f32>,
    n: usize,
    batch: usize,
    spec: &GradientSpec,
    target: usize,
) -> Result<f64> {
    let session = model.gradient_session(spec)?;
    let b = batch.min(n).max(1);
    let x = Array4::from_shape_fn(
        (b, image.dim().0, image.dim().1, image.dim().2),
        |(_, c, y, xx)| image[[c, y, xx]],
    );
    let mut seed = Array2::<f32>::zeros((b, model.classes));
    seed.column_mut(target).fill(1.0);
    time(1, || {
        for _ in 0..n.div_ceil(b) {
            session.run(x.view(), seed.view())?;
        }
        Ok(())
    })
}

pub fn bench(args: &BenchArgs) -> Result<ExitCode> {
    let runtime = pipeline::open_runtime(Some(&args.device), args.threads, None)?;
    let models: Vec<(String, PathBuf)> = if args.models.is_empty() {
        default_models()
    } else {
        args.models
            .iter()
            .map(|m| {
                m.split_once('=')
                    .map(|(n, p)| (n.to_string(), PathBuf::from(p)))
                    .context("--model NAME=PATH")
            })
            .collect::<Result<_>>()?
    };
    let methods: Vec<String> = if !args.methods.is_empty() {
        args.methods.clone()
    } else if args.quick {
        vec!["occlusion".into(), "saliency".into(), "gradcam".into()]
    } else {
        lantern_explain::method_names()
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let threads = args
        .threads
        .map(|t| t.to_string())
        .unwrap_or_else(|| "all".into());
    let mut rows = Vec::new();
    for (name, path) in &models {
        let model =
            pipeline::load_model(runtime, path).with_context(|| format!("bench model {name}"))?;
        let image = bench_image(&model)?;
        let x = image.view().insert_axis(Axis(0)).to_owned();
        let logits = model.forward(x.view())?.row(0).to_owned();
        let target = pipeline::top_k(logits.view(), 1)[0];
        let row = |task: &str,
                   seconds: f64,
                   fwd: usize,
                   bwd: usize,
                   pure: f64,
                   batch: usize,
                   note: String| BenchRow {
            model: name.clone(),
            task: task.to_string(),
            batch,
            threads: threads.clone(),
            device: model.device_used.to_string(),
            seconds_per_image: seconds,
            forward_passes: fwd,
            backward_passes: bwd,
            pure_ort_seconds: pure,
            overhead: seconds / pure,
            note,
        };
        // One gradient batch vs one forward batch of the same size.
        let spec = GradientSpec {
            layers: vec![model.default_cam_layer()?],
            rule: ReluRule::Plain,
            logits: None,
            through_softmax: false,
        };
        for b in [1usize, 16] {
            let fwd = pure_forward(&model, &image, b, b)?;
            let grad = pure_gradient(&model, &image, b, b, &spec, target)?;
            rows.push(row(
                &format!("gradient batch {b} vs forward batch {b}"),
                grad,
                b,
                b,
                fwd,
                b,
                "ratio = gradient / forward".into(),
            ));
            eprintln!(
                "{name}: gradient batch {b}: {:.4}s vs forward {:.4}s (×{:.2})",
                grad,
                fwd,
                grad / fwd
            );
        }
        let gradient_per_image =
            pure_gradient(&model, &image, args.batch, args.batch, &spec, target)?
                / args.batch as f64;
        let forward_per_image =
            pure_forward(&model, &image, args.batch, args.batch)? / args.batch as f64;
        for method_name in &methods {
            let method = lantern_explain::build_method(
                method_name,
                &Params::new(method_name, BTreeMap::new()),
            )?;
            let ctx = Context {
                model: &model,
                logits: logits.view(),
                batch_size: args.batch,
                seed: 0,
            };
            let mut passes = (0, 0);
            let seconds = time(if args.quick { 1 } else { 2 }, || {
                let e = method.explain(&ctx, image.view(), target)?;
                passes = (e.passes.forward, e.passes.backward);
                Ok(e)
            })?;
            // Backward passes run forward+backward in the gradient graph: price them at its cost.
            let pure = if passes.1 > 0 {
                passes.1 as f64 * gradient_per_image
                    + passes.0.saturating_sub(passes.1) as f64 * forward_per_image
            } else {
                pure_forward(&model, &image, passes.0.max(1), args.batch)?
            };
            eprintln!(
                "{name}: {method_name}: {seconds:.3}s ({} fwd, {} bwd), pure ORT {pure:.3}s",
                passes.0, passes.1
            );
            rows.push(row(
                method_name,
                seconds,
                passes.0,
                passes.1,
                pure,
                args.batch,
                String::new(),
            ));
        }
        // Deletion + insertion of one map.
        let map = Array2::from_shape_fn((model.input.height, model.input.width), |(y, x)| {
            ((y * 31 + x * 17) % 97) as f32
        });
        let t = Instant::now();
        let scores = crate::scoring::score_map(
            &model,
            image.view(),
            &map,
            target,
            &["deletion".into(), "insertion".into()],
            &Default::default(),
            args.batch,
            Some(logits.view()),
        )?;
        let seconds = t.elapsed().as_secs_f64();
        let pure = pure_forward(&model, &image, scores.forward_passes, args.batch)?;
        rows.push(row(
            "deletion+insertion",
            seconds,
            scores.forward_passes,
            0,
            pure,
            args.batch,
            String::new(),
        ));
    }
    write_bench(&args.out, &rows)?;
    Ok(ExitCode::SUCCESS)
}

/// The bench image: cat_dog.png through the imagenet preset when present, else a fixed pattern.
fn bench_image(model: &Model) -> Result<Array3<f32>> {
    let photo = Path::new("data/photos/cat_dog.png");
    let (c, h, w) = (model.input.channels, model.input.height, model.input.width);
    if photo.is_file() {
        let p = pipeline::preprocess_for(model, "imagenet", None, None)?;
        return Ok(lantern_data::load_image(photo, &p, &Default::default())?.tensor);
    }
    Ok(Array3::from_shape_fn((c, h, w), |(k, y, x)| {
        (((k * 7 + y * 3 + x) % 29) as f32 - 14.0) / 10.0
    }))
}

fn write_bench(dir: &Path, rows: &[BenchRow]) -> Result<()> {
    let mut csv = String::from(
        "model,task,batch,threads,device,seconds_per_image,forward_passes,backward_passes,pure_ort_seconds,overhead,note\n",
    );
    let mut md = String::from(
        "| model | task | s/image | passes (fwd+bwd) | pure ORT s | overhead |\n|---|---|---:|---:|---:|---:|\n",
    );
    for r in rows {
        csv.push_str(&format!(
            "{},{},{},{},{},{:.6},{},{},{:.6},{:.4},{}\n",
            r.model,
            r.task,
            r.batch,
            r.threads,
            r.device,
            r.seconds_per_image,
            r.forward_passes,
            r.backward_passes,
            r.pure_ort_seconds,
            r.overhead,
            r.note
        ));
        md.push_str(&format!(
            "| {} | {} | {:.3} | {}+{} | {:.3} | {:.2}× |\n",
            r.model,
            r.task,
            r.seconds_per_image,
            r.forward_passes,
            r.backward_passes,
            r.pure_ort_seconds,
            r.overhead
        ));
    }
    if let Some(r) = rows.first() {
        md.push_str(&format!(
            "\nbatch {}, threads {}, device {}; one run, medians after a warm-up.\n",
            r.batch, r.threads, r.device
        ));
    }
    crate::files::write_bytes(&dir.join("bench.csv"), csv.as_bytes())?;
    crate::files::write_bytes(&dir.join("bench.md"), md.as_bytes())?;
    println!("{md}");
    Ok(())
}
