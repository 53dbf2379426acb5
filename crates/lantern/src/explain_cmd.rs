//! `lantern explain`: one image (or one exact input tensor), one method, files in a folder.

use crate::{RuntimeArgs, pipeline};
use anyhow::{Context as _, Result, anyhow, bail};
use lantern_data::{Preprocess, Preprocessed};
use lantern_explain::{Context, ParamValue, Params};
use ndarray::{Array3, Axis, Ix4};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// An image file (decoded and preprocessed with --preprocess).
    #[arg(
        long,
        conflicts_with = "input_npy",
        required_unless_present = "input_npy"
    )]
    pub image: Option<PathBuf>,
    /// A `[1,C,H,W]` float32 tensor fed as is, with no preprocessing.
    #[arg(long)]
    pub input_npy: Option<PathBuf>,
    /// Method name (see `lantern explain --help`): occlusion, saliency, gradcam, …
    #[arg(long)]
    pub method: String,
    /// top1, topK (e.g. top3), a class index or a class name.
    #[arg(long, default_value = "top1")]
    pub target: String,
    /// Method parameter, repeatable: --param window=32 --param stride=14.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// CAM layer (tensor name) or `auto`.
    #[arg(long)]
    pub layer: Option<String>,
    /// Preprocessing preset: imagenet, imagenet-squash, caffe, raw.
    #[arg(long, default_value = "imagenet")]
    pub preprocess: String,
    /// Class names file (imagenet_classes.txt, imagenet_class_index.tsv, one name per line).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Metrics to score the map with, comma-separated: deletion,insertion,average-drop.
    #[arg(long, value_delimiter = ',')]
    pub metrics: Vec<String>,
    /// Images per ONNX Runtime call.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

pub fn parse_params(method: &str, pairs: &[String]) -> Result<BTreeMap<String, ParamValue>> {
    let mut values = BTreeMap::new();
    for pair in pairs {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            anyhow!("--param {pair:?} for {method}: expected key=value, e.g. --param window=32")
        })?;
        values.insert(k.trim().to_string(), ParamValue::parse(v.trim()));
    }
    Ok(values)
}

/// Approximate display image for a tensor given as is: undo the preset's normalisation.
fn display_from_tensor(tensor: &Array3<f32>, p: &Preprocess) -> lantern_data::RgbImage {
    let (c, h, w) = tensor.dim();
    let bgr = p.channel_order == lantern_data::ChannelOrder::Bgr;
    lantern_data::RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let px = |ch: usize| {
            let ch_in = if c == 1 {
                0
            } else if bgr {
                2 - ch
            } else {
                ch
            };
            let k = ch_in.min(2);
            let v =
                (tensor[[ch_in, y as usize, x as usize]] * p.std[k] + p.mean[k]) as f64 / p.scale;
            v.round().clamp(0.0, 255.0) as u8
        };
        image::Rgb([px(0), px(1), px(2)])
    })
}

pub fn explain(args: &ExplainArgs) -> Result<ExitCode> {
    let runtime =
        pipeline::open_runtime(args.runtime.device.as_deref(), args.runtime.threads, None)?;
    let model = pipeline::load_model(runtime, &args.model)?;
    let preprocess = pipeline::preprocess_for(&model, &args.preprocess, None, None)?;
    let (stem, prepared) = match (&args.image, &args.input_npy) {
        (Some(path), _) => {
            let prepared = lantern_data::load_image(path, &preprocess, &Default::default())?;
            (stem_of(path), prepared)
        }
        (None, Some(path)) => {
            let tensor = lantern_data::read_npy::<f32>(path)?
                .into_dimensionality::<Ix4>()
                .map_err(|_| anyhow!("{}: expected a [1,C,H,W] float32 tensor", path.display()))?;
            if tensor.shape()[0] != 1 {
                bail!(
                    "{}: expected batch 1, found shape {:?}",
                    path.display(),
                    tensor.shape()
                );
            }
            let tensor = tensor.index_axis_move(Axis(0), 0);
            let display = display_from_tensor(&tensor, &preprocess);
            let prepared = Preprocessed {
                tensor,
                display,
                geometry: lantern_data::Geometry {
                    source_size: (0, 0),
                    resized_size: (0, 0),
                    crop_offset: (0, 0),
                },
                notes: vec!["input tensor fed as is (no preprocessing)".into()],
            };
            (stem_of(path), prepared)
        }
        (None, None) => bail!("give --image PATH or --input-npy PATH"),
    };
    let names = pipeline::class_names(args.labels.as_deref(), model.classes)?;
    let batch = prepared.tensor.view().insert_axis(Axis(0)).to_owned();
    let logits = model.forward(batch.view())?.row(0).to_owned();
    pipeline::check_finite(logits.view(), &stem)?;
    let probs = lantern_runtime::softmax(logits.view());
    let spec = pipeline::TargetSpec::parse(&args.target, 3, names.as_ref())?;
    let targets = spec.resolve(logits.view(), None, model.classes)?;

    let mut values = parse_params(&args.method, &args.params)?;
    if let Some(layer) = &args.layer {
        values.insert("layer".into(), ParamValue::Text(layer.clone()));
    }
    let params = Params::new(&args.method, values);
    let method = lantern_explain::build_method(&args.method, &params)?;
    let ctx = Context {
        model: &model,
        logits: logits.view(),
        batch_size: args.batch,
        seed: args.seed,
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create output folder {}", args.out.display()))?;
    let explanations = method.explain_targets(&ctx, prepared.tensor.view(), &targets)?;
    for (i, (e, &target)) in explanations.iter().zip(&targets).enumerate() {
        let file_stem = if targets.len() > 1 {
            format!("{stem}.t{target}")
        } else {
            stem.clone()
        };
        let saved = pipeline::save_map(&args.out, &format!("{file_stem}.{}", method.name()), e)?;
        let spatial = e.spatial();
        let predicted = pipeline::top_k(logits.view(), 1)[0];
        let (target_name, predicted_name) = (
            pipeline::class_name(names.as_ref(), target),
            pipeline::class_name(names.as_ref(), predicted),
        );
        let title = lantern_plot::PredictionTitle {
            truth: None,
            predicted: &predicted_name,
            predicted_index: predicted,
            predicted_probability: probs[predicted],
            target: (target != predicted).then(|| (target_name.as_str(), target, probs[target])),
            method: method.name(),
        }
        .text();
        let figure = args.out.join(format!("{file_stem}.{}.png", method.name()));
        crate::figure_style::save(
            &figure,
            &prepared,
            &spatial,
            title,
            None,
            pipeline::is_signed(method.name()) && e.map.ndim() == 2,
            method.name(),
            &crate::config::OutputSection::default(),
        )?;
        if !args.metrics.is_empty() {
            let scores = crate::scoring::score_map(
                &model,
                prepared.tensor.view(),
                &spatial,
                target,
                &args.metrics,
                &Default::default(),
                args.batch,
                Some(logits.view()),
                None,
            )?;
            let json = serde_json::to_vec_pretty(&scores.to_json())?;
            crate::files::write_bytes(
                &args
                    .out
                    .join(format!("{file_stem}.{}.metrics.json", method.name())),
                &json,
            )?;
        }
        println!(
            "{}: {} target {} ({}) p={:.3}: {} forward + {} backward passes{}",
            i,
            method.name(),
            target,
            pipeline::class_name(names.as_ref(), target),
            probs[target],
            e.passes.forward,
            e.passes.backward,
            format!(" → {}", saved.map_file.display())
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn stem_of(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("image")
        .to_string()
}
