//! Cascading model-parameter randomisation (Adebayo et al.) on the reference TinyCNN
//! (4 × Conv→BN→ReLU, Gemm head: 9 parameterised layers) with a saliency closure that runs the
//! model's gradient session: the randomised maps drift away from the original one.
//!
//! Seen here (seed 7, two layers per step; Spearman of |saliency| / SSIM): Gemm+BN13 0.483 /
//! 0.435, down to BN9 0.348 / 0.249, BN5 0.331 / 0.278, BN1 0.217 / 0.179, all 9 layers
//! 0.192 / 0.157.

mod common;

use common::*;
use lantern_metrics::sanity::{
    SanitySettings, cascading_randomisation, compare_maps, layers_top_first,
};
use lantern_runtime::{GradientSpec, Model, RuntimeError};
use ndarray::{Array2, Axis};

/// Simonyan saliency, max_c |∂ logit_t / ∂x|.
fn saliency(
    model: &Model,
    x: &ndarray::Array3<f32>,
    target: usize,
) -> Result<Array2<f32>, RuntimeError> {
    let session = model.gradient_session(&GradientSpec::default())?;
    let mut seed = Array2::<f32>::zeros((1, model.classes));
    seed[[0, target]] = 1.0;
    let g = session.run(x.view().insert_axis(Axis(0)), seed.view())?;
    let grad = g
        .grad_input
        .expect("input gradient")
        .index_axis_move(Axis(0), 0);
    Ok(grad.map_axis(Axis(0), |c| c.iter().fold(0.0f32, |m, v| m.max(v.abs()))))
}

#[test]
fn similarity_falls_as_layers_are_randomised() {
    lantern_core::skip_without_reference!();
    let dir = reference_dir().join("tinycnn");
    let model = load_model(&dir.join("model.onnx"));
    let x = npy_image(&dir.join("shapes_input.npy"));
    let target = 9;
    let original = saliency(&model, &x, target).unwrap();
    // Our saliency is the reference saliency (a check that the closure is the real thing).
    let reference = npy2(&dir.join("shapes_saliency.npy"));
    let (rho, _, s) = compare_maps(original.view(), reference.view());
    assert!(
        rho > 0.999 && s > 0.999,
        "saliency vs reference: spearman {rho}, ssim {s}"
    );

    let layers = layers_top_first(&model);
    assert_eq!(layers.len(), 9, "{layers:?}");
    let settings = SanitySettings {
        layers_step: 2,
        max_layers: None,
        seed: 7,
    };
    let result = cascading_randomisation(&model, original.view(), &settings, |m: &Model| {
        saliency(m, &x, target)
    })
    .unwrap();
    let summary: Vec<String> = result
        .steps
        .iter()
        .map(|s| {
            format!(
                "{} ({}): ρ {:.3} ρ|·| {:.3} ssim {:.3}",
                s.layers_randomised, s.down_to, s.spearman, s.spearman_abs, s.ssim
            )
        })
        .collect();
    eprintln!("{}", summary.join("\n"));
    assert_eq!(
        result
            .steps
            .iter()
            .map(|s| s.layers_randomised)
            .collect::<Vec<_>>(),
        vec![2, 4, 6, 8, 9]
    );
    let first = &result.steps[0];
    let last = result.steps.last().unwrap();
    assert!(first.spearman_abs > last.spearman_abs, "{summary:?}");
    assert!(first.ssim > last.ssim, "{summary:?}");
    assert!(last.spearman_abs < 0.5, "{summary:?}");
    assert!(
        result.steps[1..]
            .iter()
            .all(|s| s.spearman_abs < first.spearman_abs),
        "{summary:?}"
    );

    // A cap on the layers, one layer per step.
    let settings = SanitySettings {
        layers_step: 1,
        max_layers: Some(2),
        seed: 7,
    };
    let capped = cascading_randomisation(&model, original.view(), &settings, |m: &Model| {
        saliency(m, &x, target)
    })
    .unwrap();
    assert_eq!(capped.steps.len(), 2);
    assert_eq!(capped.steps[0].down_to, layers[0].0);
    // Same seed, same layers: step 2 here is step 1 above.
    assert!((capped.steps[1].spearman - first.spearman).abs() < 1e-9);
}
