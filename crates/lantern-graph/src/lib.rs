//! ONNX model IO (prost messages for the ONNX IR), inspection, surgery and reverse-mode
//! autodiff into gradient-exporting graphs.

pub mod proto;

mod error;
pub mod inspect;
pub mod io;
pub mod ir;
pub mod rng;

#[cfg(test)]
mod testing;

pub use error::GraphError;
pub use inspect::{
    TensorInfo, TensorShapes, default_cam_layer, expose_all_tensors, graph_io, list_tensors,
};
pub use io::{decode_model, encode_model, load_model, model_hash};
pub use proto::{GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto};
