//! Which axis of each tensor carries the batch, so that `Ctx::unbroadcast` can reduce broadcast
//! gradients statically instead of with run-time shape checks.

use crate::ir::{self, op};
use crate::proto::{NodeProto, TensorProto};
use std::collections::{HashMap, HashSet};

/// Elementwise maps and broadcasting arithmetic: the output keeps the batch on the axis its
/// image-dependent inputs (right-aligned) keep it on.
const ELEMENTWISE: &[&str] = &[
    "Abs",
    "Add",
    "Cast",
    "Clip",
    "Div",
    "Dropout",
    "Elu",
    "Erf",
    "Exp",
    "Gelu",
    "HardSigmoid",
    "HardSwish",
    "Identity",
    "LeakyRelu",
    "Log",
    "Max",
    "Mean",
    "Min",
    "Mul",
    "Neg",
    "PRelu",
    "Pow",
    "Reciprocal",
    "Relu",
    "Selu",
    "Sigmoid",
    "Softplus",
    "Sqrt",
    "Sub",
    "Sum",
    "Tanh",
    "Where",
];

/// Ops that work per image on `[N, C, …]` data: the batch must be on axis 0 and stays there.
const PER_IMAGE: &[&str] = &[
    "AveragePool",
    "BatchNormalization",
    "Conv",
    "ConvTranspose",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "GroupNormalization",
    "InstanceNormalization",
    "LRN",
    "MaxPool",
];

/// One entry of a shape tensor, as a function of the batch size N: `c·N` when `batch`, else `c`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Extent {
    c: i64,
    batch: bool,
}

impl Extent {
    const fn fixed(c: i64) -> Extent {
        Extent { c, batch: false }
    }
}

/// For each tensor whose batch sits on one axis at every batch size, with every other extent
/// independent of it, that axis. The image input has it on axis 0; an op's output has it where
/// the op provably moves it: elementwise ops (all image-dependent inputs agreeing), per-image
/// ops on axis 0, Softmax/LogSoftmax/LayerNormalization over later axes, Concat/Gather off the
/// batch axis, Transpose, Squeeze/Unsqueeze with constant axes, MatMul with the batch off the
/// contracted axis (the right operand a constant-shaped matrix, or batch-major alike), Gemm and
/// Flatten on axis 0, and Reshape to a target whose entries are known (constants, or computed
/// from `Shape` of such tensors through Gather/Slice/Concat/Unsqueeze/Mul/Div…) with the batch
/// exactly one entry. Inputs that do not depend on the image are taken to have the same shape
/// at every batch. Anything else is left out, so the map errs on the side of the run-time
/// shape checks.
pub(super) fn batch_axes(
    forward: &[NodeProto],
    active: &HashSet<String>,
    input: &str,
    shapes: &HashMap<String, Vec<i64>>,
    consts: &HashMap<String, TensorProto>,
) -> HashMap<String, usize> {
    let mut axes = HashMap::from([(input.to_string(), 0)]);
    // Known values of integer shape tensors.
    let mut values: HashMap<String, Vec<Extent>> = HashMap::new();
    // Known extents of tensors whose batch is not one whole axis (e.g. attention heads folded
    // into it), from Reshape targets.
    let mut extents: HashMap<String, Vec<Extent>> = HashMap::new();
    for n in forward {
        let Some(out) = n.output.first() else {
            continue;
        };
        if !ir::is_default_domain(n) {
            continue;
        }
        if active.contains(out)
            && let Some(b) = output_batch_axis(n, active, shapes, consts, &axes, &values)
        {
            axes.insert(out.clone(), b);
        }
        if let Some(v) = shape_value(n, shapes, consts, &axes, &values, &extents) {
            values.insert(out.clone(), v);
        }
        if let Some(e) = output_extents(n, shapes, consts, &values, &extents) {
            extents.insert(out.clone(), e);
        }
    }
    axes
}

fn norm_axis(a: i64, rank: usize) -> Option<usize> {
    let a = if a < 0 { a + rank as i64 } else { a };
    (0..rank as i64).contains(&a).then_some(a as usize)
}

