//! SciPy's `gaussian_filter` (reflect mode) for the blurred baselines; kept in
//! `lantern_core::similarity` beside SSIM, which uses it too.

pub use lantern_core::similarity::{filter_reflect, gaussian_taps, reflect_index};
