//! Shared test support: the reference folder (`../shared/reference`, see its README), the
//! models, the reference arrays (read with lantern-data's `.npy` reader), and comparisons.
#![allow(dead_code)]

use lantern_explain::{Context, Explanation, Method, ParamValue, Params, build_method};
use lantern_runtime::{Model, Runtime};
use ndarray::{Array1, Array3, ArrayD, ArrayView, ArrayView3, Dimension};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// `../shared` next to the repository (or `LANTERN_SHARED`).
pub fn shared() -> PathBuf {
    if let Some(dir) = std::env::var_os("LANTERN_SHARED") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

pub fn reference(model: &str, file: &str) -> PathBuf {
    shared().join("reference").join(model).join(file)
}

pub fn model_path(model: &str) -> PathBuf {
    match model {
        "mobilenetv2" => match std::env::var_os("LANTERN_ASSETS") {
            Some(a) => PathBuf::from(a).join("models/mobilenetv2-12-float.onnx"),
            None => shared().join("assets/models/mobilenetv2-12-float.onnx"),
        },
        other => reference(other, "model.onnx"),
    }
}

/// Each reference model loaded once per test binary.
pub fn model(name: &str) -> &'static Model {
    model_at(&model_path(name))
}

/// The model at `path`, loaded once per test binary.
pub fn model_at(path: &Path) -> &'static Model {
    static MODELS: OnceLock<Mutex<HashMap<PathBuf, &'static Model>>> = OnceLock::new();
    let mut models = MODELS
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    models.entry(path.to_path_buf()).or_insert_with(|| {
        let rt = Runtime::get_or_default().expect("ONNX Runtime (run `just setup`)");
        Box::leak(Box::new(
            Model::load(rt, path).unwrap_or_else(|e| panic!("loading {}: {e}", path.display())),
        ))
    })
}

/// A float32 `.npy` (lantern-data's reader).
pub fn read_npy(path: &Path) -> ArrayD<f32> {
    lantern_data::read_npy::<f32>(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn npy(model: &str, file: &str) -> ArrayD<f32> {
    read_npy(&reference(model, file))
}

/// The exact model input of a reference key, `[C,H,W]`.
pub fn input(model: &str, key: &str) -> Array3<f32> {
    let x = npy(model, &format!("{key}_input.npy"));
    let s = x.shape().to_vec();
    x.into_shape_with_order((s[1], s[2], s[3]))
        .expect("[1,C,H,W]")
}

pub fn metrics(model: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(reference(model, "metrics.json")).expect("metrics.json");
    serde_json::from_str(&text).expect("json")
}

/// The reference keys and targets of each model.
pub fn keys(model: &str) -> Vec<(&'static str, usize)> {
    match model {
        "mobilenetv2" => vec![
            ("cat_dog-t243", 243),
            ("cat_dog-t282", 282),
            ("pytorch_hub_dog", 258),
            ("n02676566_acoustic_guitar", 402),
        ],
        "resnet18" => vec![("cat_dog", 238)],
        "tinycnn" => vec![("shapes", 9), ("stripes", 9)],
        other => panic!("no reference model {other}"),
    }
}

pub const MODELS: [&str; 3] = ["mobilenetv2", "resnet18", "tinycnn"];

/// The clean logits of one image (what the caller hands every method).
pub fn logits(model: &Model, image: &Array3<f32>) -> Array1<f32> {
    model
        .forward(image.view().insert_axis(ndarray::Axis(0)))
        .expect("forward")
        .row(0)
        .to_owned()
}

pub fn context<'a>(model: &'a Model, logits: &'a Array1<f32>) -> Context<'a> {
    Context {
        model,
        logits: logits.view(),
        batch_size: 32,
        seed: 0,
    }
}

/// A model, one input image `[C,H,W]` and the model's clean logits at it: what every method
/// is handed.
pub struct Setup<'m> {
    pub model: &'m Model,
    pub x: Array3<f32>,
    pub logits: Array1<f32>,
}

impl<'m> Setup<'m> {
    pub fn new(model: &'m Model, x: Array3<f32>) -> Self {
        let logits = logits(model, &x);
        Self { model, x, logits }
    }

    /// The context for this image ([`context`]: batch 32, seed 0).
    pub fn ctx(&self) -> Context<'_> {
        context(self.model, &self.logits)
    }
}

impl Setup<'static> {
    /// The reference input `key` of reference model `m`.
    pub fn reference(m: &str, key: &str) -> Self {
        Self::new(model(m), input(m, key))
    }
}

/// `method`'s explanation of the reference input `key` of model `m` for `target`, and the
/// model's logits at that input.
pub fn explain_at(
    method: &dyn Method,
    m: &str,
    key: &str,
    target: usize,
) -> (Explanation, Array1<f32>) {
    let setup = Setup::reference(m, key);
    let e = method
        .explain(&setup.ctx(), setup.x.view(), target)
        .unwrap();
    (e, setup.logits)
}

