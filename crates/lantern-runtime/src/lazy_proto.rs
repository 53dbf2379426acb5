//! A model's ONNX graph, decoded when first used. Decoding MobileNetV2's 14 MB costs about as
//! much as a forward pass, and a start on a warm cache needs none of it: the sessions come
//! from cached optimised graphs and the inputs, outputs and batch kind from the model's cache
//! entry ([`Facts`]). Only bytes that decoded before — whose cache entry says so, under the same
//! content hash — are left pending, so decoding them later cannot fail.

use crate::cache;
use crate::cache_file;
use crate::model_io::Io;
use lantern_graph::ModelProto;
use std::ops::Deref;
use std::sync::{Mutex, OnceLock};

pub struct LazyProto {
    pending: Mutex<Option<Vec<u8>>>,
    decoded: OnceLock<ModelProto>,
}

impl LazyProto {
    /// Bytes known to decode (see the module doc), decoded on first use.
    pub(crate) fn pending(bytes: Vec<u8>) -> LazyProto {
        LazyProto {
            pending: Mutex::new(Some(bytes)),
            decoded: OnceLock::new(),
        }
    }
}

impl From<ModelProto> for LazyProto {
    fn from(proto: ModelProto) -> LazyProto {
        LazyProto {
            pending: Mutex::new(None),
            decoded: OnceLock::from(proto),
        }
    }
}

impl Deref for LazyProto {
    type Target = ModelProto;

    fn deref(&self) -> &ModelProto {
        self.decoded.get_or_init(|| {
            tracing::debug!(target: "lantern::cache", "decoding the model graph");
            let bytes = self
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .expect("a model graph is either decoded or pending");
            lantern_graph::decode_model(&bytes)
                .expect("these bytes decoded when their cache entry was written")
        })
    }
}

/// What a start needs to know of a model without its graph, kept in its cache folder as
/// `model.json.lc` once the graph has decoded.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Facts {
    pub inputs: Vec<(String, Option<Vec<i64>>)>,
    pub outputs: Vec<(String, Option<Vec<i64>>)>,
    pub static_batch: bool,
}

impl Facts {
    pub fn of(proto: &ModelProto) -> Facts {
        let io = Io::of_graph(proto);
        Facts {
            inputs: io.inputs,
            outputs: io.outputs,
            static_batch: lantern_graph::surgery::has_static_batch(proto),
        }
    }

    pub fn io(&self) -> Io {
        Io {
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
        }
    }

    /// The facts cached for the model with content hash `hash`.
    pub fn cached(hash: &str) -> Option<Facts> {
        let path = cache::model_dir(hash).join("model.json.lc");
        cache_file::read_json_or_warn(&path, "model facts")
    }

    pub fn save(&self, hash: &str) {
        let path = cache::model_dir(hash).join("model.json.lc");
        if let Ok(json) = serde_json::to_vec(self) {
            // A cache that cannot be written only costs the decoding next time.
            let _ = cache_file::write(&path, &json);
        }
    }
}
