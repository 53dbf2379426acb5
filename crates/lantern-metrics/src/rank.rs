//! Ranking and similarity helpers shared by the metrics (kept in `lantern-core`, where the
//! methods can use them too): the stable pixel order of a map, Spearman rank correlation, SSIM,
//! min–max normalisation and quantiles.

pub use lantern_core::normalise::minmax;
pub use lantern_core::similarity::*;
