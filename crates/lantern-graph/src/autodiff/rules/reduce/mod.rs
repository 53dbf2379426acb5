//! Reductions `y = R_{axes}(x)`. Every rule here has the form `∂x = kept(g) ⊙ d(x, kept(y))`:
//! the upstream gradient with the reduced axes restored as extent 1 (what `keepdims = 1`
//! gives), broadcast against an x-shaped local derivative. [`Reduction`] reads the axes the one
//! way for all of them: the `axes` attribute (opset < 18; ReduceSum < 13) or the constant
//! `axes` input (opset ≥ 18; ReduceSum ≥ 13), negative axes counted from the end, no axes =
//! every axis, and `noop_with_empty_axes = 1` with no axes = no reduction at all (the
//! elementwise part only, as the ONNX reference implementation computes it).

pub(crate) mod l1;
pub(crate) mod l2;
pub(crate) mod log_sum_exp;
pub(crate) mod max_min;
pub(crate) mod sum_mean;
pub(crate) mod sum_square;

use crate::GraphError;
use crate::autodiff::ctx::{Ctx, RuleResult, data_grad, require_no_grad};
use crate::ir::{self, a_int};
use crate::proto::NodeProto;

/// What a Reduce* node reduces.
pub(crate) struct Reduction {
    /// Reduced axes, normalised, sorted and deduplicated (every axis when none are given;
    /// empty when `noop`).
    pub(crate) axes: Vec<usize>,
    pub(crate) keepdims: bool,
    /// `noop_with_empty_axes` with no axes: the output has the input's shape, nothing reduced.
    pub(crate) noop: bool,
}

impl Reduction {
    /// The reduction of node `n` over its data input `x`; the `axes` input must not depend on
    /// the image (it is a shape, not an activation).
    pub(crate) fn of(ctx: &Ctx, n: &NodeProto, x: &str) -> Result<Reduction, GraphError> {
        require_no_grad(ctx, n, &[1], "axes")?;
        let rank = ctx.rank(x)?;
        let keepdims = ir::attr_i(n, "keepdims").unwrap_or(1) != 0;
        let noop_attr = ir::attr_i(n, "noop_with_empty_axes").unwrap_or(0) != 0;
        let given = ctx.ints_attr_or_input(n, "axes", 1)?.unwrap_or_default();
        if given.is_empty() && noop_attr {
            return Ok(Reduction {
                axes: Vec::new(),
                keepdims,
                noop: true,
            });
        }
        let mut axes: Vec<usize> = if given.is_empty() {
            (0..rank).collect()
        } else {
            given
                .iter()
                .map(|&a| ctx.axis(n, a, rank))
                .collect::<Result<_, _>>()?
        };
        axes.sort_unstable();
        axes.dedup();
        Ok(Reduction {
            axes,
            keepdims,
            noop: false,
        })
    }

    /// The reduced axes as an int64 constant.
    pub(crate) fn axes_const(&self, ctx: &mut Ctx) -> String {
        let axes: Vec<i64> = self.axes.iter().map(|&a| a as i64).collect();
        ctx.ints(&axes)
    }

    /// `t` (shaped like the output: the upstream gradient or `y` itself) with the reduced axes
    /// back as extent 1, so that it broadcasts against the input.
    pub(crate) fn kept(&self, ctx: &mut Ctx, t: &str) -> String {
        if self.keepdims || self.noop {
            return t.to_string();
        }
        let a = self.axes_const(ctx);
        ctx.node("Unsqueeze", &[t, &a], vec![])
    }

    /// `ReduceSum(t, axes, keepdims = 1)` for an x-shaped `t` (`t` itself when `noop`).
    pub(crate) fn sum_kept(&self, ctx: &mut Ctx, t: &str) -> String {
        if self.noop {
            return t.to_string();
        }
        let a = self.axes_const(ctx);
        ctx.node("ReduceSum", &[t, &a], vec![a_int("keepdims", 1)])
    }
}

