//! The transformer methods against the authors' reference code on a small ViT
//! (`tests/fixtures/attention`, written by `tools/reference_attention.py`: timm ViT, depth 2,
//! width 64, 4 heads, 64×64 input, 8×8 patches, seeded random weights, float64 reference).

mod support;

use lantern_explain::{Explanation, ParamValue};
use lantern_runtime::{Model, Runtime};
use ndarray::{Array3, ArrayD, Axis};
use std::path::PathBuf;
use support::{
    Setup, check, context, imagenet_photo, logits, method, model_at, read_npy, rel, static_fixture,
};

fn fixture(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/attention")
        .join(file)
}

fn vit() -> &'static Model {
    model_at(&fixture("model.onnx"))
}

fn npy(file: &str) -> ArrayD<f32> {
    read_npy(&fixture(file))
}

fn image() -> Array3<f32> {
    let x = npy("input.npy");
    let s = x.shape().to_vec();
    x.into_shape_with_order((s[1], s[2], s[3]))
        .expect("[1,C,H,W]")
}

/// The reference's two top classes.
fn targets() -> Vec<usize> {
    std::fs::read_to_string(fixture("targets.txt"))
        .expect("targets.txt")
        .split_whitespace()
        .map(|t| t.parse().expect("class index"))
        .collect()
}

fn explain(name: &str, params: &[(&str, ParamValue)], targets: &[usize]) -> Vec<Explanation> {
    let setup = Setup::new(vit(), image());
    method(name, params)
        .explain_targets(&setup.ctx(), setup.x.view(), targets)
        .expect("explains")
}

fn check_maps(what: &str, e: &Explanation, stem: &str) {
    let raw = e.raw.as_ref().expect("token-grid map");
    check(
        &format!("{what} grid"),
        raw.view(),
        npy(&format!("{stem}-grid.npy")).view(),
        1e-4,
    );
    check(
        &format!("{what} upsampled"),
        e.map.view(),
        npy(&format!("{stem}-up.npy")).view(),
        1e-4,
    );
}

#[test]
fn logits_match_the_reference() {
    lantern_core::skip_without_reference!();
    let l = logits(vit(), &image());
    let want = npy("logits.npy");
    check("logits", l.view(), want.index_axis(Axis(0), 0), 1e-5);
}

#[test]
fn rollout_matches_vit_explain() {
    lantern_core::skip_without_reference!();
    for fusion in ["mean", "max", "min"] {
        for ratio in [0.9, 0.0] {
            let e = explain(
                "attention-rollout",
                &[
                    ("head_fusion", ParamValue::Text(fusion.into())),
                    ("discard_ratio", ParamValue::Float(ratio)),
                ],
                &targets()[..1],
            );
            check_maps(
                &format!("rollout {fusion} {ratio}"),
                &e[0],
                &format!("rollout-{fusion}-{ratio:.1}"),
            );
        }
    }
    // The defaults are vit-explain's: mean fusion, discard 0.9.
    let e = explain("attention-rollout", &[], &targets()[..1]);
    check_maps("rollout defaults", &e[0], "rollout-mean-0.9");
}

#[test]
fn transformer_attribution_matches_chefer() {
    lantern_core::skip_without_reference!();
    let targets = targets();
    let maps = explain("transformer-attribution", &[], &targets);
    for (t, e) in targets.iter().zip(&maps) {
        check_maps(
            &format!("transformer attribution t{t}"),
            e,
            &format!("transformer-attribution-t{t}"),
        );
    }
}

#[test]
fn attribution_is_class_discriminative_and_rollout_is_not() {
    lantern_core::skip_without_reference!();
    let targets = targets();
    let r = explain("attention-rollout", &[], &targets);
    assert_eq!(r[0].map, r[1].map, "rollout is class-agnostic");
    let t = explain("transformer-attribution", &[], &targets);
    // max |a − b| / max |a|
    let d = rel(t[1].map.view(), t[0].map.view());
    println!("transformer attribution: top-two maps differ by {d:.3e} of the max");
    assert!(
        d > 0.05,
        "transformer attribution maps of two classes differ by {d:.3e}"
    );
}

/// Both PyTorch exporters' graphs of one tiny ViT (lantern-graph's static-batch fixtures:
/// TorchScript opset 17 with a dynamic batch; dynamo opset 20 with batch 1, whose attention
/// Softmax outputs have generated names): the attention search finds the same blocks, and both
/// methods give the same maps, two targets batched.
#[test]
fn both_exporters_give_the_same_maps() {
    let rt = Runtime::get_or_default().expect("ONNX Runtime");
    let x = read_npy(&static_fixture("tiny_vit_x.npy"));
    let s = x.shape().to_vec();
    let x = x
        .index_axis(Axis(0), 0)
        .to_owned()
        .into_shape_with_order((s[1], s[2], s[3]))
        .unwrap();
    let maps: Vec<Vec<Explanation>> = ["tiny_vit_dynamic.onnx", "tiny_vit_static.onnx"]
        .iter()
        .map(|file| {
            let model = Model::load(rt, &static_fixture(file)).expect("fixture loads");
            let l = logits(&model, &x);
            let ctx = context(&model, &l);
            ["attention-rollout", "transformer-attribution"]
                .iter()
                .flat_map(|name| {
                    method(name, &[])
                        .explain_targets(&ctx, x.view(), &[0, 1])
                        .expect("explains")
                })
                .collect()
        })
        .collect();
    for (i, (a, b)) in maps[0].iter().zip(&maps[1]).enumerate() {
        check(
            &format!("map {i}: dynamo vs TorchScript"),
            b.map.view(),
            a.map.view(),
            1e-5,
        );
    }
}

/// Issue 12's check on `cat_dog.png` (the photo, ImageNet preprocessing to the fixture ViT's
/// 64×64 input): for the model's two top classes, Grad-CAM (auto layer) and transformer
/// attribution give different maps, and attention rollout — class-agnostic by definition
/// (Abnar & Zuidema: it rolls out the attention alone) — gives one map for both.
#[test]
fn cat_dog_top_two_classes_get_different_maps() {
    lantern_core::skip_without_reference!();
    let setup = Setup::new(vit(), imagenet_photo("assets/photos/cat_dog.png", 64));
    let (ctx, x, l) = (setup.ctx(), &setup.x, &setup.logits);
    let mut order: Vec<usize> = (0..l.len()).collect();
    order.sort_by(|&a, &b| l[b].total_cmp(&l[a]));
    let top2 = &order[..2];
    for name in ["gradcam", "transformer-attribution"] {
        let maps = method(name, &[])
            .explain_targets(&ctx, x.view(), top2)
            .expect("explains");
        // max |a − b| / max |a|
        let d = rel(maps[1].map.view(), maps[0].map.view());
        println!("{name}: classes {top2:?} differ by {d:.3} of the max");
        assert!(d > 0.05, "{name}: maps of {top2:?} differ by only {d:.3e}");
    }
    let rollout = method("attention-rollout", &[])
        .explain_targets(&ctx, x.view(), top2)
        .expect("explains");
    assert_eq!(rollout[0].map, rollout[1].map, "rollout is class-agnostic");
}
