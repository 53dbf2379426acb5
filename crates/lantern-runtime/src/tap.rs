//! A forward session that returns chosen intermediate tensors next to the logits.

use crate::batch::{join_rows, logit_rows};
use crate::error::{Result, RuntimeError};
use crate::model::{Layout, Model};
use lantern_graph::proto::ValueInfoProto;
use ndarray::{Array2, ArrayD, ArrayView4, Axis};
use ort::session::{Session, SessionOutputs};
use ort::value::TensorRef;
use std::collections::BTreeMap;
use std::sync::Mutex;

pub struct TapSession {
    model_label: String,
    input_name: String,
    output_name: String,
    layout: Layout,
    tensors: Vec<String>,
    /// Run one image per call (a static-batch model, see [`crate::BatchMode`]).
    one_by_one: bool,
    session: Mutex<Session>,
}

/// What a tap run returns: the logits and each tapped tensor (as the graph computes it).
pub struct Tapped {
    pub logits: Array2<f32>,
    pub tensors: BTreeMap<String, ArrayD<f32>>,
}

impl TapSession {
    pub(crate) fn build(model: &Model, tensors: &[String]) -> Result<TapSession> {
        let mut proto = model.proto.clone();
        let graph = proto.graph.get_or_insert_with(Default::default);
        let known: std::collections::HashSet<&str> = graph
            .node
            .iter()
            .flat_map(|n| n.output.iter().map(String::as_str))
            .collect();
        for t in tensors {
            if !known.contains(t.as_str()) {
                return Err(RuntimeError::Input {
                    model: model.label(),
                    message: format!(
                        "no tensor named {t:?} in the graph; `lantern layers {}` lists them",
                        model.path.display()
                    ),
                });
            }
        }
        let existing: std::collections::HashSet<String> =
            graph.output.iter().filter_map(|o| o.name.clone()).collect();
        for t in tensors {
            if !existing.contains(t) {
                graph.output.push(ValueInfoProto {
                    name: Some(t.clone()),
                    ..Default::default()
                });
            }
        }
        let bytes = lantern_graph::encode_model(&proto);
        let (session, _) = model.runtime.session(&bytes, &model.label())?;
        Ok(TapSession {
            model_label: model.label(),
            input_name: model.input_name.clone(),
            output_name: model.output_name.clone(),
            layout: model.input.layout,
            tensors: tensors.to_vec(),
            one_by_one: model.batch_mode.one_by_one(),
            session: Mutex::new(session),
        })
    }

    /// Runs a NCHW batch. Tensors of other element types (e.g. int64 shapes) are skipped by
    /// shape-probing callers only; here every tapped tensor must be float.
    /// One call per image for a model run one by one; tensors are joined on axis 0 then.
    pub fn run(&self, batch: ArrayView4<f32>) -> Result<Tapped> {
        if !self.one_by_one || batch.shape()[0] <= 1 {
            return self.run_once(batch);
        }
        let parts: Vec<Tapped> = batch
            .axis_chunks_iter(Axis(0), 1)
            .map(|x| self.run_once(x))
            .collect::<Result<_>>()?;
        let logits: Vec<_> = parts.iter().map(|p| p.logits.clone()).collect();
        let tensors = self
            .tensors
            .iter()
            .map(|t| {
                let rows: Vec<_> = parts.iter().map(|p| p.tensors[t].clone()).collect();
                (t.clone(), join_rows(&rows))
            })
            .collect();
        Ok(Tapped {
            logits: join_rows(&logits),
            tensors,
        })
    }

    fn run_once(&self, batch: ArrayView4<f32>) -> Result<Tapped> {
        self.run_session(batch, |outputs| {
            let raw = outputs[self.output_name.as_str()]
                .try_extract_array::<f32>()
                .map_err(|e| self.run_err(e))?;
            let logits = logit_rows(&self.model_label, raw, batch.shape()[0])?;
            let mut tensors = BTreeMap::new();
            for name in &self.tensors {
                let value = outputs[name.as_str()]
                    .try_extract_array::<f32>()
                    .map_err(|e| RuntimeError::Run {
                        model: self.model_label.clone(),
                        message: format!("tensor {name:?}: {e}"),
                    })?;
                tensors.insert(name.clone(), value.to_owned());
            }
            Ok(Tapped { logits, tensors })
        })
    }

    /// One session run on a NCHW batch (fed in the model's layout); `read` takes what it needs
    /// from the outputs.
    fn run_session<R>(
        &self,
        batch: ArrayView4<f32>,
        read: impl FnOnce(&SessionOutputs<'_>) -> Result<R>,
    ) -> Result<R> {
        let fed = crate::model::to_layout(batch, self.layout);
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let input = TensorRef::from_array_view(fed.view()).map_err(|e| self.run_err(e))?;
        let outputs = session
            .run(ort::inputs![self.input_name.as_str() => input])
            .map_err(|e| self.run_err(e))?;
        read(&outputs)
    }

    fn run_err(&self, e: ort::Error) -> RuntimeError {
        RuntimeError::Run {
            model: self.model_label.clone(),
            message: e.to_string(),
        }
    }

    /// Shapes of every output of one run (any element type), for the probe.
    pub(crate) fn output_shapes(&self, batch: ArrayView4<f32>) -> Result<Vec<(String, Vec<i64>)>> {
        self.run_session(batch, |outputs| {
            Ok(outputs
                .iter()
                .filter_map(|(name, value)| match value.dtype() {
                    ort::value::ValueType::Tensor { shape, .. } => {
                        Some((name.to_string(), shape.iter().copied().collect()))
                    }
                    _ => None,
                })
                .collect())
        })
    }
}
