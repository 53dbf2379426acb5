//! ONNX Runtime for Lantern: finding the library (`ORT_DYLIB_PATH`, the config, the project's
//! `.lantern/ort` install from `just setup`), one process-wide environment, CPU or CUDA execution
//! providers (`auto` falls back to CPU and says so), and the sessions a model needs — the plain
//! forward session, tap sessions that also return intermediate tensors, and gradient sessions
//! running the graphs `lantern-graph` derives. Every derived session is built once per model and
//! cached (gradient graphs, probe shapes and ONNX Runtime's optimised graphs also on disk, keyed
//! by the model's content hash: `cache`, `session_cache`).
//! A model whose batch is fixed at 1 gets a symbolic batch, or runs one image at a time
//! (`batch` module, [`BatchMode`]).

mod batch;
pub mod cache;
mod cache_file;
mod device;
mod environment;
mod error;
mod gradients;
mod hash_memo;
mod lazy_proto;
pub mod library;
mod log;
mod model;
mod model_io;
mod probe;
mod score;
mod session_cache;
mod subgraph;
mod tap;

pub use batch::BatchMode;
pub use device::Device;
pub use environment::{Runtime, RuntimeOptions};
pub use error::{Result, RuntimeError};
pub use gradients::{GradientSession, Gradients};
pub use lantern_graph::{GradientSpec, ReluRule, TensorShapes};
pub use lazy_proto::LazyProto;
pub use model::{InputSpec, Layout, Model};
pub use score::{Score, softmax, softmax_f64, softmax_in_place};
pub use subgraph::{GraphSession, Output};
pub use tap::{TapSession, Tapped};
