//! Faithfulness metrics for attribution maps: deletion/insertion ([`causal`]), Average Drop /
//! Increase in Confidence ([`confidence`]), the pointing games ([`pointing`]) and the model
//! parameter randomisation sanity check ([`sanity`]); with the helpers they share — ranks and
//! quantiles ([`rank`]), SciPy's Gaussian filter ([`gaussian`]) and SSIM ([`ssim`]) — per-group
//! summaries over images ([`summary`]) and the cost record kept with every score ([`cost`]). Each file names the paper and reference code it follows.
//!
//! Metrics take any [`Classifier`] (a `lantern_runtime::Model`, or a closure with a known
//! answer in tests) and maps at input resolution; they never depend on how a map was made —
//! where a map must be recomputed (the sanity check) the caller passes a closure.

pub mod blur;
pub mod causal;
pub mod classifier;
pub mod confidence;
pub mod cost;
pub mod error;
pub mod gaussian;
pub mod pointing;
pub mod rank;
pub mod registry;
pub mod sanity;
pub mod ssim;
pub mod summary;

pub use causal::{
    CausalCurve, CausalKind, CausalSettings, Step, Substrate, causal_curve, deletion, insertion,
};
pub use classifier::{Classifier, Score};
pub use confidence::{
    ConfidenceChange, ConfidenceMask, ConfidenceSummary, average_drop_increase, confidence_change,
    confidence_changes,
};
pub use cost::{Cost, Meter};
pub use error::{MetricsError, Result};
pub use pointing::{BoundingBox, PointingResult, Region, energy_pointing_game, pointing_game};
pub use registry::{METRICS, MapScores, SettingValue, Settings, score_map};
pub use sanity::{SanityResult, SanitySettings, SanityStep, cascading_randomisation};
pub use summary::{
    BootstrapSettings, Observation, SummaryRow, summarise, summary_markdown, write_summary_csv,
};
