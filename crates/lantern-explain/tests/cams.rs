//! The CAM family against pytorch-grad-cam 1.5.7 on the reference inputs.

mod support;

use lantern_core::normalise::minmax_grad_cam as minmax;
use lantern_explain::resize::{bilinear, display_map};
use lantern_explain::{Explanation, ParamValue};
use ndarray::{Array1, Array2, Array3, ArrayView2, Ix2, Ix3, s};
use support::*;

fn raw(e: &Explanation) -> Array2<f32> {
    e.raw.clone().expect("CAM methods return the raw map")
}

fn ref2(m: &str, file: &str) -> Array2<f32> {
    npy(m, file).into_dimensionality::<Ix2>().unwrap()
}

/// The layer activations A and gradients dA `[C,h,w]` that pytorch-grad-cam captured for
/// reference input `key` of model `m` (its default layer, the key's target).
fn library_tensors(m: &str, key: &str) -> (Array3<f32>, Array3<f32>) {
    let tensor = |what: &str| {
        npy(m, &format!("{key}_grad-cam-{what}.npy"))
            .into_dimensionality::<Ix3>()
            .unwrap()
    };
    (tensor("activations"), tensor("gradients"))
}

/// Checks a CAM's raw map and (where given) channel weights against pytorch-grad-cam's
/// `{key}_{stem}-raw.npy` and `{key}_{stem}-weights.npy` of model `m`.
fn check_raw_and_weights(
    what: &str,
    (m, key, stem): (&str, &str, &str),
    raw: ArrayView2<f32>,
    weights: Option<&Array1<f32>>,
    tol: f32,
) {
    check(
        &format!("{what} raw"),
        raw,
        ref2(m, &format!("{key}_{stem}-raw.npy")).view(),
        tol,
    );
    if let Some(w) = weights {
        check(
            &format!("{what} weights"),
            w.view(),
            npy(m, &format!("{key}_{stem}-weights.npy")).view(),
            tol,
        );
    }
}

/// Checks the display map of a raw CAM against pytorch-grad-cam's `{key}_{stem}.npy`.
fn check_display(what: &str, (m, key, stem): (&str, &str, &str), raw: ArrayView2<f32>) {
    check(
        &format!("{what} display"),
        display_map(raw, 224, 224).view(),
        npy(m, &format!("{key}_{stem}.npy")).view(),
        1e-4,
    );
}

#[test]
fn gradient_cams_match_pytorch_grad_cam() {
    lantern_core::skip_without_reference!();
    // Lantern name → reference file stem, and whether the library saved weights.
    let cams = [
        ("gradcam", "grad-cam", true),
        ("gradcam++", "grad-cam-plusplus", true),
        ("xgradcam", "xgrad-cam", true),
        ("layercam", "layer-cam", false),
        ("hirescam", "hires-cam", false),
    ];
    for m in MODELS {
        for (key, target) in keys(m) {
            let setup = Setup::reference(m, key);
            let ctx = setup.ctx();
            for (name, stem, has_weights) in cams {
                let e = method(name, &[])
                    .explain(&ctx, setup.x.view(), target)
                    .unwrap();
                let r = raw(&e);
                let what = format!("{m}/{key} {name}");
                let weights = has_weights.then(|| e.weights.as_ref().expect("weights"));
                check_raw_and_weights(&what, (m, key, stem), r.view(), weights, 1e-4);
                check_display(&what, (m, key, stem), r.view());
                if name == "gradcam" {
                    check(
                        &format!("{m}/{key} gradcam up"),
                        e.map.view(),
                        npy(m, &format!("{key}_grad-cam-up.npy")).view(),
                        1e-4,
                    );
                    // Captum's LayerGradCam agrees (second opinion).
                    check(
                        &format!("{m}/{key} gradcam vs captum"),
                        r.view(),
                        ref2(m, &format!("{key}_layer-grad-cam.npy")).view(),
                        1e-4,
                    );
                }
            }
        }
    }
}

