use crate::pipeline;
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;

/// `lantern layers M.onnx`: every tensor (topological order) with its op and static shape from
/// one probe run, the default CAM layer marked with `*`.
pub fn layers(model_path: &Path) -> Result<ExitCode> {
    let runtime = pipeline::open_runtime(None, None, None)?;
    let model = pipeline::load_model(runtime, model_path)?;
    let shapes = model.shapes()?;
    let default = lantern_graph::default_cam_layer(&model.proto, shapes);
    println!("{:<2} {:<48} {:<22} shape", "", "tensor", "op");
    for t in lantern_graph::list_tensors(&model.proto, shapes) {
        let mark = if default.as_deref() == Some(t.name.as_str()) {
            "*"
        } else {
            ""
        };
        let shape = t
            .shape
            .map(|s| format!("{s:?}"))
            .unwrap_or_else(|| "?".into());
        println!("{mark:<2} {:<48} {:<22} {shape}", t.name, t.op_type);
    }
    match default {
        Some(d) => println!("\ndefault CAM layer (marked *): {d} (what `layer = \"auto\"` picks)"),
        None => {
            println!("\nno 4-D activation before global pooling: pass the CAM layer explicitly")
        }
    }
    Ok(ExitCode::SUCCESS)
}
