//! Running a gradient-exporting graph (built by `lantern-graph`) for a batch and a seed matrix.

use crate::batch::{join_rows, logit_rows};
use crate::cache;
use crate::cache_file;
use crate::error::{Result, RuntimeError};
use crate::model::{Layout, Model};
use crate::session_cache::CachedGraph;
use lantern_graph::GradientSpec;
use ndarray::{Array2, Array4, ArrayD, ArrayView2, ArrayView4, Axis, Ix4};
use ort::session::Session;
use ort::value::TensorRef;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One gradient run: logits, ∂(seed·logits)/∂input (NCHW) and, per requested tensor, its
/// activation and gradient.
pub struct Gradients {
    pub logits: Array2<f32>,
    /// `None` for a [`GradientSpec::layers_only`] graph, which stops at the layers.
    pub grad_input: Option<Array4<f32>>,
    pub layers: BTreeMap<String, (ArrayD<f32>, ArrayD<f32>)>,
}

pub struct GradientSession {
    model_label: String,
    layout: Layout,
    pub spec: GradientSpec,
    /// Run one image per call (a static-batch model, see [`crate::BatchMode`]).
    one_by_one: bool,
    session: Mutex<Session>,
}

impl GradientSession {
    pub(crate) fn build(model: &Model, spec: &GradientSpec, key: &str) -> Result<GradientSession> {
        let dir = cache::model_dir(&model.cache_key());
        let graph_path = dir.join(format!("grad-{key}.onnx.lc"));
        // Only needed when ONNX Runtime's optimised form of it is not cached.
        let derive = || -> Result<Cow<[u8]>> {
            if let Some(bytes) = cache_file::read_or_warn(&graph_path, "gradient graph") {
                return Ok(Cow::Owned(bytes));
            }
            let shapes = model.shapes()?;
            let graph = lantern_graph::build_gradient_graph(&model.proto, shapes, spec)?;
            let bytes = lantern_graph::encode_model(&graph);
            // A cache that cannot be written only costs a rebuild next time.
            let _ = cache_file::write(&graph_path, &bytes);
            Ok(Cow::Owned(bytes))
        };
        let graph = CachedGraph {
            dir,
            name: format!("grad-{key}"),
            source: &derive,
        };
        let (session, _) = model
            .runtime
            .cached_session(&graph, &format!("{} (gradient graph)", model.label()))?;
        Ok(GradientSession {
            model_label: model.label(),
            layout: model.input.layout,
            spec: spec.clone(),
            one_by_one: model.batch_mode.one_by_one(),
            session: Mutex::new(session),
        })
    }

    /// One ONNX Runtime call for the whole batch (one per image for a model run one by one):
    /// `input` NCHW `[N,C,H,W]`, `seed` `[N,K]`. Layer tensors are joined on axis 0 then.
    pub fn run(&self, input: ArrayView4<f32>, seed: ArrayView2<f32>) -> Result<Gradients> {
        if !self.one_by_one || input.shape()[0] <= 1 {
            return self.run_once(input, seed);
        }
        let parts: Vec<Gradients> = input
            .axis_chunks_iter(Axis(0), 1)
            .zip(seed.axis_chunks_iter(Axis(0), 1))
            .map(|(x, s)| self.run_once(x, s))
            .collect::<Result<_>>()?;
        let logits: Vec<_> = parts.iter().map(|p| p.logits.clone()).collect();
        let grad_input = parts
            .iter()
            .map(|p| p.grad_input.clone())
            .collect::<Option<Vec<_>>>()
            .map(|g| join_rows(&g));
        let layers = self
            .spec
            .layers
            .iter()
            .filter(|t| parts[0].layers.contains_key(*t))
            .map(|t| {
                let (a, g): (Vec<_>, Vec<_>) = parts.iter().map(|p| p.layers[t].clone()).unzip();
                (t.clone(), (join_rows(&a), join_rows(&g)))
            })
            .collect();
        Ok(Gradients {
            logits: join_rows(&logits),
            grad_input,
            layers,
        })
    }

    fn run_once(&self, input: ArrayView4<f32>, seed: ArrayView2<f32>) -> Result<Gradients> {
        let run_err = |e: ort::Error| RuntimeError::Run {
            model: format!("{} (gradient graph)", self.model_label),
            message: e.to_string(),
        };
        let fed = crate::model::to_layout(input, self.layout);
        let seed = seed.as_standard_layout();
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let outputs = session
            .run(ort::inputs![
                "input" => TensorRef::from_array_view(fed.view()).map_err(run_err)?,
                "seed" => TensorRef::from_array_view(seed.view()).map_err(run_err)?,
            ])
            .map_err(run_err)?;
        let get = |name: &str| -> Result<ArrayD<f32>> {
            Ok(outputs[name]
                .try_extract_array::<f32>()
                .map_err(run_err)?
                .to_owned())
        };
        let n = input.shape()[0];
        let logits = get("logits")?;
        let logits = logit_rows(&self.model_label, logits.view(), n)?;
        let grad_input = if self.spec.layers_only && !self.spec.layers.is_empty() {
            None
        } else {
            let g = get("grad_input")?
                .into_dimensionality::<Ix4>()
                .map_err(|e| RuntimeError::Run {
                    model: self.model_label.clone(),
                    message: format!("grad_input: {e}"),
                })?;
            Some(match self.layout {
                Layout::Nchw => g,
                Layout::Nhwc => g
                    .permuted_axes([0, 3, 1, 2])
                    .as_standard_layout()
                    .into_owned(),
            })
        };
        let mut layers = BTreeMap::new();
        for t in &self.spec.layers {
            layers.insert(t.clone(), (get(t)?, get(&format!("grad_{t}"))?));
        }
        Ok(Gradients {
            logits,
            grad_input,
            layers,
        })
    }
}
