//! Baselines that use no model at all: a floor under every faithfulness score. A method whose
//! deletion/insertion interval does not beat [`random`] says nothing about the model; one that
//! does no better than [`sobel`] (edges of the input, Adebayo et al. 2018's edge-detector
//! comparison) may be showing the image rather than the classifier.

pub mod random;
pub mod sobel;

pub use random::RandomMap;
pub use sobel::SobelMap;
