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

use crate::device::Device;
use crate::environment::Runtime;
use crate::error::{Result, RuntimeError};
use lantern_graph::ModelProto;
use ndarray::{ArrayD, ArrayViewD};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;
use std::path::PathBuf;
use std::sync::Mutex;

/// A session with the runtime's settings (as [`Runtime::session`]) whose idle intra-op threads
/// sleep instead of spinning.
fn build(runtime: &Runtime, bytes: &[u8], label: &str, cuda: bool) -> Result<Session> {
    let err = |message: String| RuntimeError::Model {
        path: PathBuf::from(label),
        message,
    };
    let mut builder = Session::builder(runtime.ort_env())
        .map_err(|e| err(e.to_string()))?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| err(e.to_string()))?
        .with_intra_op_spinning(false)
        .map_err(|e| err(e.to_string()))?;
    if let Some(threads) = runtime.options.threads {
        builder = builder
            .with_intra_threads(threads)
            .map_err(|e| err(e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| err(e.to_string()))?;
    }
    if cuda {
        builder = builder
            .with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()])
            .map_err(|e| err(e.to_string()))?;
    }
    builder
        .commit_from_memory(bytes)
        .map_err(|e| err(e.to_string()))
}

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
        let (session, device_used) = match runtime.options.device {
            Device::Cpu => (build(runtime, &bytes, label, false)?, "cpu"),
            Device::Cuda => (
                build(runtime, &bytes, label, true).map_err(|e| RuntimeError::CudaUnavailable {
                    message: e.to_string(),
                })?,
                "cuda",
            ),
            Device::Auto => match build(runtime, &bytes, label, true) {
                Ok(s) => (s, "cuda"),
                Err(_) => (build(runtime, &bytes, label, false)?, "cpu"),
            },
        };
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
        let run_err = |e: ort::Error| RuntimeError::Run {
            model: self.label.clone(),
            message: e.to_string(),
        };
        let owned = standard(inputs);
        let mut feeds = Vec::with_capacity(inputs.len());
        for ((name, _), a) in inputs.iter().zip(&owned) {
            feeds.push((
                name.to_string(),
                TensorRef::from_array_view(a.view()).map_err(run_err)?,
            ));
        }
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let mut outputs = session.run(feeds).map_err(run_err)?;
        let mut kept = Vec::with_capacity(self.outputs.len());
        for name in &self.outputs {
            let value = outputs
                .remove(name.as_str())
                .ok_or_else(|| RuntimeError::Run {
                    model: self.label.clone(),
                    message: format!("output {name:?} missing"),
                })?;
            let shape = value
                .try_extract_tensor::<f32>()
                .map_err(|e| RuntimeError::Run {
                    model: self.label.clone(),
                    message: format!("output {name:?}: {e}"),
                })?
                .0
                .iter()
                .map(|&d| d.max(0) as usize)
                .collect();
            kept.push(Output { value, shape });
        }
        Ok(kept)
    }

    /// Like [`GraphSession::run`], but hands the outputs (in graph order) to `read` as views
    /// into ONNX Runtime's buffers, so the caller copies only what it keeps, where it wants.
    pub fn run_with<R>(
        &self,
        inputs: &[(&str, ArrayViewD<f32>)],
        read: impl FnOnce(&[ArrayViewD<f32>]) -> R,
    ) -> Result<R> {
        let run_err = |e: ort::Error| RuntimeError::Run {
            model: self.label.clone(),
            message: e.to_string(),
        };
        let owned = standard(inputs);
        let mut feeds = Vec::with_capacity(inputs.len());
        for ((name, _), a) in inputs.iter().zip(&owned) {
            feeds.push((
                name.to_string(),
                TensorRef::from_array_view(a.view()).map_err(run_err)?,
            ));
        }
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let outputs = session.run(feeds).map_err(run_err)?;
        let views = self
            .outputs
            .iter()
            .map(|name| {
                outputs[name.as_str()]
                    .try_extract_array::<f32>()
                    .map_err(|e| RuntimeError::Run {
                        model: self.label.clone(),
                        message: format!("output {name:?}: {e}"),
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(read(&views))
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
