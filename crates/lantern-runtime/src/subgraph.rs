//! Sessions for derived graphs: any `ModelProto` with float inputs and float outputs (segments of
//! a model cut by `lantern-graph`'s surgery, a suffix fed an intermediate tensor, …), run on the
//! runtime's device with its thread settings.
//!
//! Such graphs run back to back, many sessions in turn, with the caller's own (rayon) work in
//! between. Each ONNX Runtime session has its own intra-op thread pool whose idle workers spin
//! by default; on a small machine the spinning workers of the session that just ran then
//! compete for the cores with the next session and with the caller (on 2 cores this made a
//! chain of 17 small sessions ~2× slower). [`GraphSession`]s therefore let idle intra-op
//! threads sleep.

use crate::environment::Runtime;
use crate::error::{Result, RuntimeError};
use lantern_graph::ModelProto;
use ndarray::{ArrayD, ArrayViewD};
use ort::session::Session;
use ort::value::TensorRef;
use std::sync::Mutex;

pub struct GraphSession {
    label: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    /// The execution provider that runs it: "cpu" or "cuda".
    pub device_used: &'static str,
    session: Mutex<Session>,
}

impl GraphSession {
    /// Builds a session for `model`; `label` names it in errors.
    pub fn new(runtime: &Runtime, model: &ModelProto, label: &str) -> Result<GraphSession> {
        let bytes = lantern_graph::encode_model(model);
        let (session, device_used) = runtime.session_with(&bytes, label, false)?;
        let inputs = session
            .inputs()
            .iter()
            .map(|i| i.name().to_string())
            .collect();
        let outputs = session
            .outputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        Ok(GraphSession {
            label: label.to_string(),
            inputs,
            outputs,
            device_used,
            session: Mutex::new(session),
        })
    }

    pub fn input_names(&self) -> &[String] {
        &self.inputs
    }

    pub fn output_names(&self) -> &[String] {
        &self.outputs
    }

    /// One ONNX Runtime call: every graph input by name (standard-layout float arrays); returns
    /// every output, in the graph's output order.
    pub fn run(&self, inputs: &[(&str, ArrayViewD<f32>)]) -> Result<Vec<ArrayD<f32>>> {
        self.run_with(inputs, |outputs| {
            outputs.iter().map(|o| o.to_owned()).collect()
        })
    }

    /// Like [`GraphSession::run`], but keeps the outputs as ONNX Runtime returned them (no
    /// copy); read them with [`Output::data`].
    pub fn run_owned(&self, inputs: &[(&str, ArrayViewD<f32>)]) -> Result<Vec<Output>> {
        self.call(inputs, |mut outputs| {
            let mut kept = Vec::with_capacity(self.outputs.len());
            for name in &self.outputs {
                let value = outputs
                    .remove(name.as_str())
                    .ok_or_else(|| self.error(format!("output {name:?} missing")))?;
                let shape = value
                    .try_extract_tensor::<f32>()
                    .map_err(|e| self.error(format!("output {name:?}: {e}")))?
                    .0
                    .iter()
                    .map(|&d| d.max(0) as usize)
                    .collect();
                kept.push(Output { value, shape });
            }
            Ok(kept)
        })
    }

    /// Like [`GraphSession::run`], but hands the outputs (in graph order) to `read` as views
    /// into ONNX Runtime's buffers, so the caller copies only what it keeps, where it wants.
    pub fn run_with<R>(
        &self,
        inputs: &[(&str, ArrayViewD<f32>)],
        read: impl FnOnce(&[ArrayViewD<f32>]) -> R,
    ) -> Result<R> {
        self.call(inputs, |outputs| {
            let views = self
                .outputs
                .iter()
                .map(|name| {
                    outputs[name.as_str()]
                        .try_extract_array::<f32>()
                        .map_err(|e| self.error(format!("output {name:?}: {e}")))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(read(&views))
        })
    }

    /// One call: the inputs fed by name (in standard layout), the outputs handed to `read`.
    fn call<R>(
        &self,
        inputs: &[(&str, ArrayViewD<f32>)],
        read: impl FnOnce(ort::session::SessionOutputs<'_>) -> Result<R>,
    ) -> Result<R> {
        let run_err = |e: ort::Error| self.error(e.to_string());
        let owned = standard(inputs);
        let mut feeds = Vec::with_capacity(inputs.len());
        for ((name, _), a) in inputs.iter().zip(&owned) {
            feeds.push((
                name.to_string(),
                TensorRef::from_array_view(a.view()).map_err(run_err)?,
            ));
        }
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        read(session.run(feeds).map_err(run_err)?)
    }

    fn error(&self, message: String) -> RuntimeError {
        RuntimeError::Run {
            model: self.label.clone(),
            message,
        }
    }
}

/// The inputs in standard layout (borrowed when they already are).
fn standard<'a>(
    inputs: &'a [(&str, ArrayViewD<'a, f32>)],
) -> Vec<ndarray::CowArray<'a, f32, ndarray::IxDyn>> {
    inputs
        .iter()
        .map(|(_, a)| {
            if a.is_standard_layout() {
                a.view().into()
            } else {
                a.as_standard_layout().into_owned().into()
            }
        })
        .collect()
}

/// A session output kept in ONNX Runtime's buffer.
pub struct Output {
    value: ort::value::DynValue,
    shape: Vec<usize>,
}

impl Output {
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The values, C order.
    pub fn data(&self) -> &[f32] {
        self.value
            .try_extract_tensor::<f32>()
            .map(|(_, d)| d)
            .expect("checked to be a float tensor when it was kept")
    }
}
