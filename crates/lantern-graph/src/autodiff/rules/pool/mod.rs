//! Pooling: MaxPool/GlobalMaxPool route the gradient through `Indices` and ScatterElements;
//! AveragePool/GlobalAveragePool spread it evenly with a ConvTranspose / Expand.

pub(crate) mod average_pool;
pub(crate) mod global_pool;
pub(crate) mod max_pool;

/// The window attributes the pooling tests' case tables are written with.
#[cfg(test)]
pub(crate) mod test_attrs {
    use crate::testing::Attr::{self, Int, Ints};

    pub const K2: Attr = Ints("kernel_shape", &[2, 2]);
    pub const K3: Attr = Ints("kernel_shape", &[3, 3]);
    pub const S1: Attr = Ints("strides", &[1, 1]);
    pub const S2: Attr = Ints("strides", &[2, 2]);
    pub const PAD_1: Attr = Ints("pads", &[1, 1, 1, 1]);
    pub const CEIL: Attr = Int("ceil_mode", 1);
}
