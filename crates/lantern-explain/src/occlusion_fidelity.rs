//! Fidelity of an occlusion map to the exact one (Krypton's question: is the approximate map
//! the same map?): Spearman rank correlation of the values, SSIM of both maps scaled by the
//! exact map's min–max (scikit-image's, data range 1) and the IoU of their top-10 % pixels
//! (`lantern_core::similarity`). The exact window logits come from the fastest exact plan and
//! are cached per (model, image, window, stride, baseline), so a τ × drill-down sweep computes
//! them once per image; their time is reported (`exact_seconds`) but never counted in the
//! approximate map's.

use crate::error::Result;
use crate::method::{Context, Explanation};
use crate::occlusion::Occlusion;
use crate::occlusion_incremental::IncrementalOcclusion;
use lantern_core::hash::Fnv1a;
use lantern_core::similarity::{spearman_maps, ssim, top_fraction_iou};
use ndarray::{Array2, ArrayView3};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Exact window logits of recent images.
type Cached = (u64, Arc<(Array2<f32>, f64)>);
static CACHE: Mutex<Vec<Cached>> = Mutex::new(Vec::new());
/// Images whose exact logits stay cached (a sweep visits its points image by image).
const CACHED: usize = 4;

/// The exact reference of one occlusion setting.
pub struct Reference {
    engine: IncrementalOcclusion,
}

impl Reference {
    pub fn new(occlusion: Occlusion) -> Reference {
        Reference {
            engine: IncrementalOcclusion::new(occlusion),
        }
    }

    /// Exact window logits of `image` and the seconds they took (when first computed).
    fn exact(&self, ctx: &Context, image: ArrayView3<f32>) -> Result<Arc<(Array2<f32>, f64)>> {
        let o = &self.engine.occlusion;
        let image = image.as_standard_layout();
        let bytes: Vec<u8> = image.iter().flat_map(|v| v.to_le_bytes()).collect();
        let key = Fnv1a::new()
            .bytes(ctx.model.hash.as_bytes())
            .bytes(format!("{:?}{:?}{}", o.window, o.stride, o.baseline).as_bytes())
            .bytes(&bytes)
            .finish();
        if let Some((_, hit)) = CACHE
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(k, _)| *k == key)
        {
            return Ok(hit.clone());
        }
        let started = Instant::now();
        let (logits, _) = self.engine.window_logits(ctx, image.view())?;
        let entry = Arc::new((logits, started.elapsed().as_secs_f64()));
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHED {
            cache.remove(0);
        }
        cache.push((key, entry.clone()));
        Ok(entry)
    }

    /// Adds `fidelity_spearman`, `fidelity_ssim`, `fidelity_top10_iou` and `exact_seconds` to
    /// each target's explanation.
    pub fn add_fidelity(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
        explanations: &mut [Explanation],
    ) -> Result<()> {
        let (_, h, w) = image.dim();
        let exact = self.exact(ctx, image)?;
        for (e, &t) in explanations.iter_mut().zip(targets) {
            let want = self.engine.occlusion.map(ctx, &exact.0, h, w, t);
            let got = e.spatial();
            for (k, v) in fidelity(&got, &want) {
                e.stats.insert(k.into(), v);
            }
            e.stats.insert("exact_seconds".into(), exact.1);
        }
        Ok(())
    }
}

/// Spearman, SSIM (both maps scaled by `exact`'s min–max) and top-10 % IoU of `map` to `exact`.
pub fn fidelity(map: &Array2<f32>, exact: &Array2<f32>) -> [(&'static str, f64); 3] {
    let (lo, hi) = exact
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    let scale = |m: &Array2<f32>| m.mapv(|v| (v - lo) / span);
    [
        (
            "fidelity_spearman",
            spearman_maps(map.view(), exact.view(), false),
        ),
        (
            "fidelity_ssim",
            ssim(scale(map).view(), scale(exact).view(), 1.0),
        ),
        (
            "fidelity_top10_iou",
            top_fraction_iou(map.view(), exact.view(), 0.1),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_maps_are_perfectly_faithful() {
        let m = Array2::from_shape_fn((20, 20), |(y, x)| ((y * 7 + x * 3) % 11) as f32);
        for (k, v) in fidelity(&m, &m) {
            assert!((v - 1.0).abs() < 1e-9, "{k} {v}");
        }
        let flipped = m.mapv(|v| -v);
        let [(_, rho), _, (_, iou)] = fidelity(&flipped, &m);
        assert!(rho < -0.99 && iou < 0.5, "{rho} {iou}");
    }
}
