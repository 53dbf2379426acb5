//! Integrated gradients (Sundararajan et al. 2017) with Captum's `IntegratedGradients`
//! convention (captum/attr/_core/integrated_gradients.py and _utils/approximation_methods.py):
//!
//! `IG = (x − b) ⊙ Σ_k s_k ∇logit_t(b + a_k (x − b))`, `[C,H,W]`, with Captum's alphas `a_k`
//! and step sizes `s_k`:
//! - `riemann_trapezoid` (default): `a = torch.linspace(0, 1, n)`, `s = 1/n` with the first and
//!   last halved — they sum to (n − 1)/n, not 1, exactly as Captum;
//! - `riemann_left` / `riemann_right` / `riemann_middle`: `a = linspace(0, 1 − 1/n)`,
//!   `linspace(1/n, 1)`, `linspace(1/(2n), 1 − 1/(2n))`, `s = 1/n`;
//! - `gausslegendre`: numpy `leggauss(n)` nodes `x`, weights `w`: `a = (1 + x)/2`, `s = w/2`.
//!
//! Linspace is computed in f32 with torch's formula (from the start below the midpoint, from the
//! end above it), so the scaled inputs are bitwise Captum's. The baseline is a constant
//! (`baseline`, default 0 in model-input space). Scaled copies are sent `ctx.batch_size` per ONNX
//! Runtime call (Captum's `internal_batch_size`; the result does not depend on it).
//!
//! Stats: `completeness_gap` = Σ IG − (f(x) − f(b)) (Captum's convergence delta),
//! `completeness_ratio` = Σ IG / (f(x) − f(b)), `sum`, `f_x`, `f_baseline`, `step_sizes_sum`.
//! f(x) is the caller's clean logit; f(b) comes from the alpha-0 row where the rule has one
//! (trapezoid, left), otherwise from one extra forward pass (counted).

use crate::error::Result;
use crate::grad::{run_rows, spec};
use crate::method::{Context, Explanation, MapKind, Method, MethodInfo, Passes};
use crate::params::Params;
use lantern_runtime::ReluRule;
use ndarray::{Array3, ArrayView3, Axis, Zip};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Trapezoid,
    Left,
    Right,
    Middle,
    GaussLegendre,
}

#[derive(Debug, Clone)]
pub struct IntegratedGradients {
    pub steps: usize,
    pub rule: Rule,
    pub baseline: f32,
}

impl Default for IntegratedGradients {
    fn default() -> Self {
        IntegratedGradients {
            steps: 64,
            rule: Rule::Trapezoid,
            baseline: 0.0,
        }
    }
}

/// `torch.linspace(start, end, n)` in float32.
pub fn linspace_f32(start: f64, end: f64, n: usize) -> Vec<f32> {
    let (start, end) = (start as f32, end as f32);
    if n == 1 {
        return vec![start];
    }
    let step = (end - start) / (n - 1) as f32;
    let half = n / 2;
    (0..n)
        .map(|i| {
            if i < half {
                start + step * i as f32
            } else {
                end - step * (n - i - 1) as f32
            }
        })
        .collect()
}

/// Gauss–Legendre nodes (ascending, as numpy's `leggauss`) and weights on [−1, 1].
pub fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut nodes = vec![0.0; n];
    let mut weights = vec![0.0; n];
    for i in 0..n.div_ceil(2) {
        // Newton on P_n from the Chebyshev-like guess for the i-th largest root.
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            let pn = if n == 0 {
                1.0
            } else if n == 1 {
                x
            } else {
                p1
            };
            let pn1 = if n == 1 { 1.0 } else { p0 };
            dp = n as f64 * (x * pn - pn1) / (x * x - 1.0);
            let dx = pn / dp;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        let w = 2.0 / ((1.0 - x * x) * dp * dp);
        nodes[n - 1 - i] = x;
        nodes[i] = -x;
        weights[n - 1 - i] = w;
        weights[i] = w;
    }
    (nodes, weights)
}

