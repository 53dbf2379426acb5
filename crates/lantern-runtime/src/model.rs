//! A loaded classifier: its session, its input/output description and the derived sessions
//! (probe shapes, taps, gradient graphs), each built once and cached.

use crate::batch::{BatchMode, check_images, join_rows};
use crate::cache;
use crate::environment::Runtime;
use crate::error::{Result, RuntimeError};
use crate::gradients::GradientSession;
use crate::lazy_proto::{Facts, LazyProto};
use crate::model_io::Io;
use crate::session_cache::CachedGraph;
use crate::tap::TapSession;
use lantern_core::Memo;
use lantern_graph::{GradientSpec, ModelProto, TensorShapes};
use ndarray::{Array2, Array4, ArrayView4, Axis, Ix2};
use ort::session::Session;
use ort::value::TensorRef;
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// How the model wants its image tensor. Lantern's methods always work in NCHW; a NHWC model
/// (e.g. a Keras export) gets its batch transposed on the way in and gradients on the way out.
pub use lantern_core::Layout;

/// The image input the model expects: channels, height, width, layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct InputSpec {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    #[serde(serialize_with = "variant_name")]
    pub layout: Layout,
}

/// The layout as run manifests have always written it (`"Nchw"`; configs and preprocessing
/// recipes spell it in lower case), so manifests stay byte-identical.
fn variant_name<S: serde::Serializer>(
    layout: &Layout,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(match layout {
        Layout::Nchw => "Nchw",
        Layout::Nhwc => "Nhwc",
    })
}

pub struct Model {
    pub path: PathBuf,
    pub hash: String,
    /// The graph (decoded on first use, see [`LazyProto`]).
    pub proto: LazyProto,
    pub input_name: String,
    pub output_name: String,
    pub input: InputSpec,
    /// Number of classes (the width of the logits).
    pub classes: usize,
    /// The execution provider that runs this model's sessions: "cpu" or "cuda".
    pub device_used: &'static str,
    pub runtime: &'static Runtime,
    /// How the model takes batches (static-batch exports: see [`crate::batch`]).
    pub batch_mode: BatchMode,
    /// The forward session; `None` until first needed for a deferred model.
    session: Mutex<Option<Session>>,
    /// The gradient session a deferred model takes its logits from while it has no forward
    /// session ([`Model::forward_through_gradients`]).
    logits_from: OnceLock<Arc<GradientSession>>,
    shapes: OnceLock<TensorShapes>,
    /// The default CAM layer, found once (the search walks the whole graph: ~5 ms on ResNet18,
    /// as long as a forward pass there).
    cam_layer: OnceLock<Option<String>>,
    gradient_sessions: Memo<String, GradientSession>,
    tap_sessions: Memo<Vec<String>, TapSession>,
}

impl Model {
    /// Loads and checks a classifier: one image input (rank 4), one float output.
    pub fn load(runtime: &'static Runtime, path: &Path) -> Result<Model> {
        let (bytes, hash) = read_model(path)?;
        Self::open(runtime, path, Cow::Owned(bytes), Some(hash), true)
    }

    /// [`Model::load`] without building the forward session: the inputs and outputs are read
    /// from the graph, and the session is built on the first [`Model::forward`] — or never,
    /// when [`Model::forward_through_gradients`] names a gradient graph to take logits from.
    /// `lantern explain` of a few images with an input-gradient method loads so: one session
    /// built instead of two. (A model with a fixed batch, or on device `auto`, which must know
    /// its provider, still builds it now.)
    pub fn load_deferred(runtime: &'static Runtime, path: &Path) -> Result<Model> {
        let (bytes, hash) = read_model(path)?;
        Self::open(runtime, path, Cow::Owned(bytes), Some(hash), false)
    }

    pub fn from_bytes(runtime: &'static Runtime, path: &Path, bytes: &[u8]) -> Result<Model> {
        Self::open(runtime, path, Cow::Borrowed(bytes), None, true)
    }