fn output_batch_axis(
    n: &NodeProto,
    active: &HashSet<String>,
    shapes: &HashMap<String, Vec<i64>>,
    consts: &HashMap<String, TensorProto>,
    axes: &HashMap<String, usize>,
    values: &HashMap<String, Vec<Extent>>,
) -> Option<usize> {
    let rank = shapes.get(&n.output[0])?.len();
    if rank == 0 {
        return None;
    }
    let o = op(n);
    let ins: Vec<&String> = n
        .input
        .iter()
        .filter(|i| !i.is_empty() && active.contains(*i))
        .collect();
    let in_rank = |k: usize| n.input.get(k).and_then(|i| shapes.get(i)).map(Vec::len);
    let const_ints = |k: usize| {
        n.input
            .get(k)
            .and_then(|name| consts.get(name))
            .and_then(ir::tensor_values_i64)
    };
    // The batch axis of the data input, when it is the only image-dependent input.
    let data_axis = || {
        (ins.len() == 1 && *ins[0] == n.input[0])
            .then(|| axes.get(&n.input[0]).copied())
            .flatten()
    };
    match o {
        _ if ELEMENTWISE.contains(&o) => {
            let mut b = None;
            for i in &ins {
                let r = shapes.get(*i)?.len();
                let bi = axes.get(*i)? + (rank.checked_sub(r)?);
                if b.is_some_and(|b| b != bi) {
                    return None;
                }
                b = Some(bi);
            }
            b
        }
        _ if PER_IMAGE.contains(&o) => (data_axis()? == 0 && in_rank(0) == Some(rank)).then_some(0),
        "Softmax" | "LogSoftmax" | "LayerNormalization" => {
            let b = data_axis()?;
            let a = norm_axis(ir::attr_i(n, "axis").unwrap_or(-1), rank)?;
            (b < a).then_some(b)
        }
        "Flatten" => (data_axis()? == 0 && ir::attr_i(n, "axis").unwrap_or(1) >= 1).then_some(0),
        "Gemm" => (data_axis()? == 0 && ir::attr_i(n, "transA").unwrap_or(0) == 0).then_some(0),
        "Concat" => {
            let a = norm_axis(ir::attr_i(n, "axis")?, rank)?;
            let b = axes.get(*ins.first()?).copied()?;
            (a != b && ins.iter().all(|i| axes.get(*i) == Some(&b))).then_some(b)
        }
        "Transpose" => {
            let b = data_axis()?;
            let perm = ir::attr_ints(n, "perm").unwrap_or_else(|| (0..rank as i64).rev().collect());
            perm.iter().position(|&p| p == b as i64)
        }
        "Unsqueeze" => {
            let b = data_axis()?;
            let mut inserted: Vec<usize> = ir::attr_ints(n, "axes")
                .or_else(|| const_ints(1))?
                .iter()
                .map(|&a| norm_axis(a, rank))
                .collect::<Option<_>>()?;
            inserted.sort_unstable();
            (0..rank).filter(|i| !inserted.contains(i)).nth(b)
        }
        "Squeeze" => {
            let b = data_axis()?;
            let r = in_rank(0)?;
            let removed: Vec<usize> = ir::attr_ints(n, "axes")
                .or_else(|| const_ints(1))?
                .iter()
                .map(|&a| norm_axis(a, r))
                .collect::<Option<_>>()?;
            (!removed.contains(&b)).then(|| b - removed.iter().filter(|&&a| a < b).count())
        }
        "Gather" => {
            let b = data_axis()?;
            let a = norm_axis(ir::attr_i(n, "axis").unwrap_or(0), in_rank(0)?)?;
            let idx_rank = consts.get(n.input.get(1)?)?.dims.len();
            match b.cmp(&a) {
                std::cmp::Ordering::Less => Some(b),
                std::cmp::Ordering::Greater => Some(b - 1 + idx_rank),
                std::cmp::Ordering::Equal => None,
            }
        }
        "MatMul" => {
            let b = axes.get(&n.input[0]).copied()?;
            if *ins.first()? != &n.input[0] || in_rank(0) != Some(rank) || b + 1 >= rank {
                return None;
            }
            let right = n.input.get(1)?;
            let right_ok = if active.contains(right) {
                rank >= 3 && b + 2 < rank && in_rank(1) == Some(rank) && axes.get(right) == Some(&b)
            } else {
                in_rank(1) == Some(2)
            };
            right_ok.then_some(b)
        }
        "Reshape" => {
            if ins.len() != 1 || *ins[0] != n.input[0] {
                return None;
            }
            let data = shapes.get(&n.input[0])?;
            let target = values.get(n.input.get(1)?)?;
            let allowzero = ir::attr_i(n, "allowzero").unwrap_or(0) != 0;
            reshape_batch_axis(
                data,
                axes.get(&n.input[0]).copied(),
                target,
                allowzero,
                rank,
            )
        }
        _ => None,
    }
}

