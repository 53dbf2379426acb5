//! The `occlusion` method: Captum's map ([`Occlusion`]) from the fastest exact plan by default,
//! or from Krypton's approximations when asked.
//!
//! - `incremental = "auto"` (default): the incremental planner's cost model
//!   ([`lantern_graph::surgery::plan_incremental`]) picks incremental inference where it predicts
//!   a gain, else full re-inference; `"on"` runs incrementally wherever a plan exists (even at a
//!   predicted loss), `"off"` always re-runs the whole network. Exact plans give the same map to
//!   float rounding. `occlusion-incremental` is this method with `incremental = "on"`.
//! - `approximate = true` applies Krypton's two approximations (Nakandala et al., SIGMOD 2019):
//!   projective-field thresholding with `tau` (0 < τ ≤ 1, 1 = exact; see
//!   `lantern_graph::surgery::approximate`) and, with `drill_down = true`, adaptive drill-down
//!   ([`crate::occlusion_drill`]: every `drill_step`-th window first (2 by default), then the
//!   requested stride only where the coarse map is in its top `drill_fraction`).
//! - `fidelity = true` also computes the exact map (cached per image, not counted in the
//!   method's seconds) and reports Spearman, SSIM and top-10 % IoU against it
//!   ([`crate::occlusion_fidelity`]).
//!
//! Stats (row columns): `incremental` (1 when incremental inference ran), `predicted_cost_fraction`
//! (the planner's estimate over full re-inference of every window; 1 for full re-inference),
//! `measured_seconds` (per map: the call's time over its targets), `windows`, `windows_run`, and for approximate maps
//! `tau`, `drill_down`, `drill_fraction`, `drill_step`.

use crate::error::{ExplainError, Result};
use crate::method::{Context, Explanation, MapKind, Method, MethodInfo};
use crate::occlusion::Occlusion;
use crate::occlusion_drill::{Grid, drill_windows};
use crate::occlusion_fidelity::Reference;
use crate::occlusion_incremental::IncrementalOcclusion;
use crate::params::Params;
use lantern_graph::surgery::PlanOptions;
use ndarray::{Array2, ArrayView3};
use std::time::Instant;

/// Which inference the occluded copies get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incremental {
    /// Incremental where the cost model predicts a gain.
    Auto,
    /// Incremental wherever a plan exists.
    On,
    /// Always full re-inference.
    Off,
}

/// Krypton's approximations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Approximation {
    /// Projective-field threshold (0 < τ ≤ 1; 1 = exact).
    pub tau: f64,
    /// Coarse stride first, then the requested stride only in the top `drill_fraction`.
    pub drill_down: bool,
    pub drill_fraction: f64,
    /// The coarse stage runs every `drill_step`-th window along each axis (stride × step).
    pub drill_step: usize,
}

impl Approximation {
    /// The defaults, chosen by measurement (the guitar photo, one run; Spearman against the
    /// exact map, windows run): on ResNet18 at 16/4 drill-down into the top 25 % alone keeps
    /// 0.98 with 1,240 of 2,809 windows, while τ = 0.8 costs 0.96 → 0.94 with it and τ = 0.6
    /// 0.81 for little gain (the residual stream carries the occluder's effect far), so τ is 1
    /// (off) unless asked for. Drill-down is on by default only where the coarse stride
    /// (2 · stride) is at most half the window: at 32/14 its grid is too coarse to interpolate
    /// (0.92 on ResNet18).
    pub fn default_for(window: (usize, usize), stride: (usize, usize)) -> Approximation {
        Approximation {
            tau: 1.0,
            drill_down: 4 * stride.0 <= window.0 && 4 * stride.1 <= window.1,
            drill_fraction: 0.25,
            drill_step: 2,
        }
    }
}

/// `occlusion` (and its alias `occlusion-incremental`).
pub struct OcclusionMethod {
    name: &'static str,
    /// Window, stride, baseline and score (Captum's convention).
    pub occlusion: Occlusion,
    pub incremental: Incremental,
    pub approximation: Option<Approximation>,
    /// Whether to compute fidelity columns against the exact map.
    pub fidelity: bool,
    /// Plans and sessions (with τ when approximate).
    pub engine: IncrementalOcclusion,
    /// The exact reference for the fidelity columns.
    reference: Reference,
}

