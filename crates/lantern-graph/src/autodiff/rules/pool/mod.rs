//! Pooling: MaxPool/GlobalMaxPool route the gradient through `Indices` and ScatterElements;
//! AveragePool/GlobalAveragePool spread it evenly with a ConvTranspose / Expand.

pub(crate) mod average_pool;
pub(crate) mod global_pool;
pub(crate) mod max_pool;
