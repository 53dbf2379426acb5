//! Graph surgery for incremental inference: receptive-field rules ([`receptive`]), cut points
//! and sub-models ([`cut`]), segments that recompute everything between two cut points on crops
//! ([`fused`]), and the plan that runs a graph's prefix on crops around changed input regions
//! and only its suffix in full ([`incremental`]), priced by [`cost`]; a model fed one of its own
//! tensors ([`feed`]); a symbolic batch for static-batch exports ([`batch`]); a new classifier
//! head on a backbone's final Gemm ([`final_gemm`]).

pub mod batch;
pub mod cost;
pub mod cut;
pub mod feed;
pub mod final_gemm;
pub mod fused;
pub mod incremental;
pub mod receptive;

pub use batch::{BATCH_SYMBOL, BatchSource, SymbolicBatch, has_static_batch, symbolic_batch};
pub use cost::{PlanOptions, Segmentation};
pub use cut::{GraphIndex, float_value_info};
pub use feed::{FedModel, feed_tensor};
pub use final_gemm::{final_gemm_input, replace_final_gemm};
pub use incremental::{
    Exit, IncrementalGraph, IncrementalPlan, Segment, SegmentInput, SegmentOutput, Source,
    approximate, plan_incremental,
};
pub use receptive::{AxisMap, NodeRule, Rect, Span, WindowMap};