impl IntegratedGradients {
    /// Parameters: `steps` (64), `method` = `riemann_trapezoid` | `riemann_left` |
    /// `riemann_right` | `riemann_middle` | `gausslegendre`, `baseline` (0.0).
    pub fn from_params(p: &Params) -> Result<IntegratedGradients> {
        let d = IntegratedGradients::default();
        let rule = match p.choice(
            "method",
            &[
                "riemann_trapezoid",
                "riemann_left",
                "riemann_right",
                "riemann_middle",
                "gausslegendre",
            ],
        )? {
            "riemann_left" => Rule::Left,
            "riemann_right" => Rule::Right,
            "riemann_middle" => Rule::Middle,
            "gausslegendre" => Rule::GaussLegendre,
            _ => Rule::Trapezoid,
        };
        let steps = p.positive_usize_or("steps", d.steps)?;
        if steps < 2 && rule != Rule::GaussLegendre {
            return Err(crate::ExplainError::BadParam {
                method: "integrated-gradients".into(),
                key: "steps".into(),
                value: steps.to_string(),
                message: "Riemann rules need at least 2 steps (as Captum)".into(),
            });
        }
        Ok(IntegratedGradients {
            steps,
            rule,
            baseline: p.f64_or("baseline", 0.0)? as f32,
        })
    }

    /// Whether an alpha is 0, so the baseline's logit comes with the gradient rows (else it
    /// costs one extra forward pass).
    pub fn has_zero_alpha(&self) -> bool {
        self.alphas_and_steps().0.contains(&0.0)
    }

    /// Captum's (alphas, step sizes) for this rule and step count.
    pub fn alphas_and_steps(&self) -> (Vec<f32>, Vec<f32>) {
        let n = self.steps;
        let nf = n as f64;
        match self.rule {
            Rule::GaussLegendre => {
                let (x, w) = gauss_legendre(n);
                (
                    x.iter().map(|v| (0.5 * (1.0 + v)) as f32).collect(),
                    w.iter().map(|v| (0.5 * v) as f32).collect(),
                )
            }
            rule => {
                let mut sizes = vec![1.0 / nf; n];
                let alphas = match rule {
                    Rule::Trapezoid => {
                        sizes[0] /= 2.0;
                        sizes[n - 1] /= 2.0;
                        linspace_f32(0.0, 1.0, n)
                    }
                    Rule::Left => linspace_f32(0.0, 1.0 - 1.0 / nf, n),
                    Rule::Middle => linspace_f32(1.0 / (2.0 * nf), 1.0 - 1.0 / (2.0 * nf), n),
                    _ => linspace_f32(1.0 / nf, 1.0, n),
                };
                (alphas, sizes.iter().map(|&s| s as f32).collect())
            }
        }
    }
}

impl Method for IntegratedGradients {
    fn info(&self) -> MethodInfo {
        let extra_forward = usize::from(!self.has_zero_alpha());
        MethodInfo {
            needs_gradients: true,
            signed: true,
            passes_per_target: Some(Passes::new(self.steps + extra_forward, self.steps)),
            ..MethodInfo::new("integrated-gradients", MapKind::PerChannel)
        }
    }

