//! `lantern explain` and `lantern layers` end to end on the real MobileNetV2.

mod common;
use common::*;

/// `lantern explain` of `photos/cat_dog.png` on MobileNetV2 with `args` (method, parameters),
/// writing into a scratch folder.
fn explain_cat_dog(args: &[&str]) -> std::process::Output {
    let out = tempfile::tempdir().unwrap();
    explain(&mobilenet(), ("--image", &cat_dog()), out.path(), args)
}

#[test]
fn occlusion_matches_captum_and_finds_dog_and_cat() {
    lantern_core::skip_without_reference!();
    let out = tempfile::tempdir().unwrap();
    let reference = reference().join("mobilenetv2");
    for (target, dog) in [("243", true), ("282", false)] {
        let input = reference.join(format!("cat_dog-t{target}_input.npy"));
        let o = explain(
            &mobilenet(),
            ("--input-npy", &input),
            out.path(),
            &[
                "--method",
                "occlusion",
                "--target",
                target,
                "--param",
                "window=32",
                "--param",
                "stride=14",
                "--batch",
                "64",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let stem = format!("cat_dog-t{target}_input");
        let map = read_npy(&out.path().join(format!("{stem}.occlusion.npy")));
        let captum = read_npy(&reference.join(format!("cat_dog-t{target}_occlusion.npy")));
        let err = rel_err(&map, &captum);
        assert!(
            err < 1e-4,
            "target {target}: relative error {err} vs Captum"
        );
        assert!(out.path().join(format!("{stem}.occlusion.png")).is_file());
        // The dog fills the upper half of cat_dog.png, the cat the lower right.
        let (idx, _) = map
            .iter()
            .enumerate()
            .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
        let (y, x) = (idx / 224, idx % 224);
        if dog {
            assert!(
                y < 112,
                "bull mastiff occlusion peak at ({x},{y}) is not on the dog"
            );
        } else {
            // The tabby lies across the bottom of the photo.
            assert!(
                y >= 112,
                "tiger cat occlusion peak at ({x},{y}) is not on the cat"
            );
        }
    }
}

#[test]
fn top1_of_cat_dog_is_bull_mastiff() {
    lantern_core::skip_without_assets!();
    let o = explain_cat_dog(&[
        "--method",
        "occlusion",
        "--param",
        "window=112",
        "--param",
        "stride=112",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("target 243"), "{stdout}");
}

/// `lantern layers MODEL`: its stdout and the one line it marks (`*`) as the default CAM layer.
fn marked_layer(model: &std::path::Path) -> (String, String) {
    let o = lantern(&["layers", model.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let marked: Vec<&str> = stdout.lines().filter(|l| l.starts_with('*')).collect();
    assert_eq!(marked.len(), 1, "{stdout}");
    let line = marked[0].to_string();
    (stdout, line)
}

#[test]
fn layers_marks_the_default_cam_layer() {
    lantern_core::skip_without_assets!();
    let (_, marked) = marked_layer(&mobilenet());
    assert!(
        marked.contains(" 627 ") && marked.contains("[1, 1280, 7, 7]"),
        "{marked}"
    );
}

#[test]
fn missing_model_is_a_clear_error() {
    let out = tempfile::tempdir().unwrap();
    let o = explain(
        "nowhere/model.onnx".as_ref(),
        ("--image", "x.png".as_ref()),
        out.path(),
        &["--method", "occlusion"],
    );
    assert_refused(&o, &["nowhere/model.onnx", "does not exist"]);
}

#[test]
fn a_file_that_is_not_onnx_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let fake = write_file(
        dir.path(),
        "fake.onnx",
        b"this is not a protobuf at all \xff\xff\xff",
    );
    let o = lantern(&["layers", fake.to_str().unwrap()]);
    assert_refused(&o, &["fake.onnx"]);
}

#[test]
fn unknown_method_parameter_is_named() {
    lantern_core::skip_without_assets!();
    let o = explain_cat_dog(&["--method", "occlusion", "--param", "windw=3"]);
    assert_refused(&o, &["windw"]);
}

#[test]
fn target_out_of_range_is_refused() {
    lantern_core::skip_without_assets!();
    let o = explain_cat_dog(&["--method", "occlusion", "--target", "5000"]);
    assert_refused(&o, &["5000", "1000"]);
}

#[test]
fn cuda_where_it_cannot_start_is_an_error_and_auto_falls_back_to_cpu() {
    lantern_core::skip_without_assets!();
    let run = |device: &str| explain_cat_dog(&["--method", "saliency", "--device", device]);
    // The project's `just setup` installs the CPU build of ONNX Runtime.
    let cuda = run("cuda");
    assert!(
        !cuda.status.success(),
        "device = cuda must never silently run on the CPU"
    );
    assert!(
        stderr(&cuda).contains("CUDA") && stderr(&cuda).contains("just setup-gpu"),
        "{}",
        stderr(&cuda)
    );
    let auto = run("auto");
    assert!(auto.status.success(), "{}", stderr(&auto));
}

/// `lantern grad` writes a loadable graph with the named outputs; `--layers-only` drops
/// `grad_input` and the backward pass below the layer.
#[test]
fn grad_writes_the_gradient_graph_and_layers_only_stops_at_the_layer() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let outputs = |path: &std::path::Path| -> (Vec<String>, usize) {
        let m = lantern_graph::load_model(path).expect("written graph");
        let g = m.graph.expect("graph");
        (
            g.output.iter().filter_map(|o| o.name.clone()).collect(),
            g.node.len(),
        )
    };
    let model = mobilenet();
    let grad = |args: &[&str], out: &std::path::Path| {
        let mut all = vec!["grad", model.to_str().unwrap()];
        all.extend_from_slice(args);
        all.extend(["-o", out.to_str().unwrap()]);
        lantern(&all)
    };
    let full = dir.path().join("full.onnx");
    let o = grad(&["--layer", "auto"], &full);
    assert!(o.status.success(), "{}", stderr(&o));
    let (names, full_nodes) = outputs(&full);
    assert_eq!(names, ["logits", "grad_input", "627", "grad_627"]);

    let cam = dir.path().join("cam.onnx");
    let o = grad(&["--layer", "auto", "--layers-only"], &cam);
    assert!(o.status.success(), "{}", stderr(&o));
    let (names, cam_nodes) = outputs(&cam);
    assert_eq!(names, ["logits", "627", "grad_627"]);
    assert!(
        cam_nodes * 2 < full_nodes,
        "{cam_nodes} nodes stopped at the layer vs {full_nodes}"
    );

    let o = grad(&["--layers-only"], &dir.path().join("none.onnx"));
    assert_refused(&o, &["--layer"]);
}

/// `--layer auto`, which `--help` documents, is the default CAM layer (it used to be taken for a
/// tensor name and rejected on every model).
#[test]
fn explain_layer_auto_is_the_default_cam_layer() {
    lantern_core::skip_without_reference!();
    let out = tempfile::tempdir().unwrap();
    let input = reference().join("mobilenetv2/cat_dog-t243_input.npy");
    let model = mobilenet();
    let run = |dir: &str, layer: Option<&str>| {
        let dir = out.path().join(dir);
        let mut args = vec!["--method", "gradcam", "--target", "243"];
        if let Some(l) = layer {
            args.extend(["--layer", l]);
        }
        let o = explain(&model, ("--input-npy", &input), &dir, &args);
        assert!(o.status.success(), "{}", stderr(&o));
        read_npy(&dir.join("cat_dog-t243_input.gradcam.npy"))
    };
    let auto = run("auto", Some("auto"));
    assert_eq!(auto, run("default", None));
    assert_eq!(auto, run("named", Some("627")));
}

/// On a vision transformer exported with a static batch (PyTorch's default exporter), `lantern
/// layers` marks the last block's first norm and `explain --layer auto` runs Grad-CAM there.
#[test]
fn vit_layers_and_explain_layer_auto() {
    let vit = root().join("crates/lantern-graph/tests/fixtures/static/tiny_vit_static.onnx");
    let (stdout, marked) = marked_layer(&vit);
    assert!(
        marked.contains("layer_norm_2") && marked.contains("[1, 17, 64]"),
        "{marked}"
    );
    assert!(stdout.contains("tokens"), "{stdout}");

    let out = tempfile::tempdir().unwrap();
    let npy = out.path().join("x.npy");
    let x = read_npy(&root().join("crates/lantern-graph/tests/fixtures/static/tiny_vit_x.npy"));
    let first = x
        .index_axis(ndarray::Axis(0), 0)
        .insert_axis(ndarray::Axis(0))
        .to_owned();
    lantern_data::write_npy(&npy, &first).unwrap();
    let o = explain(
        &vit,
        ("--input-npy", &npy),
        out.path(),
        &["--method", "gradcam", "--layer", "auto", "--target", "3"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let map = read_npy(&out.path().join("x.gradcam.npy"));
    assert_eq!(map.shape(), &[64, 64]);
}
