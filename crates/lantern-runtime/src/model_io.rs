//! A model's inputs and outputs — names, and dims of float tensors — read from its ONNX Runtime
//! session or, when the forward session is deferred (see [`crate::Model::load_deferred`]),
//! from the graph itself: graph inputs that are not initialisers, as ONNX Runtime lists them.

use crate::model::tensor_dims;
use lantern_graph::ModelProto;
use ort::session::Session;

/// One outlet: its name and, for a float tensor, its dims (−1 for dynamic ones).
pub(crate) type Outlet = (String, Option<Vec<i64>>);

pub(crate) struct Io {
    pub inputs: Vec<Outlet>,
    pub outputs: Vec<Outlet>,
}

impl Io {
    pub fn of_session(session: &Session) -> Io {
        Io {
            inputs: session
                .inputs()
                .iter()
                .map(|i| (i.name().to_string(), tensor_dims(i.dtype())))
                .collect(),
            outputs: session
                .outputs()
                .iter()
                .map(|o| (o.name().to_string(), tensor_dims(o.dtype())))
                .collect(),
        }
    }

    pub fn of_graph(model: &ModelProto) -> Io {
        const FLOAT: i32 = 1;
        let Some(graph) = model.graph.as_ref() else {
            return Io {
                inputs: Vec::new(),
                outputs: Vec::new(),
            };
        };
        let initialisers = lantern_graph::ir::initializer_names(graph);
        let outlet = |v: &lantern_graph::ValueInfoProto| -> Outlet {
            let dims = match lantern_graph::ir::value_info_tensor(v) {
                Some((FLOAT, dims)) => Some(
                    dims.unwrap_or_default()
                        .into_iter()
                        .map(|d| d.unwrap_or(-1))
                        .collect(),
                ),
                _ => None,
            };
            (v.name.clone().unwrap_or_default(), dims)
        };
        Io {
            inputs: graph
                .input
                .iter()
                .filter(|v| v.name.as_ref().is_none_or(|n| !initialisers.contains(n)))
                .map(outlet)
                .collect(),
            outputs: graph.output.iter().map(outlet).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_graph_lists_what_onnx_runtime_lists() {
        let assets = lantern_core::skip_without_assets!();
        let bytes = std::fs::read(assets.join("models/mobilenetv2-12-float.onnx")).unwrap();
        let proto = lantern_graph::decode_model(&bytes).unwrap();
        let from_graph = Io::of_graph(&proto);
        let runtime = crate::Runtime::get_or_default().unwrap();
        let (session, _) = runtime.session(&bytes, "mobilenetv2").unwrap();
        let from_session = Io::of_session(&session);
        assert_eq!(from_graph.inputs, from_session.inputs);
        assert_eq!(from_graph.outputs, from_session.outputs);
        assert_eq!(from_graph.inputs[0].1, Some(vec![-1, 3, 224, 224]));
    }
}