    /// Rows are step-major (`k · T + target`).
    fn explain_targets(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
    ) -> Result<Vec<Explanation>> {
        let nt = targets.len();
        let (alphas, sizes) = self.alphas_and_steps();
        let b = self.baseline;
        let diff = image.mapv(|v| v - b);
        let zero_row = alphas.iter().position(|&a| a == 0.0);
        let mut totals = vec![Array3::<f32>::zeros(image.dim()); nt];
        let mut f_baseline = vec![f32::NAN; nt];
        run_rows(
            ctx,
            &spec(ReluRule::Plain, &[]),
            self.steps * nt,
            |row, mut view| {
                let a = alphas[row / nt];
                Zip::from(&mut view)
                    .and(&diff)
                    .for_each(|o, &d| *o = b + a * d);
            },
            |row| targets[row % nt],
            |first, g| {
                for (j, grad) in crate::grad::grad_input(&g)?.outer_iter().enumerate() {
                    let (k, t) = ((first + j) / nt, (first + j) % nt);
                    let s = sizes[k];
                    Zip::from(&mut totals[t])
                        .and(&grad)
                        .for_each(|acc, &v| *acc += v * s);
                    if Some(k) == zero_row {
                        f_baseline[t] = g.logits[[j, targets[t]]];
                    }
                }
                Ok(())
            },
        )?;
        let mut extra_forward = 0;
        if zero_row.is_none() {
            let base = Array3::<f32>::from_elem(image.dim(), b).insert_axis(Axis(0));
            let logits = ctx.model.forward(base.view())?;
            for (t, &target) in targets.iter().enumerate() {
                f_baseline[t] = logits[[0, target]];
            }
            extra_forward = 1;
        }
        let step_sum: f64 = sizes.iter().map(|&s| f64::from(s)).sum();
        Ok(totals
            .into_iter()
            .zip(targets)
            .enumerate()
            .map(|(t, (total, &target))| {
                let attr = total * &diff;
                let sum: f64 = attr.iter().map(|&v| f64::from(v)).sum();
                let f_x = f64::from(ctx.logits[target]);
                let f_b = f64::from(f_baseline[t]);
                let mut e = Explanation::new(
                    attr.into_dyn(),
                    Passes {
                        forward: self.steps + extra_forward,
                        backward: self.steps,
                    },
                );
                e.stats.insert("sum".into(), sum);
                e.stats.insert("f_x".into(), f_x);
                e.stats.insert("f_baseline".into(), f_b);
                e.stats.insert("completeness_gap".into(), sum - (f_x - f_b));
                e.stats
                    .insert("completeness_ratio".into(), sum / (f_x - f_b));
                e.stats.insert("step_sizes_sum".into(), step_sum);
                e.stats.insert("steps".into(), self.steps as f64);
                e
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trapezoid_matches_captum() {
        let ig = IntegratedGradients::default();
        let (a, s) = ig.alphas_and_steps();
        assert_eq!(a.len(), 64);
        assert_eq!((a[0], a[63]), (0.0, 1.0));
        assert!((a[1] - 1.0 / 63.0).abs() < 1e-7);
        let sum: f64 = s.iter().map(|&v| f64::from(v)).sum();
        assert!((sum - 0.984375).abs() < 1e-7, "{sum}");
    }

    #[test]
    fn linspace_is_torch_float32() {
        // torch.linspace(0, 1, 5) and a case where the two halves differ in rounding.
        assert_eq!(linspace_f32(0.0, 1.0, 5), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        let v = linspace_f32(0.0, 1.0, 64);
        assert_eq!(v[63], 1.0);
        assert_eq!(v[32], 1.0f32 - (1.0f32 / 63.0) * 31.0);
    }

    #[test]
    fn gauss_legendre_integrates_polynomials() {
        for n in [1, 2, 5, 16, 64] {
            let (x, w) = gauss_legendre(n);
            assert!(x.windows(2).all(|p| p[0] < p[1]), "ascending");
            let total: f64 = w.iter().sum();
            assert!((total - 2.0).abs() < 1e-12, "n={n}: {total}");
            if n >= 3 {
                // ∫_{-1}^{1} x^4 = 2/5
                let q: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(4)).sum();
                assert!((q - 0.4).abs() < 1e-12);
            }
        }
        // numpy.polynomial.legendre.leggauss(2) = ±1/√3, weights 1.
        let (x, _) = gauss_legendre(2);
        assert!((x[1] - 1.0 / 3f64.sqrt()).abs() < 1e-15);
    }
}
