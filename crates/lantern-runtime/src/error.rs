use std::path::PathBuf;

/// Everything that can go wrong between a model file and its outputs. Messages name the file,
/// tensor or setting involved and, where there is one, the command that fixes it.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "ONNX Runtime library not found (looked in: {searched}). Run `lantern setup` (installs it into ~/.lantern/ort; `lantern setup --gpu` for CUDA; in a checkout `just setup` does the same), or set ORT_DYLIB_PATH to a libonnxruntime.so"
    )]
    LibraryNotFound { searched: String },
    #[error(
        "could not load ONNX Runtime from {path}: {message}. Run `just setup` to install a compatible library"
    )]
    LibraryLoad { path: PathBuf, message: String },
    #[error(
        "the CUDA execution provider could not start: {message}. Install the GPU build with `just setup-gpu`, or use device = \"cpu\" / \"auto\""
    )]
    CudaUnavailable { message: String },
    #[error("unknown device {0:?}: expected \"cpu\", \"cuda\" or \"auto\"")]
    UnknownDevice(String),
    #[error("model file {path}: {message}")]
    Model { path: PathBuf, message: String },
    #[error("model {model}: {message}")]
    Input { model: String, message: String },
    #[error("ONNX Runtime failed running {model}: {message}")]
    Run { model: String, message: String },
    #[error(transparent)]
    Graph(#[from] lantern_graph::GraphError),
    #[error("cache {path}: {message}")]
    Cache { path: PathBuf, message: String },
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;
