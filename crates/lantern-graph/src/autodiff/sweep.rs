//! The reverse sweep: every differentiated node, last to first, turns the summed gradients of
//! its outputs into gradients of its inputs by its rule; then the gradients the graph exports.

use super::GradientSpec;
use super::activity::Activity;
use super::batch_major::batch_axes;
use super::ctx::{Block, Ctx};
use super::forward::{Forward, Image};
use super::fused;
use super::logits::Names;
use super::rules;
use crate::GraphError;
use crate::ir::{self, a_int, op};
use crate::proto::{GraphProto, ModelProto, ValueInfoProto};
use std::collections::{HashMap, HashSet};

/// The backward nodes and what assembling the gradient graph needs besides them.
pub(super) struct Backward {
    /// Holds the forward nodes, the backward nodes and the new initializers.
    pub(super) ctx: Ctx,
    pub(super) outputs: Vec<ValueInfoProto>,
    pub(super) model: ModelProto,
    pub(super) graph: GraphProto,
    pub(super) image: Image,
    pub(super) logits: String,
    pub(super) layers: Vec<String>,
    /// Logits per image: the width of `seed`.
    pub(super) classes: i64,
}

/// Gradient contributions per tensor, summed once all have arrived.
#[derive(Default)]
struct Gradients {
    contribs: HashMap<String, Vec<String>>,
    totals: HashMap<String, String>,
}

impl Gradients {
    /// The summed gradient of a tensor (`None` if nothing flows into it); cached, since a
    /// node's output may be read again by the outputs.
    fn total(&mut self, ctx: &mut Ctx, t: &str) -> Option<String> {
        if t.is_empty() {
            return None;
        }
        if let Some(s) = self.totals.get(t) {
            return Some(s.clone());
        }
        let parts = self.contribs.remove(t)?;
        let total = if parts.len() == 1 {
            parts[0].clone()
        } else if let Some(tiled) = concat_blocks(ctx, &parts) {
            tiled
        } else {
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            ctx.node("Sum", &refs, vec![])
        };
        self.totals.insert(t.to_string(), total.clone());
        Some(total)
    }

    /// The summed gradient, or zeros where none flows (an exported tensor the logits ignore).
    fn total_or_zeros(&mut self, ctx: &mut Ctx, t: &str) -> String {
        match self.total(ctx, t) {
            Some(g) => g,
            None => ctx.zeros_like(t),
        }
    }
}

/// One Concat when every contribution is a [`Block`] of the same axis and together they tile
/// it (torchvision's attention reads q, k and v as three Gathers of one packed tensor): the
/// padded copies and their Sum are never computed (assembly drops the unread Pads).
fn concat_blocks(ctx: &mut Ctx, parts: &[String]) -> Option<String> {
    let mut blocks: Vec<Block> = parts
        .iter()
        .map(|p| ctx.blocks.get(p).cloned())
        .collect::<Option<_>>()?;
    blocks.sort_by_key(|b| b.start);
    let (axis, extent) = (blocks[0].axis, blocks[0].extent);
    let mut next = 0;
    for b in &blocks {
        if b.axis != axis || b.extent != extent || b.start != next {
            return None;
        }
        next += b.len;
    }
    if next != extent {
        return None;
    }
    let inner: Vec<&str> = blocks.iter().map(|b| b.inner.as_str()).collect();
    Some(ctx.node("Concat", &inner, vec![a_int("axis", axis as i64)]))
}