/// Where a Reshape to `target` puts the batch, if exactly one output extent is N and the others
/// are fixed. `data`: the input's shape at batch 1; `b`: its batch axis, if known.
fn reshape_batch_axis(
    data: &[i64],
    b: Option<usize>,
    target: &[Extent],
    allowzero: bool,
    rank: usize,
) -> Option<usize> {
    if target.len() != rank {
        return None;
    }
    // Resolve copied (0) entries against the input.
    let mut t = Vec::with_capacity(rank);
    for (i, &e) in target.iter().enumerate() {
        if e == Extent::fixed(0) && !allowzero {
            // A copied extent is known only for an input whose batch axis is.
            b?;
            let d = *data.get(i)?;
            t.push(Extent {
                c: d,
                batch: b == Some(i),
            });
        } else {
            t.push(e);
        }
    }
    let batch_entries: Vec<usize> = (0..rank).filter(|&i| t[i].batch).collect();
    let inferred: Vec<usize> = (0..rank).filter(|&i| t[i] == Extent::fixed(-1)).collect();
    if t.iter().any(|e| e.c <= 0 && *e != Extent::fixed(-1)) || inferred.len() > 1 {
        return None;
    }
    match (batch_entries.as_slice(), inferred.as_slice()) {
        // The batch is one entry, exactly N; a -1 entry gets a fixed extent only if the input's
        // extents are fixed but for the batch (then total / (N·others) is).
        ([k], []) if t[*k].c == 1 => Some(*k),
        ([k], [_]) if t[*k].c == 1 && b.is_some() => Some(*k),
        // The -1 entry takes N exactly when the other entries cover the per-image extents.
        ([], [k]) => {
            let b = b?;
            let per_image: i64 = (0..data.len())
                .filter(|&i| i != b)
                .map(|i| data[i])
                .product();
            let others: i64 = (0..rank).filter(|i| i != k).map(|i| t[i].c).product();
            (others == per_image).then_some(*k)
        }
        _ => None,
    }
}

/// The extents of a Reshape to a fully known target without 0 or -1 entries, or of a Transpose
/// or Gemm (rows) of such a tensor.
fn output_extents(
    n: &NodeProto,
    shapes: &HashMap<String, Vec<i64>>,
    consts: &HashMap<String, TensorProto>,
    values: &HashMap<String, Vec<Extent>>,
    extents: &HashMap<String, Vec<Extent>>,
) -> Option<Vec<Extent>> {
    match op(n) {
        "Reshape" => {
            let t = values.get(n.input.get(1)?)?;
            t.iter().all(|e| e.c > 0).then(|| t.clone())
        }
        "Transpose" => {
            let e = extents.get(&n.input[0])?;
            let perm =
                ir::attr_ints(n, "perm").unwrap_or_else(|| (0..e.len() as i64).rev().collect());
            perm.iter().map(|&p| e.get(p as usize).copied()).collect()
        }
        // Rows from A, the columns are the constant weight's.
        "Gemm"
            if ir::attr_i(n, "transA").unwrap_or(0) == 0
                && consts.contains_key(n.input.get(1)?) =>
        {
            let rows = *extents.get(&n.input[0])?.first()?;
            let cols = *shapes.get(&n.output[0])?.get(1)?;
            Some(vec![rows, Extent::fixed(cols)])
        }
        _ => None,
    }
}

