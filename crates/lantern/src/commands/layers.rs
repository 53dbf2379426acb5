use crate::pipeline;
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;

/// `lantern layers M.onnx`: every tensor (topological order) with its op and static shape from
/// one probe run, the default CAM layer marked with `*` (on vision transformers the last
/// attention block's first norm output, with its token → grid layout).
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
        Some(d) => {
            let layout = match model.cam_layer_layout(&d)? {
                lantern_graph::SpatialLayout::ChannelsFirst => "[N,C,h,w]",
                lantern_graph::SpatialLayout::ChannelsLast => {
                    "[N,H,W,C] channels-last, transposed to [N,C,H,W] for CAMs"
                }
                lantern_graph::SpatialLayout::Tokens => {
                    "[N,T,C] tokens: CAMs drop the leading class/distillation tokens (`tokens=`) and lay the rest on a square grid"
                }
            };
            println!(
                "\ndefault CAM layer (marked *): {d} (what `layer = \"auto\"` picks); {layout}"
            )
        }
        None => println!(
            "\nno 4-D activation before global pooling and no attention block norm: pass the CAM layer explicitly"
        ),
    }
    Ok(ExitCode::SUCCESS)
}