#[test]
fn cam_rules_on_the_library_tensors() {
    lantern_core::skip_without_reference!();
    // The weighting formulas alone, fed the A and dA pytorch-grad-cam captured.
    use lantern_explain::cam::{
        CamRule, GradCam, GradCamPlusPlus, HiResCam, LayerCam, LayerJob, XGradCam,
    };
    for m in MODELS {
        let (key, target) = keys(m)[0];
        let setup = Setup::reference(m, key);
        let ctx = setup.ctx();
        let (a, da) = library_tensors(m, key);
        let (acts, grads) = ([a], [da]);
        let targets = [target];
        let job = LayerJob {
            ctx: &ctx,
            image: setup.x.view(),
            layer: "",
            layout: lantern_explain::tokens::Layout::ChannelsFirst,
            targets: &targets,
            activations: &acts,
            gradients: &grads,
            native: None,
        };
        let rules: [(&dyn CamRule, &str); 5] = [
            (&GradCam, "grad-cam"),
            (&GradCamPlusPlus, "grad-cam-plusplus"),
            (&XGradCam, "xgrad-cam"),
            (&LayerCam, "layer-cam"),
            (&HiResCam, "hires-cam"),
        ];
        for (rule, stem) in rules {
            let cam = rule.layer_cams(&job).unwrap().remove(0);
            check_raw_and_weights(
                &format!("{m}/{key} {stem} from library tensors"),
                (m, key, stem),
                cam.raw.view(),
                cam.weights.as_ref(),
                1e-5,
            );
        }
    }
}

#[test]
fn eigencam_projection_matches_up_to_sign() {
    lantern_core::skip_without_reference!();
    let eigen = method("eigencam", &[]);
    for m in MODELS {
        for (key, target) in keys(m) {
            let setup = Setup::reference(m, key);
            let (model, x) = (setup.model, &setup.x);
            let e = eigen.explain(&setup.ctx(), x.view(), target).unwrap();
            let want = ref2(m, &format!("{key}_eigen-cam-projection.npy"));
            let a = model
                .tap_session(&[model.default_cam_layer().unwrap()])
                .unwrap();
            let acts = a
                .run(x.view().insert_axis(ndarray::Axis(0)))
                .unwrap()
                .tensors
                .into_values()
                .next()
                .unwrap();
            let acts = acts.into_dimensionality::<ndarray::Ix4>().unwrap();
            let (proj, _) =
                lantern_explain::cam::EigenCam::projection(acts.slice(s![0, .., .., ..]));
            let same = rel(proj.view(), want.view());
            let flipped = rel(proj.mapv(|v| -v).view(), want.view());
            println!(
                "{m}/{key} eigencam projection: rel {:.3e} ({} sign as LAPACK)",
                same.min(flipped),
                if same <= flipped { "same" } else { "opposite" }
            );
            assert!(
                same.min(flipped) <= 1e-4,
                "{m}/{key}: {same:.3e} / {flipped:.3e}"
            );
            assert_eq!(raw(&e), proj.mapv(|v| v.max(0.0)));
        }
    }
}

#[test]
fn scorecam_matches_pytorch_grad_cam() {
    lantern_core::skip_without_reference!();
    for (m, key, target) in [
        ("mobilenetv2", "cat_dog-t243", 243),
        ("tinycnn", "shapes", 9),
    ] {
        let (e, _) = explain_at(&*method("scorecam", &[]), m, key, target);
        println!(
            "{m}/{key} scorecam: {} masked forwards, {} dead channels",
            e.stats["masked_forwards"], e.stats["dead_channels"]
        );
        let what = format!("{m}/{key} scorecam");
        let weights = e.weights.as_ref().unwrap();
        check_raw_and_weights(
            &what,
            (m, key, "score-cam"),
            raw(&e).view(),
            Some(weights),
            1e-4,
        );
        check_display(&what, (m, key, "score-cam"), raw(&e).view());
    }
}