/// The value of an integer shape tensor computed by `n`, as extents in N, when known.
fn shape_value(
    n: &NodeProto,
    shapes: &HashMap<String, Vec<i64>>,
    consts: &HashMap<String, TensorProto>,
    axes: &HashMap<String, usize>,
    values: &HashMap<String, Vec<Extent>>,
    extents: &HashMap<String, Vec<Extent>>,
) -> Option<Vec<Extent>> {
    let input = |k: usize| -> Option<Vec<Extent>> {
        let name = n.input.get(k)?;
        if let Some(v) = values.get(name) {
            return Some(v.clone());
        }
        fixed_values(consts.get(name)?)
    };
    // Values free of the batch.
    let fixed = |k: usize| -> Option<Vec<i64>> {
        input(k)?
            .into_iter()
            .map(|e| (!e.batch).then_some(e.c))
            .collect()
    };
    match op(n) {
        "Add" | "Sub" | "Mod" => broadcast_zip(&fixed(0)?, &fixed(1)?, |x, y| {
            Some(Extent::fixed(match op(n) {
                "Add" => x.checked_add(y)?,
                "Sub" => x.checked_sub(y)?,
                // ONNX integer Mod (fmod = 0) takes the divisor's sign, like rem_euclid
                // for a positive divisor; other divisors are left unknown.
                _ => (y > 0).then(|| x.rem_euclid(y))?,
            }))
        }),
        "Constant" => fixed_values(ir::attr(n, "value")?.t.as_ref()?),
        "Shape" => {
            let x = &n.input[0];
            let s = shapes.get(x)?;
            let b = match axes.get(x) {
                Some(&b) => Some(b),
                None if consts.contains_key(x) || extents.contains_key(x) => None,
                None => return None,
            };
            let all: Vec<Extent> = match extents.get(x) {
                Some(e) => e.clone(),
                None => s
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| Extent {
                        c: d,
                        batch: b == Some(i),
                    })
                    .collect(),
            };
            let r = all.len() as i64;
            let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
            let start = clamp(ir::attr_i(n, "start").unwrap_or(0));
            let end = clamp(ir::attr_i(n, "end").unwrap_or(r));
            Some(all.get(start..end.max(start))?.to_vec())
        }
        "Identity" | "Cast" | "Unsqueeze" | "Squeeze" => input(0),
        "Reshape" => (shapes.get(&n.output[0])?.len() <= 1)
            .then(|| input(0))
            .flatten(),
        "Gather" => {
            let v = input(0)?;
            if ir::attr_i(n, "axis").unwrap_or(0) != 0 {
                return None;
            }
            let r = v.len() as i64;
            fixed(1)?
                .iter()
                .map(|&i| v.get((if i < 0 { i + r } else { i }) as usize).copied())
                .collect()
        }
        "Concat" => {
            let mut all = Vec::new();
            for k in 0..n.input.len() {
                all.extend(input(k)?);
            }
            Some(all)
        }
        "Slice" => {
            let v = input(0)?;
            let r = v.len() as i64;
            let (starts, ends) = (fixed(1)?, fixed(2)?);
            (starts.len() == 1 && ends.len() == 1).then_some(())?;
            if n.input.len() > 3 && !n.input[3].is_empty() {
                let axes = fixed(3)?;
                (axes == [0] || axes == [-1]).then_some(())?;
            }
            if n.input.len() > 4 && !n.input[4].is_empty() && fixed(4)? != [1] {
                return None;
            }
            let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
            let (s, e) = (clamp(*starts.first()?), clamp(*ends.first()?));
            Some(v.get(s..e.max(s))?.to_vec())
        }
        "Mul" | "Div" => broadcast_zip(&input(0)?, &input(1)?, |x, y| {
            if op(n) == "Mul" {
                (!(x.batch && y.batch)).then_some(Extent {
                    c: x.c.checked_mul(y.c)?,
                    batch: x.batch || y.batch,
                })
            } else {
                (!y.batch && y.c > 0 && x.c % y.c == 0).then_some(Extent {
                    c: x.c / y.c,
                    batch: x.batch,
                })
            }
        }),
        _ => None,
    }
}

/// `f` of the elements of two 1-D values broadcast against each other (a one-element value
/// repeats); `None` when `f` gives none for one of them.
fn broadcast_zip<T: Copy>(
    a: &[T],
    b: &[T],
    f: impl Fn(T, T) -> Option<Extent>,
) -> Option<Vec<Extent>> {
    let at = |v: &[T], i: usize| v.get(if v.len() == 1 { 0 } else { i }).copied();
    (0..a.len().max(b.len()))
        .map(|i| f(at(a, i)?, at(b, i)?))
        .collect()
}

