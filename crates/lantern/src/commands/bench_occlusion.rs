//! The occlusion rows of `lantern bench` (issue 16): at 32/14 and 16/4, `occlusion` with
//! `incremental = "off"` (full re-inference, the baseline), `"auto"` and `"on"`, and Krypton's
//! approximations (τ = 0.4, 0.6, 0.8, with and without drill-down; the defaults; drill-down with
//! a coarser first stage, `drill_step = 3`, into 15 %), each against full
//! re-inference timed in the same run (before and after the others, averaged), with the
//! fidelity of each map to the exact one (Spearman, SSIM, top-10 % IoU). Plans and sessions are
//! built before timing, as after a warm-up.

use super::BenchRow;
use anyhow::Result;
use lantern_explain::occlusion_fidelity::fidelity;
use lantern_explain::occlusion_method::OcclusionMethod;
use lantern_explain::{Context, Method, ParamValue, Params};
use ndarray::ArrayView3;
use std::collections::BTreeMap;
use std::time::Instant;

/// Builds a row: task, seconds, forward passes, baseline seconds, note.
pub(super) type MakeRow<'a> = &'a dyn Fn(&str, f64, usize, f64, String) -> BenchRow;

/// Window/stride settings the rows cover.
const SETTINGS: [(i64, i64); 2] = [(32, 14), (16, 4)];

fn method(window: i64, stride: i64, extra: &[(&str, ParamValue)]) -> Result<OcclusionMethod> {
    let mut values: BTreeMap<String, ParamValue> = BTreeMap::new();
    values.insert("window".into(), ParamValue::Int(window));
    values.insert("stride".into(), ParamValue::Int(stride));
    for (k, v) in extra {
        values.insert(k.to_string(), v.clone());
    }
    Ok(OcclusionMethod::from_params(&Params::new(
        "occlusion",
        values,
    ))?)
}

/// The variants timed against full re-inference, with their row labels.
fn variants(window: i64, stride: i64) -> Result<Vec<(String, OcclusionMethod)>> {
    let text = |s: &str| ParamValue::Text(s.into());
    let mut out = Vec::new();
    for mode in ["auto", "on"] {
        out.push((
            format!("incremental={mode}"),
            method(window, stride, &[("incremental", text(mode))])?,
        ));
    }
    for drill in [false, true] {
        for tau in [0.4, 0.6, 0.8] {
            out.push((
                format!("approximate tau={tau} drill_down={drill}"),
                method(
                    window,
                    stride,
                    &[
                        ("approximate", ParamValue::Bool(true)),
                        ("tau", ParamValue::Float(tau)),
                        ("drill_down", ParamValue::Bool(drill)),
                    ],
                )?,
            ));
        }
    }
    // The defaults (τ = 1, drill-down where the setting allows it), and a coarser first stage
    // into a smaller fraction (the ≥ 5× candidate at 16/4).
    out.push((
        "approximate (defaults)".into(),
        method(window, stride, &[("approximate", ParamValue::Bool(true))])?,
    ));
    out.push((
        "approximate drill_step=3 drill_fraction=0.15".into(),
        method(
            window,
            stride,
            &[
                ("approximate", ParamValue::Bool(true)),
                ("drill_down", ParamValue::Bool(true)),
                ("drill_step", ParamValue::Int(3)),
                ("drill_fraction", ParamValue::Float(0.15)),
            ],
        )?,
    ));
    Ok(out)
}

pub(super) fn occlusion_rows(
    ctx: &Context,
    image: ArrayView3<f32>,
    target: usize,
    name: &str,
    make_row: MakeRow,
) -> Result<Vec<BenchRow>> {
    let mut rows = Vec::new();
    for (window, stride) in SETTINGS {
        let setting = format!("{window}/{stride}");
        let off = method(
            window,
            stride,
            &[("incremental", ParamValue::Text("off".into()))],
        )?;
        let timed = |m: &OcclusionMethod| -> Result<(lantern_explain::Explanation, f64)> {
            let started = Instant::now();
            let e = m.explain(ctx, image, target)?;
            Ok((e, started.elapsed().as_secs_f64()))
        };
        let (exact, before) = timed(&off)?;
        let exact_map = exact.spatial();
        let variants = variants(window, stride)?;
        let mut timings = Vec::with_capacity(variants.len());
        for (label, m) in &variants {
            let note = m.plan_note(ctx.model)?; // builds plans and sessions before timing
            let (e, seconds) = timed(m)?;
            eprintln!("{name}: occlusion {setting} {label}: {seconds:.2}s; {note}");
            timings.push((e, seconds));
        }
        let (_, after) = timed(&off)?;
        let full = (before + after) / 2.0;
        eprintln!("{name}: occlusion {setting} full re-inference: {before:.2}s, {after:.2}s");
        rows.push(make_row(
            &format!("occlusion {setting} incremental=off"),
            full,
            exact.passes.forward,
            full,
            "full re-inference: the baseline of the rows below".into(),
        ));
        for ((label, _), (e, seconds)) in variants.iter().zip(timings) {
            let [(_, rho), (_, ssim), (_, iou)] = fidelity(&e.spatial(), &exact_map);
            let s = &e.stats;
            let note = format!(
                "×{:.2} vs full re-inference; {}, predicted cost {:.2} of full; Spearman {rho:.3}, SSIM {ssim:.3}, top-10% IoU {iou:.3}",
                full / seconds,
                if s["incremental"] == 1.0 {
                    "incremental"
                } else {
                    "full re-inference"
                },
                s["predicted_cost_fraction"],
            );
            rows.push(make_row(
                &format!("occlusion {setting} {label}"),
                seconds,
                e.passes.forward,
                full,
                note,
            ));
        }
    }
    Ok(rows)
}