impl OcclusionMethod {
    /// `occlusion`: window/stride/baseline/score as [`Occlusion::from_params`], `incremental`
    /// (auto), `approximate` (false), `tau`, `drill_down`, `drill_fraction`, `drill_step`,
    /// `fidelity` (false).
    pub fn from_params(p: &Params) -> Result<OcclusionMethod> {
        OcclusionMethod::with_default(p, "occlusion", Incremental::Auto)
    }

    /// `occlusion-incremental`: the same with `incremental = "on"` by default.
    pub fn incremental_from_params(p: &Params) -> Result<OcclusionMethod> {
        OcclusionMethod::with_default(p, "occlusion-incremental", Incremental::On)
    }

    fn with_default(
        p: &Params,
        name: &'static str,
        default: Incremental,
    ) -> Result<OcclusionMethod> {
        let bad = |key: &str, value: String, message: &str| ExplainError::BadParam {
            method: name.into(),
            key: key.into(),
            value,
            message: message.into(),
        };
        let occlusion = Occlusion::from_params(p)?;
        let incremental = match p.text("incremental")?.as_deref() {
            None => default,
            Some("auto") => Incremental::Auto,
            Some("on") => Incremental::On,
            Some("off") => Incremental::Off,
            Some(other) => {
                return Err(bad(
                    "incremental",
                    other.into(),
                    "expected one of auto, on, off",
                ));
            }
        };
        let approximate = p.bool_or("approximate", false)?;
        let d = Approximation::default_for(occlusion.window, occlusion.stride);
        let given: Vec<&str> = ["tau", "drill_down", "drill_fraction", "drill_step"]
            .into_iter()
            .filter(|k| p.text(k).ok().flatten().is_some())
            .collect();
        let approximation = if approximate {
            let a = Approximation {
                tau: p.f64_or("tau", d.tau)?,
                drill_down: p.bool_or("drill_down", d.drill_down)?,
                drill_fraction: p.f64_or("drill_fraction", d.drill_fraction)?,
                drill_step: p.usize_or("drill_step", d.drill_step)?,
            };
            if !(a.tau > 0.0 && a.tau <= 1.0) {
                return Err(bad("tau", a.tau.to_string(), "must be in (0, 1]"));
            }
            if !(a.drill_fraction > 0.0 && a.drill_fraction <= 1.0) {
                return Err(bad(
                    "drill_fraction",
                    a.drill_fraction.to_string(),
                    "must be in (0, 1]",
                ));
            }
            if a.drill_step < 2 {
                return Err(bad(
                    "drill_step",
                    a.drill_step.to_string(),
                    "must be 2 or more",
                ));
            }
            if a.tau < 1.0 && incremental == Incremental::Off {
                return Err(bad(
                    "tau",
                    a.tau.to_string(),
                    "projective-field thresholding needs incremental inference (incremental = \"off\")",
                ));
            }
            Some(a)
        } else if let Some(k) = given.first() {
            return Err(bad(k, "set".into(), "needs approximate = true"));
        } else {
            None
        };
        let mut engine = IncrementalOcclusion::new(occlusion.clone());
        engine.options = PlanOptions {
            tau: approximation.map_or(1.0, |a| a.tau),
            max_fraction: match incremental {
                Incremental::On => f64::INFINITY,
                _ => PlanOptions::default().max_fraction,
            },
            ..PlanOptions::default()
        };
        Ok(OcclusionMethod {
            name,
            occlusion: occlusion.clone(),
            incremental,
            approximation,
            fidelity: p.bool_or("fidelity", false)?,
            engine,
            reference: Reference::new(occlusion),
        })
    }

    /// What the plan for `model` does, in one sentence.
    pub fn plan_note(&self, model: &lantern_runtime::Model) -> Result<String> {
        if self.incremental == Incremental::Off {
            return Ok("full re-inference (incremental = \"off\")".into());
        }
        Ok(self.engine.prepare(model)?.note.clone())
    }

    /// Logits of the windows `ids` (other rows zero), whether incremental inference ran, and
    /// the predicted cost per window over full re-inference.
    fn logits_of(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        ids: &[usize],
    ) -> Result<(Array2<f32>, bool, f64)> {
        if self.incremental == Incremental::Off {
            return Ok((
                self.occlusion.window_logits_of(ctx, image, ids)?,
                false,
                1.0,
            ));
        }
        let (logits, prepared) = self.engine.window_logits_of(ctx, image, ids)?;
        Ok((logits, prepared.incremental(), prepared.estimated_fraction))
    }

