//! `random`: a seeded uniform map, `M_ij ~ U[0, 1)` i.i.d. — the chance floor for deletion,
//! insertion and every other ranking score. The stream is Lantern's SplitMix64 seeded from
//! `ctx.seed` and a hash of the input's bytes, so every image gets its own map and a rerun the
//! same one. The map does not depend on the target class.

use crate::error::Result;
use crate::method::{Context, Explanation, MapKind, Method, MethodInfo, Passes};
use crate::params::Params;
use lantern_core::SplitMix64;
use lantern_core::hash::Fnv1a;
use ndarray::{Array2, ArrayView3};

#[derive(Debug, Clone, Default)]
pub struct RandomMap;

impl RandomMap {
    /// No parameters (the experiment's seed is used).
    pub fn from_params(_: &Params) -> Result<RandomMap> {
        Ok(RandomMap)
    }
}

impl Method for RandomMap {
    fn info(&self) -> MethodInfo {
        MethodInfo {
            passes_per_target: Some(Passes::new(0, 0)),
            ..MethodInfo::new("random", MapKind::Spatial)
        }
    }

    /// The same map for every target: it does not depend on the class.
    fn explain_targets(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
    ) -> Result<Vec<Explanation>> {
        let one = self.map_of(ctx, image)?;
        Ok(targets.iter().map(|_| one.clone()).collect())
    }
}

impl RandomMap {
    fn map_of(&self, ctx: &Context, image: ArrayView3<f32>) -> Result<Explanation> {
        let (_, h, w) = image.dim();
        let image_hash = image
            .iter()
            .fold(Fnv1a::new(), |hash, v| hash.word(v.to_bits() as u64))
            .finish();
        let mut rng = SplitMix64::for_stream(ctx.seed, image_hash);
        let map = Array2::from_shape_simple_fn((h, w), || rng.next_f64() as f32);
        Ok(Explanation::new(map.into_dyn(), Passes::default()))
    }
}
