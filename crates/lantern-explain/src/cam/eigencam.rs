//! Eigen-CAM (Muhammad & Yeasin 2020), pytorch-grad-cam `EigenCAM` (`get_2d_projection`):
//! `P` = A as `[h·w, K]` minus its per-channel mean, `v₁` = first right singular vector of `P`,
//! projection = `P·v₁` (`[h,w]`), `raw = relu(projection)`. No gradients, no target: every
//! target gets the same map.
//!
//! `v₁` is computed as the top eigenvector of the smaller Gram matrix (`PᵀP`, K×K, or `PPᵀ`,
//! hw×hw, then `v₁ ∝ Pᵀu₁`) with cyclic Jacobi rotations in f64 — the same vector as numpy's
//! SVD up to sign and rounding. The sign of a singular vector is arbitrary (LAPACK picks one);
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

/// Top eigenvector (largest eigenvalue) of a symmetric matrix by cyclic Jacobi rotations.
pub fn top_eigenvector(m: &Array2<f64>) -> (Array1<f64>, f64) {
    let d = m.nrows();
    let mut a = m.clone();
    let mut v = Array2::<f64>::eye(d);
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|p| (0..d).filter(move |&q| q != p).map(move |q| (p, q)))
            .map(|(p, q)| a[[p, q]] * a[[p, q]])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-15 * scale || scale == 0.0 {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[[p, q]];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..d {
                    let (arp, arq) = (a[[r, p]], a[[r, q]]);
                    a[[r, p]] = c * arp - s * arq;
                    a[[r, q]] = s * arp + c * arq;
                }
                for r in 0..d {
                    let (apr, aqr) = (a[[p, r]], a[[q, r]]);
                    a[[p, r]] = c * apr - s * aqr;
                    a[[q, r]] = s * apr + c * aqr;
                }
                for r in 0..d {
                    let (vrp, vrq) = (v[[r, p]], v[[r, q]]);
                    v[[r, p]] = c * vrp - s * vrq;
                    v[[r, q]] = s * vrp + c * vrq;
                }
            }
        }
    }
    let best = (0..d).fold(0, |b, i| if a[[i, i]] > a[[b, b]] { i } else { b });
    (v.column(best).to_owned(), a[[best, best]])
}

impl CamRule for EigenCam {
    const NAME: &'static str = "eigencam";
    const NEEDS_GRADIENTS: bool = false;

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
    fn jacobi_finds_the_top_eigenvector() {
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