    /// The window logits `[windows, K]` (exact, or Krypton's estimate), the windows run, whether
    /// incremental inference ran and its predicted cost per window.
    pub fn window_logits(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
    ) -> Result<(Array2<f32>, usize, bool, f64)> {
        let (_, h, w) = image.dim();
        let windows = self.occlusion.windows(h, w);
        let Some(a) = self.approximation.filter(|a| a.drill_down) else {
            let all: Vec<usize> = (0..windows.len()).collect();
            let (logits, inc, fraction) = self.logits_of(ctx, image, &all)?;
            return Ok((logits, windows.len(), inc, fraction));
        };
        let grid = Grid::of(&windows);
        let coarse = grid.coarse(a.drill_step);
        let (mut logits, inc, fraction) = self.logits_of(ctx, image, &coarse)?;
        let mut exact = vec![false; windows.len()];
        for &c in &coarse {
            exact[c] = true;
        }
        grid.interpolate(&mut logits, &exact, a.drill_step);
        let drill = drill_windows(
            &logits,
            ctx.logits,
            self.occlusion.score,
            targets,
            a.drill_fraction,
            &exact,
        );
        let (fine, _, _) = self.logits_of(ctx, image, &drill)?;
        for &w in &drill {
            logits.row_mut(w).assign(&fine.row(w));
        }
        Ok((logits, coarse.len() + drill.len(), inc, fraction))
    }
}

impl Method for OcclusionMethod {
    fn info(&self) -> MethodInfo {
        MethodInfo::new(self.name, MapKind::Spatial)
    }

    /// The occluded forwards are shared by every target.
    fn explain_targets(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
    ) -> Result<Vec<Explanation>> {
        let started = Instant::now();
        let (_, h, w) = image.dim();
        let (logits, run, incremental, fraction) = self.window_logits(ctx, image, targets)?;
        let mut explanations = self.occlusion.explanations(ctx, &logits, h, w, targets);
        let seconds = started.elapsed().as_secs_f64() / targets.len().max(1) as f64;
        let windows = logits.nrows();
        for e in &mut explanations {
            e.passes.forward = run;
            let stats = [
                ("incremental", f64::from(u8::from(incremental))),
                (
                    "predicted_cost_fraction",
                    fraction * run as f64 / windows.max(1) as f64,
                ),
                ("measured_seconds", seconds),
                ("windows_run", run as f64),
            ];
            e.stats
                .extend(stats.into_iter().map(|(k, v)| (k.to_string(), v)));
            if let Some(a) = self.approximation {
                e.stats.insert("tau".into(), a.tau);
                e.stats
                    .insert("drill_down".into(), f64::from(u8::from(a.drill_down)));
                e.stats.insert("drill_fraction".into(), a.drill_fraction);
                e.stats.insert("drill_step".into(), a.drill_step as f64);
            }
        }
        if self.fidelity {
            self.reference
                .add_fidelity(ctx, image, targets, &mut explanations)?;
        }
        Ok(explanations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParamValue;

    fn build(params: &[(&str, ParamValue)]) -> Result<OcclusionMethod> {
        let values = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        OcclusionMethod::from_params(&Params::new("occlusion", values))
    }

    #[test]
    fn drill_step_defaults_to_2_and_refuses_less() {
        let approximate = ("approximate", ParamValue::Bool(true));
        let m = build(&[approximate.clone()]).expect("defaults");
        assert_eq!(m.approximation.map(|a| a.drill_step), Some(2));
        let m = build(&[approximate.clone(), ("drill_step", ParamValue::Int(3))]).expect("3");
        assert_eq!(m.approximation.map(|a| a.drill_step), Some(3));
        for bad in [0, 1] {
            let e = build(&[approximate.clone(), ("drill_step", ParamValue::Int(bad))])
                .err()
                .expect("refused");
            assert!(e.to_string().contains("drill_step"), "{e}");
        }
        let e = build(&[("drill_step", ParamValue::Int(3))])
            .err()
            .expect("needs approximate");
        assert!(e.to_string().contains("approximate"), "{e}");
    }
}
