//! The rule registry: one reverse-mode rule per ONNX op (families share a folder). A rule
//! receives the forward node and the gradients of its outputs (`None` where nothing flows) and
//! returns the gradients of its inputs, emitting ordinary ONNX nodes through the context.
//! Rules only produce gradients for inputs that depend on the image input; an input that needs
//! one but cannot get it (e.g. Conv weights computed from the image) is an
//! `UnsupportedVariant` error, never a silently wrong gradient.

pub(crate) mod activation;
pub(crate) mod conv;
pub(crate) mod cumsum;
pub(crate) mod einsum;
pub(crate) mod elementwise;
pub(crate) mod gemm;
pub(crate) mod identity;
pub(crate) mod lrn;
pub(crate) mod matmul;
pub(crate) mod normalization;
pub(crate) mod pool;
pub(crate) mod reduce;
pub(crate) mod resize;
pub(crate) mod shape;
pub(crate) mod softmax;
pub(crate) mod unary;
pub(crate) mod where_op;

use super::ctx::{Ctx, RuleResult};
use crate::proto::NodeProto;

/// A reverse-mode rule.
pub(crate) type Rule = fn(&mut Ctx, &NodeProto, &[Option<String>]) -> RuleResult;

const RULES: &[(&str, Rule)] = &[
    ("Abs", unary::backward),
    ("Add", elementwise::add_sub::backward),
    ("AveragePool", pool::average_pool::backward),
    ("BatchNormalization", normalization::batch_norm::backward),
    ("Cast", identity::backward),
    ("Clip", activation::clip::backward),
    ("Concat", shape::concat::backward),
    ("Conv", conv::backward),
    ("CumSum", cumsum::backward),
    ("DepthToSpace", shape::depth_space::depth_to_space),
    ("Div", elementwise::div::backward),
    ("Dropout", identity::backward),
    ("Einsum", einsum::backward),
    ("Erf", unary::backward),
    ("Exp", unary::backward),
    ("Expand", shape::reshape::expand),
    ("Flatten", shape::reshape::backward),
    ("Gather", shape::gather::backward),
    ("GatherElements", shape::gather::backward),
    ("GatherND", shape::gather::backward),
    ("Gelu", activation::gelu::backward),
    ("Gemm", gemm::backward),
    ("GlobalAveragePool", pool::global_pool::average),
    ("GlobalMaxPool", pool::global_pool::max),
    ("GroupNormalization", normalization::group_norm::backward),
    ("HardSigmoid", activation::hard_sigmoid::backward),
    ("HardSwish", activation::hard_swish::backward),
    ("Identity", identity::backward),
    (
        "InstanceNormalization",
        normalization::instance_norm::backward,
    ),
    ("LRN", lrn::backward),
    ("LayerNormalization", normalization::layer_norm::backward),
    ("LeakyRelu", activation::leaky_relu::backward),
    ("Log", unary::backward),
    ("LogSoftmax", softmax::backward),
    ("MatMul", matmul::backward),
    ("MaxPool", pool::max_pool::backward),
    ("Mean", elementwise::sum::backward),
    ("Mul", elementwise::mul::backward),
    ("Neg", unary::backward),
    ("PRelu", activation::prelu::backward),
    ("Pad", shape::pad::backward),
    ("Pow", unary::pow),
    ("Reciprocal", unary::backward),
    ("ReduceL1", reduce::l1::backward),
    ("ReduceL2", reduce::l2::backward),
    ("ReduceLogSumExp", reduce::log_sum_exp::backward),
    ("ReduceMax", reduce::max_min::backward),
    ("ReduceMean", reduce::sum_mean::backward),
    ("ReduceMin", reduce::max_min::backward),
    ("ReduceSum", reduce::sum_mean::backward),
    ("ReduceSumSquare", reduce::sum_square::backward),
    ("Relu", activation::relu::backward),
    ("Reshape", shape::reshape::backward),
    ("Resize", resize::backward),
    ("Sigmoid", activation::sigmoid::backward),
    ("Slice", shape::slice::backward),
    ("Softmax", softmax::backward),
    ("SpaceToDepth", shape::depth_space::space_to_depth),
    ("Split", shape::split::backward),
    ("Sqrt", unary::backward),
    ("Squeeze", shape::reshape::backward),
    ("Sub", elementwise::add_sub::backward),
    ("Sum", elementwise::sum::backward),
    ("Tanh", activation::tanh::backward),
    ("Tile", shape::tile::backward),
    ("Transpose", shape::transpose::backward),
    ("Unsqueeze", shape::reshape::backward),
    ("Where", where_op::backward),
];

/// The rule for an op of the default ONNX domain.
pub(crate) fn lookup(op_type: &str) -> Option<Rule> {
    RULES.iter().find(|(o, _)| *o == op_type).map(|(_, r)| *r)
}

/// Every op with a reverse-mode rule (sorted).
pub fn supported_ops() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = RULES.iter().map(|(o, _)| *o).collect();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    /// The README's "Supported ONNX ops" table lists exactly the ops of [`super::RULES`].
    #[test]
    fn readme_table_lists_every_rule() {
        let readme = std::fs::read_to_string(crate::testing::workspace_root().join("README.md"))
            .expect("README.md");
        let section = readme
            .split("## Supported ONNX ops")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .expect("README has a \"## Supported ONNX ops\" section");
        let mut listed: Vec<&str> = section
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| family"))
            .filter_map(|l| l.split('|').nth(2))
            .flat_map(|ops| ops.split('`').skip(1).step_by(2))
            .collect();
        listed.sort_unstable();
        assert_eq!(listed, super::supported_ops());
    }
}
