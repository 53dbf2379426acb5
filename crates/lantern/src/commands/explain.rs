//! `lantern explain`: images (files, folders, glob patterns) or one exact input tensor, one
//! method, files in a folder (maps, figures, `scores.csv`; see `explain_batch`).

use super::RuntimeArgs;
use super::explain_batch::{self, MapFormat, Normalize};
use crate::pipeline;
use anyhow::{Context as _, Result, anyhow, bail};
use lantern_data::{Preprocess, Preprocessed};
use lantern_explain::{Context, ParamValue, Params};
use ndarray::{Array3, ArrayD, Axis, Ix4};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// Image files, folders (their images, sorted) or glob patterns ("leaves/*.jpg"), decoded
    /// and preprocessed with --preprocess; several explain a batch with a progress bar, one row
    /// per image in DIR/scores.csv.
    #[arg(
        long,
        num_args = 1..,
        conflicts_with = "input_npy",
        required_unless_present = "input_npy"
    )]
    pub image: Vec<PathBuf>,
    /// A `[1,C,H,W]` float32 tensor fed as is, with no preprocessing.
    #[arg(long)]
    pub input_npy: Option<PathBuf>,
    /// Attribution method (`lantern methods` lists each with its parameters and paper).
    #[arg(long, value_parser = crate::cli_values::methods())]
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
    /// Preprocessing preset.
    #[arg(long, default_value = "imagenet", value_parser = crate::cli_values::presets())]
    pub preprocess: String,
    /// Class names file (imagenet_classes.txt, imagenet_class_index.tsv, one name per line).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Metrics to score the map with, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = crate::cli_values::explain_metrics())]
    pub metrics: Vec<String>,
    /// Images per ONNX Runtime call.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub out: PathBuf,
    /// Maps as one .npy per image, or one DIR/<method>.npz with a stacked `a_batch`
    /// ([N,H,W] or [N,C,H,W]), `ids` and `targets` (as Quantus and Xplique take them).
    #[arg(long, value_enum, default_value_t = MapFormat::Npy)]
    pub format: MapFormat,
    /// Normalisation of the stored map (raw by default; figures are always scaled for display).
    #[arg(long, value_enum, default_value_t = Normalize::None)]
    pub normalize: Normalize,
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

