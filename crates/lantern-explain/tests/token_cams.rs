//! CAMs on a vision transformer (issue 12): the default layer is the last block's norm1 output,
//! tokens become a grid (pytorch-grad-cam's ViT `reshape_transform`), and Grad-CAM matches the
//! library's formula computed in float64 by `tools/export_static_fixtures.py`.

mod support;

use lantern_explain::ParamValue;
use lantern_runtime::Model;
use ndarray::{Ix2, Ix4};
use support::{Setup, check, model_at, read_npy, static_fixture as fixture, try_method};

/// The tiny ViT with the `i`-th of its three fixture images.
fn vit_with_image(i: usize) -> Setup<'static> {
    let vit: &'static Model = model_at(&fixture("tiny_vit_dynamic.onnx"));
    let x = read_npy(&fixture("tiny_vit_x.npy"))
        .into_dimensionality::<Ix4>()
        .expect("[3,3,64,64]");
    Setup::new(vit, x.index_axis(ndarray::Axis(0), i).to_owned())
}

#[test]
fn vit_gradcam_matches_the_pytorch_grad_cam_formula() {
    let setup = vit_with_image(0);
    let (ctx, x) = (setup.ctx(), &setup.x);
    let want = read_npy(&fixture("tiny_vit_gradcam_class3.npy"))
        .into_dimensionality::<Ix2>()
        .expect("[4,4]");
    // Default layer, `auto`, and the layer named with its token count: the same map.
    for params in [
        vec![],
        vec![("layer", ParamValue::Text("auto".into()))],
        vec![
            (
                "layer",
                ParamValue::Text("/blocks/blocks.1/norm1/LayerNormalization_output_0".into()),
            ),
            ("tokens", ParamValue::Int(1)),
        ],
    ] {
        let e = try_method("gradcam", &params)
            .expect("builds")
            .explain(&ctx, x.view(), 3)
            .expect("Grad-CAM on a ViT");
        let raw = e.raw.expect("raw");
        assert_eq!(raw.dim(), (4, 4));
        assert_eq!(e.map.shape(), &[64, 64]);
        check("tiny ViT gradcam raw", raw.view(), want.view(), 1e-4);
    }
}

#[test]
fn every_cam_runs_on_a_vit_and_is_class_discriminative() {
    let setup = vit_with_image(1);
    let (ctx, x) = (setup.ctx(), &setup.x);
    for name in [
        "gradcam",
        "gradcam++",
        "xgradcam",
        "layercam",
        "hirescam",
        "scorecam",
        "ablationcam",
        "eigencam",
        "guided-gradcam",
    ] {
        let m = try_method(name, &[]).expect("builds");
        let es = m
            .explain_targets(&ctx, x.view(), &[2, 7])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for e in &es {
            // Guided Grad-CAM keeps the channels: [3,64,64].
            assert_eq!(e.map.shape()[e.map.ndim() - 2..], [64, 64], "{name}");
            assert!(e.map.iter().all(|v| v.is_finite()), "{name}");
            if let Some(raw) = &e.raw {
                assert_eq!(raw.dim(), (4, 4), "{name}");
            }
        }
        if !matches!(name, "eigencam") {
            assert_ne!(
                es[0].map, es[1].map,
                "{name}: the two classes' maps are equal"
            );
        }
    }
}

#[test]
fn token_count_must_leave_a_square_and_applies_to_token_layers_only() {
    let setup = vit_with_image(0);
    let (ctx, x) = (setup.ctx(), &setup.x);
    // 17 tokens − 2 = 15: not a square.
    let err = try_method("gradcam", &[("tokens", ParamValue::Int(2))])
        .expect("builds")
        .explain(&ctx, x.view(), 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a square"), "{err}");
    // The patch-embedding convolution's output is a [N,C,h,w] map: `tokens` is refused there,
    // and without it the map is used as it stands.
    let conv = "/patch_embed/proj/Conv_output_0";
    let err = try_method(
        "gradcam",
        &[
            ("layer", ParamValue::Text(conv.into())),
            ("tokens", ParamValue::Int(1)),
        ],
    )
    .expect("builds")
    .explain(&ctx, x.view(), 0)
    .unwrap_err()
    .to_string();
    assert!(err.contains("token layers"), "{err}");
}
