//! Pointwise activations. Kinks follow PyTorch: the ReLU mask is `x > 0` (gradient 0 at 0),
//! Clip passes the gradient only strictly inside (min, max) like `nn.ReLU6`/`Hardtanh`,
//! LeakyRelu/PRelu use the slope at 0, HardSigmoid/HardSwish follow torch's masks; Gelu is smooth.
//! `ReluRule::Guided`/`Deconvnet` change Relu and ReLU-like Clip (min = 0) only.

pub(crate) mod clip;
pub(crate) mod gelu;
pub(crate) mod hard_sigmoid;
pub(crate) mod hard_swish;
pub(crate) mod leaky_relu;
pub(crate) mod prelu;
pub(crate) mod relu;
pub(crate) mod sigmoid;
pub(crate) mod tanh;