#[test]
fn gradcam_puts_each_class_on_its_animal() {
    lantern_core::skip_without_reference!();
    // cat_dog: the bull mastiff fills the top half, the tiger cat the bottom half.
    let setup = Setup::reference("mobilenetv2", "cat_dog-t243");
    let gradcam = method("gradcam", &[]);
    // Each map of the batch equals the map computed alone.
    let maps = explain_batched_as_alone(
        "gradcam",
        &*gradcam,
        &setup.ctx(),
        setup.x.view(),
        &[243, 282],
    );
    let halves = |e: &Explanation| {
        let map = e.map.view().into_dimensionality::<Ix2>().unwrap();
        (
            map.slice(s![..112, ..]).sum(),
            map.slice(s![112.., ..]).sum(),
        )
    };
    let (dog_top, dog_bottom) = halves(&maps[0]);
    let (cat_top, cat_bottom) = halves(&maps[1]);
    println!(
        "gradcam 243 (mastiff): top {dog_top:.1} bottom {dog_bottom:.1}; 282 (tiger cat): top {cat_top:.1} bottom {cat_bottom:.1}"
    );
    assert!(dog_top > dog_bottom);
    assert!(cat_bottom > cat_top);
}

#[test]
fn ablationcam_matches_the_linear_head() {
    lantern_core::skip_without_reference!();
    // MobileNetV2 ends in GlobalAveragePool → Gemm, so ablating channel k lowers the logit by
    // exactly Σ_ij dA_kij·A_kij (zero is the ablation value: the layer is a ReLU6 output).
    let (m, key, target) = ("mobilenetv2", "cat_dog-t243", 243);
    let (e, logits) = explain_at(&*method("ablationcam", &[]), m, key, target);
    let (a, da) = library_tensors(m, key);
    let y = logits[target];
    let want: ndarray::Array1<f32> = (&a * &da)
        .into_shape_with_order((a.shape()[0], a.shape()[1] * a.shape()[2]))
        .unwrap()
        .sum_axis(ndarray::Axis(1))
        / y;
    let w = e.weights.as_ref().unwrap();
    check(
        "mobilenetv2 ablationcam weights vs linear head",
        w.view(),
        want.view(),
        2e-3,
    );
    assert_eq!(e.passes.forward, 1 + 1280);
    // raw = relu(Σ_k w_k A_k) with those weights.
    let want_raw = lantern_explain::cam::weighted_sum(a.view(), want.view());
    check(
        "mobilenetv2 ablationcam raw",
        raw(&e).view(),
        want_raw.view(),
        2e-3,
    );
}

#[test]
fn several_layers_aggregate_minmax_maps() {
    lantern_core::skip_without_reference!();
    let setup = Setup::reference("tinycnn", "shapes");
    let (ctx, x, target) = (setup.ctx(), &setup.x, 9);
    let last = setup.model.default_cam_layer().unwrap();
    let earlier = "/features/features.10/Relu_output_0".to_string();
    let layers = format!("{last},{earlier}");
    let e = method("gradcam", &[("layers", ParamValue::Text(layers))])
        .explain(&ctx, x.view(), target)
        .unwrap();
    let one = method("gradcam", &[("layer", ParamValue::Text(last))])
        .explain(&ctx, x.view(), target)
        .unwrap();
    let other = method("gradcam", &[("layer", ParamValue::Text(earlier))])
        .explain(&ctx, x.view(), target)
        .unwrap();
    assert_eq!(e.raw, one.raw, "raw is the first layer's");
    // pytorch-grad-cam's aggregate_multi_layers before its final display normalisation.
    let scaled =
        |e: &Explanation| bilinear(minmax(raw(e).view()).view(), 224, 224).mapv(|v| v.max(0.0));
    let want = (scaled(&one) + scaled(&other)) / 2.0;
    check("two-layer gradcam", e.map.view(), want.view(), 1e-6);
    // Its display map is the library's returned map: minmax of that mean.
    let map = e.map.view().into_dimensionality::<Ix2>().unwrap();
    check(
        "two-layer gradcam display",
        display_map(map, 224, 224).view(),
        minmax(want.view()).view(),
        1e-5,
    );
}