/// The values of a constant scalar or 1-D integer tensor, as batch-free extents.
fn fixed_values(t: &TensorProto) -> Option<Vec<Extent>> {
    (t.dims.len() <= 1).then_some(())?;
    Some(
        ir::tensor_values_i64(t)?
            .into_iter()
            .map(Extent::fixed)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{a_int, a_ints, tensor_i64};
    use crate::testing::node;

    /// Seq-first attention plumbing: the batch moves to axis 1, is folded with the heads by a
    /// Reshape computed from `Shape`, and comes back to axis 0 by another computed Reshape.
    #[test]
    fn batch_axis_follows_transposes_and_computed_reshapes() {
        let consts: HashMap<String, TensorProto> = [
            tensor_i64("i1", &[], &[1]),
            tensor_i64("ax0", &[1], &[0]),
            tensor_i64("c2", &[1], &[2]),
            tensor_i64("c4", &[1], &[4]),
            tensor_i64("flat", &[2], &[4, -1]),
            tensor_i64("w", &[6, 8], &[0; 48]),
        ]
        .into_iter()
        .map(|t| (t.name.clone().unwrap_or_default(), t))
        .collect();
        let forward = vec![
            node(
                "Transpose",
                &["x"],
                &["t"],
                vec![a_ints("perm", &[1, 0, 2])],
            ),
            node("MatMul", &["t", "w"], &["m"], vec![]),
            node("Shape", &["m"], &["s"], vec![]),
            node("Gather", &["s", "i1"], &["nb"], vec![a_int("axis", 0)]),
            node("Unsqueeze", &["nb", "ax0"], &["nb1"], vec![]),
            node("Mul", &["nb1", "c2"], &["nh"], vec![]),
            node(
                "Concat",
                &["c4", "nh", "c4"],
                &["tgt"],
                vec![a_int("axis", 0)],
            ),
            node("Reshape", &["m", "tgt"], &["r"], vec![]),
            node(
                "Transpose",
                &["r"],
                &["rt"],
                vec![a_ints("perm", &[1, 0, 2])],
            ),
            node("Shape", &["rt"], &["s2"], vec![]),
            node("Gather", &["s2", "i1"], &["l"], vec![a_int("axis", 0)]),
            node("Unsqueeze", &["l", "ax0"], &["l1"], vec![]),
            node(
                "Concat",
                &["nb1", "c2", "l1", "c4"],
                &["tgt2"],
                vec![a_int("axis", 0)],
            ),
            node("Reshape", &["rt", "tgt2"], &["q"], vec![]),
            // [4, -1] folds the batch into the last axis: no batch axis.
            node("Reshape", &["m", "flat"], &["folded"], vec![]),
            node("Softmax", &["q"], &["p"], vec![a_int("axis", -1)]),
            node("Softmax", &["t"], &["over_batch"], vec![a_int("axis", 1)]),
        ];
        let shapes: HashMap<String, Vec<i64>> = [
            ("x", vec![1, 4, 6]),
            ("t", vec![4, 1, 6]),
            ("m", vec![4, 1, 8]),
            ("s", vec![3]),
            ("nb", vec![]),
            ("nb1", vec![1]),
            ("nh", vec![1]),
            ("tgt", vec![3]),
            ("r", vec![4, 2, 4]),
            ("rt", vec![2, 4, 4]),
            ("s2", vec![3]),
            ("l", vec![]),
            ("l1", vec![1]),
            ("tgt2", vec![4]),
            ("q", vec![1, 2, 4, 4]),
            ("folded", vec![4, 8]),
            ("p", vec![1, 2, 4, 4]),
            ("over_batch", vec![4, 1, 6]),
            ("w", vec![6, 8]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let active: HashSet<String> = ["x", "t", "m", "r", "rt", "q", "folded", "p", "over_batch"]
            .into_iter()
            .map(String::from)
            .collect();
        let axes = batch_axes(&forward, &active, "x", &shapes, &consts);
        let got = |t: &str| axes.get(t).copied();
        assert_eq!(got("t"), Some(1));
        assert_eq!(got("m"), Some(1));
        assert_eq!(got("r"), None, "heads folded into the batch axis");
        assert_eq!(got("rt"), None);
        assert_eq!(got("q"), Some(0));
        assert_eq!(got("p"), Some(0));
        assert_eq!(got("folded"), None);
        assert_eq!(got("over_batch"), None, "softmax over the batch axis");
    }
}