    /// `hash`: the SHA-256 of `bytes` when already known. Owned bytes of a model whose facts
    /// are cached are not decoded now (see [`LazyProto`]).
    fn open(
        runtime: &'static Runtime,
        path: &Path,
        bytes: Cow<'_, [u8]>,
        hash: Option<String>,
        eager_session: bool,
    ) -> Result<Model> {
        let model_err = |message: String| RuntimeError::Model {
            path: path.to_path_buf(),
            message,
        };
        let hash = hash.unwrap_or_else(|| lantern_graph::model_hash(&bytes));
        let owned = matches!(bytes, Cow::Owned(_));
        let (proto, facts) = match owned.then(|| Facts::cached(&hash)).flatten() {
            Some(facts) => (None, facts),
            None => {
                let proto =
                    lantern_graph::decode_model(&bytes).map_err(|e| model_err(e.to_string()))?;
                let facts = Facts::of(&proto);
                // Only files: models made in memory (randomised copies, heads) are one-offs.
                if owned {
                    facts.save(&hash);
                }
                (Some(proto), facts)
            }
        };
        let deferred_device = runtime.options.device.fixed_provider();
        let (session, device_used, io) = match deferred_device {
            Some(device) if !eager_session && !facts.static_batch => (None, device, facts.io()),
            _ => {
                let source = || Ok(Cow::Borrowed(&*bytes));
                let forward = CachedGraph {
                    dir: cache::model_dir(&hash),
                    name: "forward".into(),
                    source: &source,
                };
                let (session, device_used) =
                    runtime.cached_session(&forward, &path.display().to_string())?;
                let io = Io::of_session(&session);
                (Some(session), device_used, io)
            }
        };
        if io.inputs.len() != 1 {
            return Err(model_err(format!(
                "expected one image input, found {} ({}); Lantern explains single-input image classifiers",
                io.inputs.len(),
                io.inputs
                    .iter()
                    .map(|(name, _)| name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let (input_name, dims) = io.inputs.into_iter().next().expect("one input");
        let dims =
            dims.ok_or_else(|| model_err(format!("input {input_name:?} is not a float tensor")))?;
        let input = input_spec(&dims).ok_or_else(|| {
            model_err(format!(
                "input {input_name:?} has shape {dims:?}; expected an image [N,C,H,W] or [N,H,W,C] with C = 1 or 3"
            ))
        })?;
        let (output_name, out_dims) = io
            .outputs
            .into_iter()
            .next()
            .ok_or_else(|| model_err("model has no outputs".into()))?;
        let out_dims = out_dims.unwrap_or_default();
        let proto = match proto {
            Some(proto) => LazyProto::from(proto),
            None => LazyProto::pending(bytes.into_owned()),
        };
        let mut model = Model {
            path: path.to_path_buf(),
            hash,
            proto,
            input_name,
            output_name,
            input,
            classes: 0,
            device_used,
            runtime,
            batch_mode: BatchMode::Dynamic,
            session: Mutex::new(session),
            logits_from: OnceLock::new(),
            shapes: OnceLock::new(),
            cam_layer: OnceLock::new(),
            gradient_sessions: Memo::default(),
            tap_sessions: Memo::default(),
        };
        if facts.static_batch {
            model.batch_mode = model.make_batch_symbolic();
            if let Some(note) = model.batch_mode.note() {
                eprintln!("note: {}: {note}", model.label());
            }
        }
        model.classes = match out_dims.last() {
            Some(&k) if k > 0 && out_dims.iter().skip(1).filter(|&&d| d != 1).count() <= 1 => {
                k as usize
            }
            _ => {
                // Dynamic class axis: one forward pass on zeros tells.
                let zeros = Array4::<f32>::zeros((1, input.channels, input.height, input.width));
                model.forward(zeros.view())?.ncols()
            }
        };
        Ok(model)
    }

    pub fn label(&self) -> String {
        self.path.display().to_string()
    }

    /// Replaces a static batch of 1 by a symbolic one in this model's graph and session, if
    /// the rewrite runs at batch [`crate::batch::CHECK_BATCH`] and matches batch-1 runs of the
    /// original (max |diff| ≤ 1e-4 · max(1, max |logit|)); else the mode that runs one by one.
    fn make_batch_symbolic(&mut self) -> BatchMode {
        use lantern_graph::surgery::BatchSource;
        let attempt = |source: BatchSource| -> std::result::Result<(ModelProto, Session, Vec<String>), String> {
            let rewritten = lantern_graph::surgery::symbolic_batch(&self.proto, source)
                .map_err(|e| e.to_string())?
                .ok_or("the batch is not the constant 1")?;
            let bytes = lantern_graph::encode_model(&rewritten.model);
            let (mut session, _) = self
                .runtime
                .session(&bytes, &format!("{} (symbolic batch)", self.label()))
                .map_err(|e| e.to_string())?;
            let spec = self.input;
            let x = check_images(spec.channels, spec.height, spec.width);
            let rows: Vec<Array2<f32>> = x
                .axis_chunks_iter(Axis(0), 1)
                .map(|one| self.forward(one))
                .collect::<Result<_>>()
                .map_err(|e| format!("the original graph at batch 1: {e}"))?;
            let want = join_rows(&rows);
            let got = self
                .logits_of(&mut session, x.view())
                .map_err(|e| format!("the rewritten graph at batch {}: {e}", x.shape()[0]))?;
            if got.dim() != want.dim() {
                return Err(format!(
                    "batched logits {:?}, expected {:?}",
                    got.dim(),
                    want.dim()
                ));
            }
            let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
            let diff = got
                .iter()
                .zip(&want)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            if diff.is_nan() || diff > 1e-4 * scale {
                return Err(format!(
                    "batched logits differ from batch-1 logits by {diff:.3e} (max |logit| {scale:.3e})"
                ));
            }
            Ok((rewritten.model, session, rewritten.changes))
        };
        // The batch read where each rewritten node needs it first (the graph keeps its cut
        // points for incremental occlusion), from the image where that is not the batch.
        match attempt(BatchSource::Local).or_else(|local| {
            attempt(BatchSource::Image)
                .map_err(|image| format!("{local}; reading the image's batch: {image}"))
        }) {
            Ok((proto, session, changes)) => {
                self.proto = proto.into();
                self.session = Mutex::new(Some(session));
                BatchMode::Symbolic { changes }
            }
            Err(reason) => BatchMode::OneByOne { reason },
        }
    }

    /// The cache folder key: the file hash, or — when Lantern's graph differs from the file's —
    /// a digest of the file hash and every tensor name of the rewritten graph, so that shapes
    /// and gradient graphs cached for another rewrite (other names) are never reused.
    pub fn cache_key(&self) -> String {
        match self.batch_mode {
            BatchMode::Symbolic { .. } => cache::digest(
                std::iter::once(self.hash.as_str()).chain(
                    self.proto
                        .graph
                        .iter()
                        .flat_map(|g| &g.node)
                        .flat_map(|n| n.input.iter().chain(&n.output))
                        .map(String::as_str),
                ),
            ),
            _ => self.hash.clone(),
        }
    }

    /// Logits for a batch given in NCHW. One ONNX Runtime call (one per image for a model run
    /// one by one, see [`BatchMode`]); the caller picks the batch size.
    pub fn forward(&self, batch: ArrayView4<f32>) -> Result<Array2<f32>> {
        self.check_batch(batch)?;
        let mut guard = self.session.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            if let Some(gradients) = self.logits_from.get() {
                drop(guard);
                let seed = Array2::<f32>::zeros((batch.shape()[0], self.classes));
                return Ok(gradients.run(batch, seed.view())?.logits);
            }
            *guard = Some(self.forward_session()?);
        }
        let session = guard.as_mut().expect("built above");
        if self.batch_mode.one_by_one() && batch.shape()[0] > 1 {
            let rows: Vec<Array2<f32>> = batch
                .axis_chunks_iter(Axis(0), 1)
                .map(|one| self.logits_of(session, one))
                .collect::<Result<_>>()?;
            return Ok(join_rows(&rows));
        }
        self.logits_of(session, batch)
    }

    /// The forward session of a deferred model (from the cached optimised graph when there is
    /// one; the graph re-encoded only when there is not).
    fn forward_session(&self) -> Result<Session> {
        let source = || Ok(Cow::Owned(lantern_graph::encode_model(&self.proto)));
        let forward = CachedGraph {
            dir: cache::model_dir(&self.hash),
            name: "forward".into(),
            source: &source,
        };
        Ok(self.runtime.cached_session(&forward, &self.label())?.0)
    }

    /// For a deferred model that has no forward session yet: take logits from the gradient
    /// graph of `spec` (built now, with a zero seed at run time) instead of building one. Each
    /// [`Model::forward`] then also runs a backward pass — cheaper than a second session for
    /// a few images (on MobileNetV2 a session costs 4–6 forward passes). No effect otherwise.
    pub fn forward_through_gradients(&self, spec: &GradientSpec) -> Result<()> {
        let deferred = self
            .session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none();
        if deferred && !spec.layers_only {
            let gradients = self.gradient_session(spec)?;
            let _ = self.logits_from.set(gradients);
        }
        Ok(())
    }

    fn logits_of(&self, session: &mut Session, batch: ArrayView4<f32>) -> Result<Array2<f32>> {
        let fed = self.to_model_layout(batch);
        let run_err = |e: ort::Error| RuntimeError::Run {
            model: self.label(),
            message: e.to_string(),
        };
        let input = TensorRef::from_array_view(fed.view()).map_err(run_err)?;
        let outputs = session
            .run(ort::inputs![self.input_name.as_str() => input])
            .map_err(run_err)?;
        let logits = outputs[0].try_extract_array::<f32>().map_err(run_err)?;
        let n = batch.shape()[0];
        let logits = logits
            .to_shape((n, logits.len() / n.max(1)))
            .map_err(|e| RuntimeError::Run {
                model: self.label(),
                message: format!("unexpected output shape: {e}"),
            })?
            .into_owned()
            .into_dimensionality::<Ix2>()
            .expect("2-D by construction");
        Ok(logits)
    }

    /// Logits for any number of images, run in batches of `batch_size`.
    pub fn forward_batched(
        &self,
        images: ArrayView4<f32>,
        batch_size: usize,
    ) -> Result<Array2<f32>> {
        let mut rows = Vec::new();
        for chunk in images.axis_chunks_iter(Axis(0), batch_size.max(1)) {
            rows.push(self.forward(chunk)?);
        }
        let views: Vec<_> = rows.iter().map(|r| r.view()).collect();
        Ok(ndarray::concatenate(Axis(0), &views)
            .unwrap_or_else(|_| Array2::zeros((0, self.classes))))
    }

    pub(crate) fn check_batch(&self, batch: ArrayView4<f32>) -> Result<()> {
        let s = batch.shape();
        let want = [self.input.channels, self.input.height, self.input.width];
        if s[1..] != want {
            return Err(RuntimeError::Input {
                model: self.label(),
                message: format!(
                    "batch has shape {:?} but Lantern feeds this model [N,{},{},{}] (NCHW{})",
                    s,
                    want[0],
                    want[1],
                    want[2],
                    match self.input.layout {
                        Layout::Nchw => "",
                        Layout::Nhwc => ", transposed to the model's NHWC input at its boundary",
                    }
                ),
            });
        }
        Ok(())
    }

    /// NCHW → the model's layout (no copy for a contiguous NCHW batch).
    pub(crate) fn to_model_layout<'a>(
        &self,
        batch: ArrayView4<'a, f32>,
    ) -> ndarray::CowArray<'a, f32, ndarray::Ix4> {
        to_layout(batch, self.input.layout)
    }

    /// Static shapes (batch 1) of every tensor, from one probe run; cached on disk per model hash.
    pub fn shapes(&self) -> Result<&TensorShapes> {
        if let Some(s) = self.shapes.get() {
            return Ok(s);
        }
        let shapes = crate::probe::probe_shapes(self)?;
        Ok(self.shapes.get_or_init(|| shapes))
    }

    /// The gradient-exporting session for `spec`, built once per (model, spec): in memory here,
    /// and as an ONNX file under the cache keyed by the model hash.
    pub fn gradient_session(&self, spec: &GradientSpec) -> Result<Arc<GradientSession>> {
        let key = cache::spec_key(spec);
        self.gradient_sessions
            .get_or_try_build(key.clone(), || GradientSession::build(self, spec, &key))
    }

    /// A forward session that also returns the named tensors (activations for Score-CAM,
    /// Eigen-CAM, feature extraction). Built once per set of names.
    pub fn tap_session(&self, tensors: &[String]) -> Result<Arc<TapSession>> {
        self.tap_sessions
            .get_or_try_build(tensors.to_vec(), || TapSession::build(self, tensors))
    }

    /// Images per ONNX Runtime call that keep one call's tensors under `budget_bytes`: the bytes
    /// of every tensor at batch 1 (from the probe), times 3 for the gradient graphs' backward
    /// tensors, clamped to 1..=256.
    pub fn auto_batch(&self, budget_bytes: u64) -> Result<usize> {
        let per_image: u64 = self
            .shapes()?
            .0
            .values()
            .map(|dims| dims.iter().map(|&d| d.max(1) as u64).product::<u64>() * 4)
            .sum();
        Ok(((budget_bytes / (3 * per_image.max(1))) as usize).clamp(1, 256))
    }

    /// The layer `lantern layers` marks as the default CAM layer.
    pub fn default_cam_layer(&self) -> Result<String> {
        let found = match self.cam_layer.get() {
            Some(found) => found,
            None => {
                let found = lantern_graph::default_cam_layer(&self.proto, self.shapes()?);
                self.cam_layer.get_or_init(|| found)
            }
        };
        found.clone().ok_or_else(|| RuntimeError::Input {
            model: self.label(),
            message: "no 4-D activation before global pooling and no attention block's norm was found; name the CAM layer explicitly (see `lantern layers`)".into(),
        })
    }

    /// How the layer tensor `name` maps onto the image grid (`[N,C,h,w]`, `[N,H,W,C]` or
    /// `[N,T,C]` tokens); an error for a tensor the probe did not see or of another rank.
    pub fn cam_layer_layout(&self, name: &str) -> Result<lantern_graph::SpatialLayout> {
        let shapes = self.shapes()?;
        lantern_graph::spatial_layout(&self.proto, shapes, name).ok_or_else(|| {
            RuntimeError::Input {
                model: self.label(),
                message: match shapes.get(name) {
                    None => format!("tensor {name:?} is not produced by any node of the graph (see `lantern layers`)"),
                    Some(s) => format!(
                        "layer {name:?} has shape {s:?}; CAM layers must be [N,C,h,w] activations, [N,H,W,C] channels-last blocks or [N,T,C] tokens"
                    ),
                },
            }
        })
    }
}

/// The model file's bytes and SHA-256 (remembered across runs, see `hash_memo`).
fn read_model(path: &Path) -> Result<(Vec<u8>, String)> {
    let before = crate::hash_memo::Stamp::of(path);
    let bytes = std::fs::read(path).map_err(|e| RuntimeError::Model {
        path: path.to_path_buf(),
        message: format!("cannot read: {e}"),
    })?;
    let hash = crate::hash_memo::file_hash(path, &bytes, before);
    Ok((bytes, hash))
}

/// A NCHW batch in `layout`, borrowed when it already is contiguous NCHW.
pub(crate) fn to_layout(
    batch: ArrayView4<'_, f32>,
    layout: Layout,
) -> ndarray::CowArray<'_, f32, ndarray::Ix4> {
    match layout {
        Layout::Nchw if batch.is_standard_layout() => batch.into(),
        Layout::Nchw => batch.to_owned().into(),
        Layout::Nhwc => batch
            .permuted_axes([0, 2, 3, 1])
            .as_standard_layout()
            .into_owned()
            .into(),
    }
}

/// Dimensions of a float tensor outlet (−1 for dynamic ones).
pub(crate) fn tensor_dims(ty: &ort::value::ValueType) -> Option<Vec<i64>> {
    match ty {
        ort::value::ValueType::Tensor { ty, shape, .. }
            if *ty == ort::value::TensorElementType::Float32 =>
        {
            Some(shape.iter().copied().collect())
        }
        _ => None,
    }
}

/// Reads C, H, W and the layout off a rank-4 input; dynamic spatial sizes default to 224.
fn input_spec(dims: &[i64]) -> Option<InputSpec> {
    if dims.len() != 4 {
        return None;
    }
    let size = |d: i64| if d > 0 { d as usize } else { 224 };
    let is_channels = |d: i64| d == 1 || d == 3;
    if is_channels(dims[1]) {
        Some(InputSpec {
            channels: dims[1] as usize,
            height: size(dims[2]),
            width: size(dims[3]),
            layout: Layout::Nchw,
        })
    } else if is_channels(dims[3]) {
        Some(InputSpec {
            channels: dims[3] as usize,
            height: size(dims[1]),
            width: size(dims[2]),
            layout: Layout::Nhwc,
        })
    } else {
        None
    }
}