/// One input: an image file, or a tensor given as is.
enum Input<'a> {
    Image(&'a Path),
    Tensor(&'a Path),
}

pub fn explain(args: &ExplainArgs) -> Result<ExitCode> {
    let runtime =
        pipeline::open_runtime(args.runtime.device.as_deref(), args.runtime.threads, None)?;
    // The model file first (as always); loading it waits for the method and the image count.
    pipeline::check_model_file(&args.model)?;
    let mut values = parse_params(&args.method, &args.params)?;
    if let Some(layer) = &args.layer {
        values.insert("layer".into(), ParamValue::Text(layer.clone()));
    }
    let params = Params::new(&args.method, values);
    let method = lantern_explain::build_method(&args.method, &params)?;
    let paths: Vec<PathBuf> = match &args.input_npy {
        Some(path) => vec![path.clone()],
        None => explain_batch::expand_images(&args.image)?,
    };
    let model = crate::startup::load_model_for(
        runtime,
        &args.model,
        method.as_ref(),
        paths.len(),
        !args.metrics.is_empty(),
    )?;
    let preprocess = pipeline::preprocess_for(
        &model,
        lantern_data::Preset::from_str(&args.preprocess).map_err(|e| anyhow!("{e}"))?,
        None,
        None,
    )?;
    let names = pipeline::class_names(args.labels.as_deref(), model.classes)?;
    let spec = pipeline::TargetSpec::parse(&args.target, 3, names.as_ref())?;
    let stems = explain_batch::unique_stems(&paths);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create output folder {}", args.out.display()))?;

    let progress = if paths.len() > 1 && !crate::logging::quiet() {
        let bar = indicatif::ProgressBar::new(paths.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} images · eta {eta} · {msg}",
            )
            .expect("static template"),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let item = Item {
        args,
        model: &model,
        preprocess: &preprocess,
        names: names.as_ref(),
        spec: &spec,
        method: method.as_ref(),
    };
    let mut rows = Vec::new();
    let mut stacked = Stacked::default();
    for (path, stem) in paths.iter().zip(&stems) {
        let input = match args.input_npy {
            Some(_) => Input::Tensor(path),
            None => Input::Image(path),
        };
        progress.set_message(stem.clone());
        let started = Instant::now();
        match item.explain_one(&input, stem, &mut stacked) {
            Ok(mut new_rows) => {
                // Targets of one image share its forward pass: split its time evenly.
                let seconds = started.elapsed().as_secs_f64() / new_rows.len().max(1) as f64;
                for row in &mut new_rows {
                    row.seconds = seconds;
                }
                rows.extend(new_rows);
            }
            Err(e) => {
                progress.suspend(|| eprintln!("{}: {e:#}", path.display()));
                rows.push(explain_batch::Row {
                    id: stem.clone(),
                    image: path.display().to_string(),
                    method: method.name().to_string(),
                    seconds: started.elapsed().as_secs_f64(),
                    error: Some(format!("{e:#}")),
                    ..Default::default()
                });
            }
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    crate::files::write_bytes(
        &args.out.join("scores.csv"),
        explain_batch::scores_csv(&rows).as_bytes(),
    )?;
    if args.format == MapFormat::Npz && !stacked.maps.is_empty() {
        let path = args.out.join(format!("{}.npz", method.name()));
        explain_batch::write_npz(&path, &stacked.maps, &stacked.ids, &stacked.targets)?;
        println!("{} maps stacked → {}", stacked.maps.len(), path.display());
    }
    let failed = rows.iter().filter(|r| r.error.is_some()).count();
    if failed > 0 {
        eprintln!(
            "{failed} of {} image(s) failed; see the error column of {}",
            paths.len(),
            args.out.join("scores.csv").display()
        );
        return Ok(ExitCode::from(crate::exit::SOME_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

/// The maps `--format npz` stacks, with their ids and targets.
#[derive(Default)]
struct Stacked {
    maps: Vec<ArrayD<f32>>,
    ids: Vec<String>,
    targets: Vec<usize>,
}

/// What every input of one `lantern explain` shares.
struct Item<'a> {
    args: &'a ExplainArgs,
    model: &'a lantern_runtime::Model,
    preprocess: &'a Preprocess,
    names: Option<&'a lantern_data::ClassNames>,
    spec: &'a pipeline::TargetSpec,
    method: &'a dyn lantern_explain::Method,
}

impl Item<'_> {
    /// Explains one input for every target; one row per target.
    fn explain_one(
        &self,
        input: &Input,
        stem: &str,
        stacked: &mut Stacked,
    ) -> Result<Vec<explain_batch::Row>> {
        let (args, model, method) = (self.args, self.model, self.method);
        let (source, prepared) = match input {
            Input::Image(path) => (
                path,
                lantern_data::load_image(path, self.preprocess, &Default::default())?,
            ),
            Input::Tensor(path) => (path, tensor_input(path, self.preprocess)?),
        };
        let batch = prepared.tensor.view().insert_axis(Axis(0)).to_owned();
        let logits = model.forward(batch.view())?.row(0).to_owned();
        pipeline::check_finite(logits.view(), stem)?;
        let probs = lantern_runtime::softmax(logits.view());
        let targets = self.spec.resolve(logits.view(), None, model.classes)?;
        let ctx = Context {
            model,
            logits: logits.view(),
            batch_size: args.batch,
            seed: args.seed,
        };
        let explanations = method.explain_targets(&ctx, prepared.tensor.view(), &targets)?;
        let mut rows = Vec::new();
        for (i, (e, &target)) in explanations.iter().zip(&targets).enumerate() {
            let file_stem = if targets.len() > 1 {
                format!("{stem}.t{target}")
            } else {
                stem.to_string()
            };
            let mut stored = e.clone();
            stored.map = args.normalize.apply(&e.map);
            let map_file = match args.format {
                MapFormat::Npy => {
                    let saved = pipeline::save_map(
                        &args.out,
                        &format!("{file_stem}.{}", method.name()),
                        &stored,
                    )?;
                    saved.map_file.display().to_string()
                }
                MapFormat::Npz => {
                    stacked.maps.push(stored.map.clone());
                    stacked.ids.push(file_stem.clone());
                    stacked.targets.push(target);
                    format!("{}.npz", method.name())
                }
            };
            let spatial = e.spatial();
            let predicted = pipeline::top_k(logits.view(), 1)[0];
            let (target_name, predicted_name) = (
                pipeline::class_name(self.names, target),
                pipeline::class_name(self.names, predicted),
            );
            let title = lantern_plot::PredictionTitle {
                truth: None,
                predicted: &predicted_name,
                predicted_index: predicted,
                predicted_probability: probs[predicted],
                target: (target != predicted)
                    .then(|| (target_name.as_str(), target, probs[target])),
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
            let mut metrics = BTreeMap::new();
            if !args.metrics.is_empty() {
                let scores = lantern_metrics::score_map(
                    model,
                    prepared.tensor.view(),
                    &spatial,
                    target,
                    &args.metrics,
                    &Default::default(),
                    args.batch,
                    Some(logits.view()),
                    None,
                )?;
                let json = crate::scoring::scores_json(&scores);
                if let Some(obj) = json.as_object() {
                    for (k, v) in obj {
                        if let Some(x) = v.as_f64() {
                            metrics.insert(k.clone(), x);
                        }
                    }
                }
                crate::files::write_bytes(
                    &args
                        .out
                        .join(format!("{file_stem}.{}.metrics.json", method.name())),
                    &serde_json::to_vec_pretty(&json)?,
                )?;
            }
            if !crate::logging::quiet() && single_input(args) {
                println!(
                    "{}: {} target {} ({}) p={:.3}: {} forward + {} backward passes → {}",
                    i,
                    method.name(),
                    target,
                    target_name,
                    probs[target],
                    e.passes.forward,
                    e.passes.backward,
                    map_file
                );
            }
            rows.push(explain_batch::Row {
                id: file_stem,
                image: source.display().to_string(),
                method: method.name().to_string(),
                target: Some(target),
                class: target_name,
                probability: Some(probs[target]),
                forward_passes: e.passes.forward,
                backward_passes: e.passes.backward,
                map_file,
                metrics,
                ..Default::default()
            });
        }
        Ok(rows)
    }
}

/// Whether the command names exactly one input (its lines are printed; a batch shows a bar).
fn single_input(args: &ExplainArgs) -> bool {
    args.input_npy.is_some()
        || args.image.len() == 1 && !args.image[0].is_dir() && args.image[0].exists()
}

/// A `[1,C,H,W]` float32 tensor fed as is.
fn tensor_input(path: &Path, preprocess: &Preprocess) -> Result<Preprocessed> {
    let tensor = lantern_data::read_npy::<f32>(path)?
        .into_dimensionality::<Ix4>()
        .map_err(|_| {
            anyhow!(
                "{}: expected a [1,C,H,W] float32 tensor (Lantern's tensors are NCHW, also for \
                 an NHWC model: it transposes at the model boundary)",
                path.display()
            )
        })?;
    if tensor.shape()[0] != 1 {
        bail!(
            "{}: expected batch 1, found shape {:?}",
            path.display(),
            tensor.shape()
        );
    }
    let [c, h, w] = preprocess.output_shape();
    if tensor.shape()[1..] != [c, h, w] {
        bail!(
            "{}: shape {:?}, but --input-npy is always NCHW: [1,{c},{h},{w}] for this model, \
             also when the model itself takes NHWC (Lantern transposes at the model boundary); \
             an NHWC array x becomes NCHW with x.transpose(0, 3, 1, 2)",
            path.display(),
            tensor.shape()
        );
    }
    let tensor = tensor.index_axis_move(Axis(0), 0);
    let display = display_from_tensor(&tensor, preprocess);
    Ok(Preprocessed {
        tensor,
        display,
        geometry: lantern_data::Geometry {
            source_size: (0, 0),
            resized_size: (0, 0),
            crop_offset: (0, 0),
        },
        notes: vec!["input tensor fed as is (no preprocessing)".into()],
    })
}
