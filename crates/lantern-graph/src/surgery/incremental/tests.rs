use super::*;
use crate::io::load_model;
use crate::ir::{self, op};
use crate::testing::{assets_dir, probe, reference_dir};
use ndarray::{ArrayD, IxDyn};
use std::path::Path;

/// Captum's occlusion windows (as lantern-explain's `Occlusion::windows`).
fn windows(size: i64, window: i64, stride: i64) -> Vec<Rect> {
    let n = if size <= window {
        1
    } else {
        (size - window + stride - 1) / stride + 1
    };
    let mut out = Vec::new();
    for i in 0..n {
        for j in 0..n {
            let (t, l) = (i * stride, j * stride);
            out.push(Rect::new(
                t,
                l,
                (t + window).min(size),
                (l + window).min(size),
            ));
        }
    }
    out
}

/// A 224² classifier to plan for: the model, its probed shapes, Captum's 32/14 windows and the
/// tensors every path passes (where an exit may cut).
struct Case {
    m: ModelProto,
    shapes: TensorShapes,
    wins: Vec<Rect>,
    dominators: Vec<String>,
}

fn load_case(path: &Path) -> Case {
    let m = load_model(path).expect("model");
    let x = ArrayD::<f32>::zeros(IxDyn(&[1, 3, 224, 224]));
    let shapes = probe(&m, &[("input", &x)]);
    let dominators = GraphIndex::new(&m).expect("index").dominators();
    Case {
        m,
        shapes,
        wins: windows(224, 32, 14),
        dominators,
    }
}

fn print(plan: &IncrementalPlan) {
    println!("{}", plan.note);
    for (t, f, a) in &plan.candidates {
        println!("  {t}: {f:.3} (largest box {:.0}% of the map)", 100.0 * a);
    }
    for s in plan.graph.iter().flat_map(|g| &g.segments) {
        let all: Vec<usize> = (0..s.regions.len()).collect();
        println!(
            "  segment {:?} map {:?} largest box {:?} in {} calls, inputs {:?}",
            s.nodes,
            s.map,
            largest(&s.regions),
            s.groups(&all, 32).len(),
            s.inputs.iter().map(|a| &a.feed).collect::<Vec<_>>()
        );
    }
}

/// Structural checks every plan must pass.
fn check(plan: &IncrementalPlan, wins: &[Rect], dominators: &[String]) {
    let graph = plan.graph.as_ref().expect("a plan");
    let mut leaving = 0;
    for (e, exit) in graph.exits.iter().enumerate() {
        assert!(
            dominators.contains(&exit.tensor),
            "{} is not a cut",
            exit.tensor
        );
        assert_eq!(
            graph.segments[exit.segment].outputs[exit.output].tensor,
            exit.tensor
        );
        assert!(exit.windows.iter().all(|&w| graph.exit_of[w] == e));
        leaving += exit.windows.len();
    }
    assert_eq!(leaving, wins.len(), "every window leaves exactly once");
    assert_eq!(graph.windows_of(0).len(), wins.len());
    for (i, s) in graph.segments.iter().enumerate() {
        let [h, w] = s.map;
        for r in &s.regions {
            assert!(
                Rect::new(0, 0, h as i64, w as i64).contains(r),
                "{r:?} outside {h}×{w}"
            );
        }
        // Window ops pad nothing: crops and masks carry the padding.
        for n in &s.model.graph.as_ref().expect("graph").node {
            if matches!(op(n), "Conv" | "MaxPool" | "AveragePool") {
                assert!(ir::attr_s(n, "auto_pad").is_none());
                let pads = ir::attr_ints(n, "pads").unwrap_or_default();
                assert!(pads.iter().all(|&p| p == 0), "segment {i}: {pads:?}");
            }
        }
        for a in &s.inputs {
            if let Source::Segment { segment, output } = a.source {
                assert!(segment < i);
                assert_eq!(graph.segments[segment].outputs[output].tensor, a.tensor);
            }
        }
    }
}

#[test]
fn resnet18_plans_are_consistent() {
    lantern_core::skip_without_reference!();
    let case = load_case(&reference_dir().join("resnet18/model.onnx"));
    for segmentation in [Segmentation::PerOp, Segmentation::Fused] {
        let options = PlanOptions {
            segmentation,
            ..PlanOptions::default()
        };
        let plan = plan_incremental(&case.m, &case.shapes, &case.wins, &options).expect("plan");
        print(&plan);
        assert!(plan.estimated_fraction < 0.7, "{}", plan.note);
        check(&plan, &case.wins, &case.dominators);
        let graph = plan.graph.as_ref().expect("a plan");
        // The corner window's field stays smaller than the centre's.
        let last = &graph.segments[graph.segments.len() - 1];
        assert!(last.box_of(0).area() < last.box_of(case.wins.len() / 2).area());
        let fused = plan.note.contains("fused");
        assert_eq!(fused, segmentation == Segmentation::Fused, "{}", plan.note);
    }
}

#[test]
fn mobilenetv2_plan() {
    lantern_core::skip_without_assets!();
    let case = load_case(&assets_dir().join("models/mobilenetv2-12-float.onnx"));
    let plan =
        plan_incremental(&case.m, &case.shapes, &case.wins, &PlanOptions::default()).expect("plan");
    print(&plan);
    assert!(plan.estimated_fraction < 0.8, "{}", plan.note);
    check(&plan, &case.wins, &case.dominators);
    // Fused: cut only between inverted residuals; the depthwise convolutions inside read
    // their (recomputed, six times wider) inputs through masks.
    let options = PlanOptions {
        segmentation: Segmentation::Fused,
        ..PlanOptions::default()
    };
    let plan = plan_incremental(&case.m, &case.shapes, &case.wins, &options).expect("plan");
    print(&plan);
    check(&plan, &case.wins, &case.dominators);
    let graph = plan.graph.as_ref().expect("a plan");
    let masked = graph
        .segments
        .iter()
        .flat_map(|s| &s.inputs)
        .filter(|a| a.source == Source::Mask)
        .count();
    assert!(masked > 0, "{}", plan.note);
    assert!(
        graph.segments.iter().all(|s| s.inputs[0].shape[0] <= 160),
        "fused segments start at narrow tensors"
    );
}