/// `method`'s maps of `targets` explained in one call, after asserting that each equals the
/// map of its target explained alone (to 1e-6).
pub fn explain_batched_as_alone(
    name: &str,
    method: &dyn Method,
    ctx: &Context,
    x: ArrayView3<f32>,
    targets: &[usize],
) -> Vec<Explanation> {
    let batched = method.explain_targets(ctx, x, targets).unwrap();
    for (e, &t) in batched.iter().zip(targets) {
        let alone = method.explain(ctx, x, t).unwrap();
        check(
            &format!("{name} target {t} batched vs alone"),
            e.map.view(),
            alone.map.view(),
            1e-6,
        );
    }
    batched
}

/// `../lantern-graph/tests/fixtures/static/<name>`: the static-batch export fixtures
/// (`tools/export_static_fixtures.py`).
pub fn static_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../lantern-graph/tests/fixtures/static")
        .join(name)
}

/// The photo at `path` (under [`shared`]) preprocessed as ImageNet models expect, at
/// `size`×`size`.
pub fn imagenet_photo(path: &str, size: u32) -> Array3<f32> {
    use lantern_data::{Layout, ModelInput, Preset, load_batch};
    let preprocess = Preset::Imagenet
        .for_model(ModelInput::new(3, size, size, Layout::Nchw).expect("input"))
        .expect("preset");
    load_batch(&[shared().join(path)], &preprocess)
        .pop()
        .expect("one image")
        .unwrap_or_else(|e| panic!("{path} loads: {e}"))
        .tensor
}

/// max |a − b| / max |b|.
pub fn rel<D: Dimension, E: Dimension>(a: ArrayView<f32, D>, b: ArrayView<f32, E>) -> f32 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    let diff = max_abs(a.iter().zip(b.iter()).map(|(x, y)| x - y));
    let scale = max_abs(b.iter().copied());
    if scale == 0.0 { diff } else { diff / scale }
}

/// max |v|, 0 for no values.
pub fn max_abs(values: impl IntoIterator<Item = f32>) -> f32 {
    values.into_iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// Asserts `rel(a, b) ≤ tol` and prints the number (`cargo test -- --nocapture` shows them).
pub fn check<D: Dimension, E: Dimension>(
    what: &str,
    a: ArrayView<f32, D>,
    b: ArrayView<f32, E>,
    tol: f32,
) -> f32 {
    let r = rel(a, b);
    println!("{what}: rel {r:.3e}");
    assert!(r <= tol, "{what}: max|diff|/max|ref| = {r:.3e} > {tol:e}");
    r
}

/// For maps through non-smooth ops where ONNX Runtime and PyTorch round the forward pass
/// differently: a pre-activation within a few ulp of a ReLU/ReLU6 kink, or a MaxPool near-tie,
/// can flip its mask or argmax in one framework and not the other, moving gradient between a
/// few neighbouring pixels (MobileNetV2's Clip inputs have dozens of values within 1e-6 of 0;
/// IG's scaled inputs create MaxPool near-ties that the unscaled image does not have). Such
/// maps agree to ≤ 1e-4 on all but a small fraction of elements; this asserts the max relative
/// difference ≤ `max_rel`, the mean |diff| ≤ 1e-3 · mean |ref| and at most 5% of elements beyond
/// 1e-4 · max |ref|. (MobileNetV2's gradient is that sensitive in Lantern alone: scaling the
/// input by 1 ± 1e-6 — a few ulp, the size of the frameworks' rounding differences — changes it
/// by up to 3.5e-2 of its max on cat_dog-t282.)
pub fn check_kinked<D: Dimension, E: Dimension>(
    what: &str,
    a: ArrayView<f32, D>,
    b: ArrayView<f32, E>,
    max_rel: f32,
) -> f32 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    let scale = max_abs(b.iter().copied());
    let n = b.len() as f64;
    let (mut worst, mut total_diff, mut total_ref, mut beyond) = (0.0f32, 0.0f64, 0.0f64, 0usize);
    for (x, y) in a.iter().zip(b.iter()) {
        let d = (x - y).abs();
        worst = worst.max(d);
        total_diff += f64::from(d);
        total_ref += f64::from(y.abs());
        if d > 1e-4 * scale {
            beyond += 1;
        }
    }
    let r = worst / scale;
    let mean_ratio = total_diff / total_ref;
    println!(
        "{what}: rel {r:.3e}, mean|diff|/mean|ref| {mean_ratio:.3e}, {:.3}% of elements beyond 1e-4",
        100.0 * beyond as f64 / n
    );
    assert!(
        r <= max_rel,
        "{what}: max|diff|/max|ref| = {r:.3e} > {max_rel:e}"
    );
    assert!(
        mean_ratio <= 1e-3,
        "{what}: mean|diff|/mean|ref| = {mean_ratio:.3e} > 1e-3"
    );
    let beyond_fraction = beyond as f64 / n;
    assert!(
        beyond_fraction <= 0.05,
        "{what}: {:.3}% of elements beyond 1e-4 · max|ref| (at most 5% allowed)",
        100.0 * beyond_fraction
    );
    r
}

/// The method `name` with `params` (`key`, value) over its defaults.
pub fn try_method(
    name: &str,
    params: &[(&str, ParamValue)],
) -> lantern_explain::Result<Box<dyn Method>> {
    let values: BTreeMap<String, ParamValue> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    build_method(name, &Params::new(name, values))
}

/// [`try_method`] for parameters known to be valid.
pub fn method(name: &str, params: &[(&str, ParamValue)]) -> Box<dyn Method> {
    try_method(name, params).expect("method builds")
}
