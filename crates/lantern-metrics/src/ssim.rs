//! SSIM of two maps (scikit-image's `structural_similarity`, Gaussian weights); kept in
//! `lantern_core::similarity`, where the occlusion fidelity columns use it too.

pub use lantern_core::similarity::ssim;
