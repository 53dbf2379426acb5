//! `random`: a seeded uniform map, `M_ij ~ U[0, 1)` i.i.d. — the chance floor for deletion,
//! insertion and every other ranking score. The stream is Lantern's SplitMix64 seeded from
//! `ctx.seed` and a hash of the input's bytes, so every image gets its own map and a rerun the
//! same one. The map does not depend on the target class.

use super::ModelFreeMap;
use crate::method::Context;
use lantern_core::SplitMix64;
use lantern_core::hash::Fnv1a;
use ndarray::{Array2, ArrayView3};

/// No parameters (the experiment's seed is used).
#[derive(Debug, Clone, Default)]
pub struct RandomMap;

impl ModelFreeMap for RandomMap {
    const NAME: &'static str = "random";

    fn map(&self, ctx: &Context, image: ArrayView3<f32>) -> Array2<f32> {
        let (_, h, w) = image.dim();
        let image_hash = image
            .iter()
            .fold(Fnv1a::new(), |hash, v| hash.word(v.to_bits() as u64))
            .finish();
        let mut rng = SplitMix64::for_stream(ctx.seed, image_hash);
        Array2::from_shape_simple_fn((h, w), || rng.next_f64() as f32)
    }
}