/// The backward of every reduction: `∂x = local(kept(g))`, where `local` emits the op's own
/// factor from x, `kept(g)` and the [`Reduction`] (see the module doc). Nothing when x needs no
/// gradient.
pub(crate) fn backward_with(
    ctx: &mut Ctx,
    n: &NodeProto,
    gy: &[Option<String>],
    local: impl FnOnce(&mut Ctx, &Reduction, &str, &str) -> Result<String, GraphError>,
) -> RuleResult {
    let r = Reduction::of(ctx, n, &n.input[0])?;
    data_grad(ctx, n, gy, |ctx, x, g| {
        let g = r.kept(ctx, g);
        local(ctx, &r, x, &g)
    })
}

/// `t / count`, where count is the number of elements of `x` that each element of `reduced`
/// sums over `axes`. Static when no reduced axis can be the batch (extent 1 at the probe's
/// batch of 1), else `Size(x) / Size(reduced)` at run time.
pub(crate) fn divide_by_count(
    ctx: &mut Ctx,
    t: &str,
    x: &str,
    axes: &[usize],
    reduced: &str,
) -> Result<String, GraphError> {
    let xs = ctx.shape(x)?;
    if axes.iter().all(|&a| xs[a] != 1) {
        let count: i64 = axes.iter().map(|&a| xs[a]).product();
        return Ok(ctx.scale(t, 1.0 / count as f64));
    }
    let sx = ctx.node("Size", &[x], vec![]);
    let sr = ctx.node("Size", &[reduced], vec![]);
    let c = ctx.node("Div", &[&sx, &sr], vec![]);
    let dt = ctx.dtype as i64;
    let c = ctx.node("Cast", &[&c], vec![a_int("to", dt)]);
    Ok(ctx.div(t, &c))
}

/// The mean of an x-shaped `t` over `axes` of `x`, kept as extent-1 axes.
pub(crate) fn mean_kept(
    ctx: &mut Ctx,
    t: &str,
    x: &str,
    axes: &[usize],
) -> Result<String, GraphError> {
    let a: Vec<i64> = axes.iter().map(|&a| a as i64).collect();
    let a = ctx.ints(&a);
    let s = ctx.node("ReduceSum", &[t, &a], vec![a_int("keepdims", 1)]);
    divide_by_count(ctx, &s, x, axes, &s)
}

#[cfg(test)]
pub(crate) mod test_util {
    use crate::ir::{a_int, a_ints, tensor_i64};
    use crate::testing::{grad_of, model, node, op_case};
    use ndarray::{ArrayD, IxDyn};

    /// Finite-difference checks of `op` with its axes in both forms at both `keepdims`: the
    /// `attr_axes` attribute (opset 13) and the constant `input_axes` input (opset 18).
    pub(crate) fn check_axes_forms(
        op: &str,
        x: &ArrayD<f32>,
        attr_axes: &[i64],
        input_axes: &[i64],
    ) {
        let axes = tensor_i64("axes", &[input_axes.len() as i64], input_axes);
        for keep in [0, 1] {
            let attrs = vec![a_ints("axes", attr_axes), a_int("keepdims", keep)];
            op_case(op, &["x"], attrs).check(&format!("{op} attribute axes keepdims={keep}"), x);
            op_case(op, &["x", "axes"], vec![a_int("keepdims", keep)])
                .inits(vec![axes.clone()])
                .opset(18)
                .check(&format!("{op} input axes keepdims={keep}"), x);
        }
    }

    /// The input gradient of `op` over the last axis of a `[1, 2, k]` input `x` (batch
    /// dynamic, keepdims 0) for the upstream gradient `seed` `[1, 2]`, against `want`: the
    /// conventions finite differences cannot see (ties, zeros).
    pub(crate) fn assert_last_axis_grad(op: &str, x: &[f32], seed: [f32; 2], want: &[f32]) {
        let k = x.len() / 2;
        let x = ArrayD::from_shape_vec(IxDyn(&[1, 2, k]), x.to_vec()).expect("x");
        let attrs = vec![a_ints("axes", &[2]), a_int("keepdims", 0)];
        let m = model(
            vec![node(op, &["x"], &["y"], attrs)],
            vec![],
            &[("x", &[-1, 2, k as i64])],
            &["y"],
            13,
        );
        let seed = ArrayD::from_shape_vec(IxDyn(&[1, 2]), seed.to_vec()).expect("seed");
        let g = grad_of(&m, &x, &seed, crate::ReluRule::Plain);
        for (a, b) in g.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{op}: got {g:?}, want {want:?}");
        }
    }
}
