//! Perturbation methods: occlusion against Captum, RISE determinism and batching.

mod support;

use lantern_explain::ParamValue;
use ndarray::s;
use support::*;

#[test]
fn occlusion_matches_captum() {
    lantern_core::skip_without_reference!();
    let (m, key, target) = ("tinycnn", "shapes", 9);
    let (e, logits) = explain_at(&*method("occlusion", &[]), m, key, target);
    // Captum's differences are of values ≈ f(x); compare with an absolute floor of 1e-4·|f(x)|.
    let want = npy(m, &format!("{key}_occlusion.npy"));
    let diff = max_abs(e.map.iter().zip(want.iter()).map(|(a, b)| a - b));
    println!(
        "tinycnn/shapes occlusion: max abs diff {diff:.3e} (map max {:.3e})",
        max_abs(want.iter().copied())
    );
    assert!(diff <= 1e-4 * logits[target].abs().max(1.0));
}

#[test]
fn rise_is_seeded_batched_and_scaled() {
    lantern_core::skip_without_reference!();
    let setup = Setup::reference("tinycnn", "shapes");
    let (mut ctx, x, logits) = (setup.ctx(), &setup.x, &setup.logits);
    ctx.batch_size = 16;
    let rise = method("rise", &[("masks", ParamValue::Int(40))]);
    let a = rise.explain(&ctx, x.view(), 9).unwrap();
    assert_eq!(
        a.map,
        rise.explain(&ctx, x.view(), 9).unwrap().map,
        "same seed, same map"
    );
    assert_eq!(a.passes.forward, 40);
    // Targets share the masked forwards; each equals its map alone.
    explain_batched_as_alone("rise", &*rise, &ctx, x.view(), &[9, 3]);
    // The batch size does not change the map.
    ctx.batch_size = 7;
    check(
        "rise batch 7 vs 16",
        rise.explain(&ctx, x.view(), 9).unwrap().map.view(),
        a.map.view(),
        1e-6,
    );
    ctx.seed = 5;
    assert_ne!(
        rise.explain(&ctx, x.view(), 9).unwrap().map,
        a.map,
        "another seed, other masks"
    );
    // With p = 1 every mask is all ones: the map is the clean probability everywhere.
    let full = method(
        "rise",
        &[("masks", ParamValue::Int(3)), ("p", ParamValue::Float(1.0))],
    );
    let e = full.explain(&ctx, x.view(), 9).unwrap();
    let p = lantern_runtime::softmax(logits.view())[9];
    let corner = e
        .map
        .slice(s![.., ..])
        .iter()
        .fold(0.0f32, |d, v| d.max((v - p).abs()));
    assert!(corner < 1e-5, "{corner}");
}
