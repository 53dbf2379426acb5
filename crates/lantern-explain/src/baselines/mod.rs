//! Baselines that use no model at all: a floor under every faithfulness score. A method whose
//! deletion/insertion interval does not beat [`random`] says nothing about the model; one that
//! does no better than [`sobel`] (edges of the input, Adebayo et al. 2018's edge-detector
//! comparison) may be showing the image rather than the classifier.

pub mod random;
pub mod sobel;

pub use random::RandomMap;
pub use sobel::SobelMap;

use crate::error::Result;
use crate::method::{Context, Explanation, MapKind, Method, MethodInfo, Passes};
use ndarray::{Array2, ArrayView3};

/// A baseline's map: `[H,W]` from the image alone (and the experiment's seed), with no forward
/// or backward pass; [`ModelFree`] makes it a [`Method`].
pub trait ModelFreeMap: Send + Sync {
    const NAME: &'static str;

    /// The map of `image` `[C,H,W]`.
    fn map(&self, ctx: &Context, image: ArrayView3<f32>) -> Array2<f32>;
}

/// The [`Method`] of a [`ModelFreeMap`]: its map, the same for every target (a baseline does
/// not depend on the class).
#[derive(Debug, Clone, Default)]
pub struct ModelFree<M>(pub M);

impl<M: ModelFreeMap> Method for ModelFree<M> {
    fn info(&self) -> MethodInfo {
        MethodInfo {
            passes_per_target: Some(Passes::new(0, 0)),
            ..MethodInfo::new(M::NAME, MapKind::Spatial)
        }
    }

    fn explain_targets(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
        targets: &[usize],
    ) -> Result<Vec<Explanation>> {
        let one = Explanation::new(self.0.map(ctx, image).into_dyn(), Passes::default());
        Ok(targets.iter().map(|_| one.clone()).collect())
    }
}