/// Seeds the logits with `seed` and runs the rules of the differentiated nodes in reverse
/// topological order, then emits the graph's outputs.
pub(super) fn reverse_sweep(
    spec: &GradientSpec,
    fwd: Forward,
    activity: Activity,
    names: Names,
) -> Result<Backward, GraphError> {
    let Forward {
        model,
        graph,
        image,
        nodes,
        shapes,
        consts,
        ..
    } = fwd;
    let Activity {
        layers_only,
        active,
        dtypes,
        on_path,
    } = activity;
    let Names {
        logits,
        layers,
        requested,
        taken,
    } = names;
    let logits_shape = shapes
        .get(&logits)
        .cloned()
        .ok_or_else(|| GraphError::MissingShape(logits.clone()))?;
    let classes: i64 = logits_shape.iter().skip(1).product();
    let batch_axis = batch_axes(&nodes, &active, &image.name, &shapes, &consts);
    let mut ctx = Ctx::new(spec.rule, image.dtype, shapes, consts, active, taken, nodes);
    ctx.batch_axis = batch_axis;
    ctx.prefix = "seed".into();
    let seed_at_logits = if logits_shape.len() == 2 {
        "seed".to_string()
    } else {
        ctx.reshape_like("seed", &logits)
    };
    let mut grads = Gradients::default();
    grads.contribs.insert(logits.clone(), vec![seed_at_logits]);
    let exported: HashSet<String> = layers.iter().chain([&logits]).cloned().collect();
    let fused = fused::find(&ctx.forward, ctx.consts(), &exported);
    for idx in (0..ctx.forward.len()).rev() {
        if !on_path[idx] {
            continue;
        }
        let n = ctx.forward[idx].clone();
        let gy: Vec<Option<String>> = n.output.iter().map(|o| grads.total(&mut ctx, o)).collect();
        if gy.iter().all(Option::is_none) {
            continue;
        }
        ctx.prefix = ir::node_label(&n);
        ctx.current = idx;
        if let Some(dt) = n.input.iter().find_map(|i| dtypes.get(i)) {
            ctx.dtype = *dt;
        }
        if let (Some(f), Some(g)) = (fused.get(&idx), &gy[0]) {
            for (x, gx) in f.backward(&mut ctx, g)? {
                grads.contribs.entry(x).or_default().push(gx);
            }
            continue;
        }
        let rule = rules::lookup(op(&n)).ok_or_else(|| GraphError::NoGradientRule {
            op_type: op(&n).to_string(),
            node_name: ir::node_label(&n),
            supported: rules::supported_ops(),
        })?;
        let gx = rule(&mut ctx, &n, &gy)?;
        for (i, gi) in gx.into_iter().enumerate() {
            if let Some(gi) = gi
                && let Some(x) = n.input.get(i)
                && ctx.needs_grad(x)
            {
                grads.contribs.entry(x.clone()).or_default().push(gi);
            }
        }
    }
    ctx.dtype = image.dtype;

    let exports = Exports {
        image: &image,
        logits: &logits,
        logits_rank: logits_shape.len(),
        layers: &layers,
        requested: &requested,
        layers_only,
    };
    let outputs = export_outputs(&mut ctx, &mut grads, &exports);
    Ok(Backward {
        ctx,
        outputs,
        model,
        graph,
        image,
        logits,
        layers,
        classes,
    })
}

/// What the gradient graph exports.
struct Exports<'a> {
    image: &'a Image,
    logits: &'a str,
    logits_rank: usize,
    layers: &'a [String],
    requested: &'a [String],
    layers_only: bool,
}

/// `logits` (flattened to `[N, K]`), `grad_input` unless the sweep stopped at the layers, and
/// each layer `T` with `grad_T`.
fn export_outputs(ctx: &mut Ctx, grads: &mut Gradients, e: &Exports) -> Vec<ValueInfoProto> {
    ctx.prefix = "outputs".into();
    let mut outputs: Vec<ValueInfoProto> = Vec::new();
    let typed = |name: &str| ir::value_info(name, e.image.dtype, None, "N");
    if e.logits != "logits" {
        if e.logits_rank == 2 {
            ctx.node_named("Identity", &[e.logits], "logits", vec![]);
        } else {
            ctx.node_named("Flatten", &[e.logits], "logits", vec![a_int("axis", 1)]);
        }
    }
    outputs.push(typed("logits"));
    if !e.layers_only {
        let gin = grads.total_or_zeros(ctx, &e.image.name);
        ctx.node_named("Identity", &[&gin], "grad_input", vec![]);
        outputs.push(typed("grad_input"));
    }
    for (l, orig) in e.layers.iter().zip(e.requested) {
        if l != "logits" {
            outputs.push(typed(l));
        }
        let gl = grads.total_or_zeros(ctx, l);
        let name = format!("grad_{orig}");
        ctx.node_named("Identity", &[&gl], &name, vec![]);
        outputs.push(typed(&name));
    }
    outputs
}
