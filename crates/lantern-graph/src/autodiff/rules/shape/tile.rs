//! Tile: output index `t·d + i` along an axis of extent d copies input index i, so the gradient
//! is the sum over the tiles: `g` reshaped to `[r0, d0, r1, d1, …]` (repeats and the input's
//! extents interleaved, both read at run time, so constant and computed repeats and any batch
//! size work alike) and summed over the repeat axes.

use crate::autodiff::ctx::{Ctx, RuleResult, data_grad, require_no_grad};
use crate::ir::a_int;
use crate::proto::NodeProto;

pub(crate) fn backward(ctx: &mut Ctx, n: &NodeProto, gy: &[Option<String>]) -> RuleResult {
    require_no_grad(ctx, n, &[1], "repeats")?;
    data_grad(ctx, n, gy, |ctx, x, g| {
        let rank = ctx.rank(x)? as i64;
        let column = ctx.ints(&[1]);
        let repeats = ctx.node("Unsqueeze", &[&n.input[1], &column], vec![]);
        let extents = ctx.shape_of(x);
        let extents = ctx.node("Unsqueeze", &[&extents, &column], vec![]);
        let pairs = ctx.node("Concat", &[&repeats, &extents], vec![a_int("axis", 1)]);
        let flat = ctx.ints(&[-1]);
        let interleaved = ctx.node("Reshape", &[&pairs, &flat], vec![]);
        let tiles = ctx.node("Reshape", &[g, &interleaved], vec![]);
        let repeat_axes: Vec<i64> = (0..rank).map(|a| 2 * a).collect();
        let axes = ctx.ints(&repeat_axes);
        Ok(ctx.node("ReduceSum", &[&tiles, &axes], vec![a_int("keepdims", 0)]))
    })
}

#[cfg(test)]
mod tests {
    use crate::ir::{a_int, tensor_i64};
    use crate::testing::{graph_case, node, uniform};

    #[test]
    fn tile_constant_repeats() {
        let x = uniform(&[1, 2, 3], -1.0, 1.0, 1);
        let r = tensor_i64("r", &[3], &[1, 2, 3]);
        let nodes = vec![
            node("Tile", &["x", "r"], &["t"], vec![]),
            node("Sigmoid", &["t"], &["y"], vec![]),
        ];
        graph_case(nodes).inits(vec![r]).check("Tile [1, 2, 3]", &x);
    }

    #[test]
    fn tile_run_time_repeats() {
        // Repeats [1, 2, C] with C read from Shape at run time.
        let x = uniform(&[1, 2, 3], -1.0, 1.0, 2);
        let inits = vec![
            tensor_i64("head", &[2], &[1, 2]),
            tensor_i64("one", &[1], &[1]),
        ];
        let nodes = vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("Gather", &["s", "one"], &["c"], vec![]),
            node("Concat", &["head", "c"], &["r"], vec![a_int("axis", 0)]),
            node("Tile", &["x", "r"], &["t"], vec![]),
            node("Tanh", &["t"], &["y"], vec![]),
        ];
        graph_case(nodes)
            .inits(inits)
            .check("Tile, run-time repeats", &x);
    }
}
