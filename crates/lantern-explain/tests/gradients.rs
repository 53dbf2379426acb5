//! The gradient family against Captum 0.9 on the reference inputs (`../shared/reference`).

mod support;

use lantern_explain::ParamValue;
use ndarray::Axis;
use support::*;

/// ResNet18 and TinyCNN gradients match Captum to ≤ 1e-4 everywhere; MobileNetV2's ReLU6
/// kinks make a few elements differ (see `check_kinked`).
fn compare<D: ndarray::Dimension, E: ndarray::Dimension>(
    m: &str,
    what: &str,
    ours: ndarray::ArrayView<f32, D>,
    reference: ndarray::ArrayView<f32, E>,
) {
    let what = format!("{m}/{what}");
    if m == "mobilenetv2" {
        check_kinked(&what, ours, reference, 5e-2);
    } else {
        check(&what, ours, reference, 1e-4);
    }
}

#[test]
fn gradient_and_saliency_match_captum() {
    lantern_core::skip_without_reference!();
    let (gradient, saliency) = (method("gradient", &[]), method("saliency", &[]));
    for m in MODELS {
        for (key, target) in keys(m) {
            let setup = Setup::reference(m, key);
            let (ctx, x) = (setup.ctx(), &setup.x);
            let g = gradient.explain(&ctx, x.view(), target).unwrap();
            compare(
                m,
                &format!("{key} gradient"),
                g.map.view(),
                npy(m, &format!("{key}_gradient.npy")).view(),
            );
            let s = saliency.explain(&ctx, x.view(), target).unwrap();
            compare(
                m,
                &format!("{key} saliency"),
                s.map.view(),
                npy(m, &format!("{key}_saliency.npy")).view(),
            );
            // Grad×Input is the gradient times the input, exactly.
            let gxi = method("grad-x-input", &[])
                .explain(&ctx, x.view(), target)
                .unwrap();
            let want = g.map.clone().into_dimensionality::<ndarray::Ix3>().unwrap() * x;
            assert_eq!(gxi.map, want.into_dyn());
        }
    }
}

#[test]
fn guided_backprop_matches_captum() {
    lantern_core::skip_without_reference!();
    let guided = method("guided-backprop", &[]);
    // MobileNetV2 has only ReLU6: Lantern's rule covers it, so compare with `-clip`.
    let cases = [
        ("mobilenetv2", "cat_dog-t243", 243, "guided-backprop-clip"),
        ("resnet18", "cat_dog", 238, "guided-backprop"),
        ("tinycnn", "shapes", 9, "guided-backprop"),
        ("tinycnn", "stripes", 9, "guided-backprop"),
    ];
    for (m, key, target, file) in cases {
        let (e, _) = explain_at(&*guided, m, key, target);
        compare(
            m,
            &format!("{key} {file}"),
            e.map.view(),
            npy(m, &format!("{key}_{file}.npy")).view(),
        );
    }
    // Deconvnet runs and differs from guided backprop (it ignores the forward mask).
    let (m, key, target) = ("tinycnn", "shapes", 9);
    let (d, _) = explain_at(&*method("deconvnet", &[]), m, key, target);
    assert!(d.map.iter().all(|v| v.is_finite()));
    assert!(rel(d.map.view(), npy(m, "shapes_guided-backprop.npy").view()) > 1e-2);
}

#[test]
fn guided_gradcam_is_guided_backprop_times_nearest_gradcam() {
    lantern_core::skip_without_reference!();
    let (m, key, target) = ("tinycnn", "shapes", 9);
    let (e, _) = explain_at(&*method("guided-gradcam", &[]), m, key, target);
    let raw = npy(m, "shapes_grad-cam-raw.npy")
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap();
    let up = lantern_explain::resize::nearest(raw.view(), 224, 224);
    let gb = npy(m, "shapes_guided-backprop.npy")
        .into_dimensionality::<ndarray::Ix3>()
        .unwrap();
    let want = gb * &up.insert_axis(Axis(0));
    check(
        "tinycnn/shapes guided-gradcam",
        e.map.view(),
        want.view(),
        1e-4,
    );
}

