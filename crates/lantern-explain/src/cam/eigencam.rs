//! Eigen-CAM (Muhammad & Yeasin 2020), pytorch-grad-cam `EigenCAM` (`get_2d_projection`):
//! `P` = A as `[h·w, K]` minus its per-channel mean, `v₁` = first right singular vector of `P`,
//! projection = `P·v₁` (`[h,w]`), `raw = relu(projection)`. No gradients, no target: every
//! target gets the same map.
//!
//! `v₁` is computed as the top eigenvector of the smaller Gram matrix (`PᵀP`, K×K, or `PPᵀ`,
//! hw×hw, then `v₁ ∝ Pᵀu₁`) with faer's self-adjoint eigendecomposition in f64 — the same
//! vector as numpy's SVD up to sign and rounding. The sign of a singular vector is arbitrary (LAPACK picks one);
//! Lantern's deterministic convention: the projection is made positively correlated with the
//! channel-summed activation map `Σ_k A_k` (the CAM highlights where the activation mass is);
//! if that correlation is exactly zero, the projection's largest-magnitude entry is made
//! positive. Compare with the library up to sign. Stats: `explained_variance` = s₁²/Σ s².

use super::base::{CamRule, LayerJob, RawCam};
use crate::error::Result;
use crate::method::Passes;
use ndarray::{Array1, Array2, ArrayView3};

#[derive(Debug, Clone, Default)]
pub struct EigenCam;

impl EigenCam {
    /// The signed projection `P·v₁` (`[h,w]`, Lantern's sign), with s₁²/Σs².
    pub fn projection(a: ArrayView3<f32>) -> (Array2<f32>, f64) {
        let (k, h, w) = a.dim();
        let n = h * w;
        // P[i, c] = A[c, i] − mean_i A[c, i], in f64.
        let mut p = Array2::<f64>::zeros((n, k));
        for (c, ak) in a.outer_iter().enumerate() {
            let mean = ak.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
            for (i, &v) in ak.iter().enumerate() {
                p[[i, c]] = f64::from(v) - mean;
            }
        }
        let v1: Array1<f64> = if k <= n {
            let (vec, _) = top_eigenvector(&p.t().dot(&p));
            vec
        } else {
            let (u1, _) = top_eigenvector(&p.dot(&p.t()));
            let v = p.t().dot(&u1);
            let norm = v.dot(&v).sqrt();
            if norm > 0.0 { v / norm } else { v }
        };
        let proj = p.dot(&v1);
        let total: f64 = p.iter().map(|v| v * v).sum();
        let explained = if total > 0.0 {
            proj.dot(&proj) / total
        } else {
            0.0
        };
        // Sign: positive correlation with the channel-summed activation map.
        let mass: Vec<f64> = (0..n)
            .map(|i| (0..k).map(|c| f64::from(a[[c, i / w, i % w]])).sum())
            .collect();
        let mass_mean = mass.iter().sum::<f64>() / n as f64;
        let corr: f64 = proj
            .iter()
            .zip(&mass)
            .map(|(p, m)| p * (m - mass_mean))
            .sum();
        let sign = if corr != 0.0 {
            corr.signum()
        } else {
            let big = proj
                .iter()
                .copied()
                .fold(0.0f64, |b, v| if v.abs() > b.abs() { v } else { b });
            if big < 0.0 { -1.0 } else { 1.0 }
        };
        let out = Array2::from_shape_fn((h, w), |(r, c)| (sign * proj[r * w + c]) as f32);
        (out, explained)
    }
}

/// Top eigenvector (largest eigenvalue) of a symmetric matrix, by faer's self-adjoint
/// eigendecomposition (sequential, so the same on every machine). Its sign is arbitrary; the
/// caller fixes it. Should faer report no convergence (non-finite input), the vector is zero.
pub fn top_eigenvector(m: &Array2<f64>) -> (Array1<f64>, f64) {
    let d = m.nrows();
    let a = faer::Mat::from_fn(d, d, |i, j| m[[i, j]]);
    match a.self_adjoint_eigen(faer::Side::Lower) {
        // Eigenvalues come in nondecreasing order: the last is the largest.
        Ok(evd) if d > 0 => (
            evd.U().col(d - 1).iter().copied().collect(),
            *evd.S().column_vector().iter().last().expect("d > 0"),
        ),
        _ => (Array1::zeros(d), 0.0),
    }
}

impl CamRule for EigenCam {
    fn name(&self) -> &'static str {
        "eigencam"
    }

    fn needs_gradients(&self) -> bool {
        false
    }

    fn passes_per_target(&self) -> Option<Passes> {
        Some(Passes::new(1, 0))
    }

    fn layer_cams(&self, job: &LayerJob) -> Result<Vec<RawCam>> {
        let (proj, explained) = EigenCam::projection(job.activation(0));
        let raw = proj.mapv(|v| v.max(0.0));
        Ok(job
            .targets
            .iter()
            .map(|_| {
                let mut cam = RawCam::new(raw.clone());
                cam.stats.insert("explained_variance".into(), explained);
                cam
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn finds_the_top_eigenvector() {
        let m = array![[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 1.0]];
        let (v, l) = top_eigenvector(&m);
        let mv = m.dot(&v);
        assert!(mv.iter().zip(&v).all(|(a, b)| (a - l * b).abs() < 1e-12));
        assert!((v.dot(&v) - 1.0).abs() < 1e-12);
        assert!(l > 4.0);
    }

    #[test]
    fn rank_one_activation_projects_onto_its_pattern() {
        // A_c = c · pattern: the centred matrix is rank one; the projection follows the pattern.
        let pattern = array![[0.0f32, 1.0], [2.0, 5.0]];
        let a = ndarray::Array3::from_shape_fn((3, 2, 2), |(c, i, j)| {
            (c as f32 + 1.0) * pattern[[i, j]]
        });
        let (proj, explained) = EigenCam::projection(a.view());
        assert!((explained - 1.0).abs() < 1e-9);
        let centred = pattern.mapv(|v| v - 2.0);
        let ratio = proj[[1, 1]] / centred[[1, 1]];
        assert!(
            ratio > 0.0,
            "sign convention: positive along the activation mass"
        );
        assert!(
            proj.iter()
                .zip(&centred)
                .all(|(p, c)| (p - ratio * c).abs() < 1e-5)
        );
    }
}