/// IG with Captum's defaults (64 steps, trapezoid, zeros baseline): the map and the completeness
/// numbers in metrics.json.
fn check_ig(m: &str, key: &str, target: usize) -> f64 {
    let (e, _) = explain_at(&*method("integrated-gradients", &[]), m, key, target);
    // 64 scaled copies: MaxPool near-ties and ReLU kinks at the scaled inputs (see
    // `check_kinked`) move attribution between neighbouring pixels; the totals agree tightly.
    check_kinked(
        &format!("{m}/{key} integrated-gradients"),
        e.map.view(),
        npy(m, &format!("{key}_integrated-gradients.npy")).view(),
        1e-2,
    );
    let want = &metrics(m)["images"][key]["integrated_gradients"];
    let value = |k: &str| want[k].as_f64().unwrap();
    let close = |ours: f64, theirs: f64, tol: f64, what: &str| {
        assert!(
            (ours - theirs).abs() <= tol,
            "{what}: {ours} vs {theirs} (tolerance {tol:e})"
        );
    };
    // The attribution total agrees to 1e-4 of f(x) − f(b) (1e-3 on MobileNetV2, whose gradients
    // move with the rounding, see `check_kinked`).
    println!(
        "{m}/{key} IG: sum {:.6} (Captum {:.6}), f(b) {:.6} ({:.6}), gap {:.6} ({:.6}), ratio {:.6} ({:.6})",
        e.stats["sum"],
        value("sum"),
        e.stats["f_baseline"],
        value("f_baseline"),
        e.stats["completeness_gap"],
        value("delta"),
        e.stats["completeness_ratio"],
        value("sum_over_diff")
    );
    let span = (value("f_x") - value("f_baseline")).abs();
    let tol = if m == "mobilenetv2" { 1e-3 } else { 1e-4 };
    close(
        e.stats["f_x"],
        value("f_x"),
        1e-4 * value("f_x").abs().max(1.0),
        "f(x)",
    );
    close(
        e.stats["f_baseline"],
        value("f_baseline"),
        1e-4 * value("f_baseline").abs().max(1.0),
        "f(b)",
    );
    close(e.stats["sum"], value("sum"), tol * span, "sum");
    close(
        e.stats["completeness_gap"],
        value("delta"),
        tol * span,
        "gap",
    );
    close(
        e.stats["completeness_ratio"],
        value("sum_over_diff"),
        tol,
        "ratio",
    );
    close(
        e.stats["step_sizes_sum"],
        value("captum_step_sizes_sum"),
        1e-7,
        "step sizes",
    );
    assert_eq!(e.passes.backward, 64);
    e.stats["completeness_gap"]
}

#[test]
fn integrated_gradients_match_captum() {
    lantern_core::skip_without_reference!();
    check_ig("resnet18", "cat_dog", 238);
    check_ig("tinycnn", "shapes", 9);
    check_ig("tinycnn", "stripes", 9);
}

#[test]
fn integrated_gradients_completeness_gap_shrinks_with_steps() {
    lantern_core::skip_without_reference!();
    // pytorch_hub_dog: Captum's 64-step ratio is 0.875, the worst of the four images.
    let (m, key, target) = ("mobilenetv2", "pytorch_hub_dog", 258);
    let gap64 = check_ig(m, key, target);
    let setup = Setup::reference(m, key);
    let (ctx, x) = (setup.ctx(), &setup.x);
    let gap = |steps: i64| {
        let e = method("integrated-gradients", &[("steps", ParamValue::Int(steps))])
            .explain(&ctx, x.view(), target)
            .unwrap();
        e.stats["completeness_gap"]
    };
    let (gap16, gap256) = (gap(16), gap(256));
    println!(
        "{m}/{key} completeness gap: 16 steps {gap16:.4}, 64 steps {gap64:.4}, 256 steps {gap256:.4}"
    );
    assert!(gap16.abs() > gap64.abs() && gap64.abs() > gap256.abs());
}

#[test]
fn targets_in_one_batch_equal_targets_alone() {
    lantern_core::skip_without_reference!();
    let setup = Setup::reference("mobilenetv2", "cat_dog-t243");
    let samples = [("samples", ParamValue::Int(3))];
    let ig = [("steps", ParamValue::Int(4))];
    for (name, params) in [
        ("saliency", &[][..]),
        ("smoothgrad", &samples[..]),
        ("integrated-gradients", &ig[..]),
    ] {
        let method = method(name, params);
        let both =
            explain_batched_as_alone(name, &*method, &setup.ctx(), setup.x.view(), &[243, 282]);
        assert!(
            rel(both[0].map.view(), both[1].map.view()) > 1e-2,
            "{name}: the two targets differ"
        );
    }
}

#[test]
fn smoothgrad_is_seeded_and_averages_gradients() {
    lantern_core::skip_without_reference!();
    let (m, key, target) = ("tinycnn", "shapes", 9);
    let setup = Setup::reference(m, key);
    let (mut ctx, x) = (setup.ctx(), &setup.x);
    let sg = method("smoothgrad", &[("samples", ParamValue::Int(4))]);
    let a = sg.explain(&ctx, x.view(), target).unwrap();
    let b = sg.explain(&ctx, x.view(), target).unwrap();
    assert_eq!(a.map, b.map, "same seed, same map");
    ctx.seed = 1;
    let c = sg.explain(&ctx, x.view(), target).unwrap();
    assert_ne!(a.map, c.map, "another seed, other noise");
    assert_eq!((a.passes.forward, a.passes.backward), (4, 4));
    // sigma = 0: every sample is the clean image, so SmoothGrad is the gradient.
    let exact = method(
        "smoothgrad",
        &[
            ("samples", ParamValue::Int(2)),
            ("sigma", ParamValue::Float(0.0)),
        ],
    );
    let e = exact.explain(&ctx, x.view(), target).unwrap();
    check(
        "smoothgrad sigma=0 vs gradient",
        e.map.view(),
        npy(m, "shapes_gradient.npy").view(),
        1e-4,
    );
    let abs = method(
        "smoothgrad",
        &[
            ("samples", ParamValue::Int(2)),
            ("abs", ParamValue::Bool(true)),
        ],
    );
    assert!(
        abs.explain(&ctx, x.view(), target)
            .unwrap()
            .map
            .iter()
            .all(|&v| v >= 0.0)
    );
}
