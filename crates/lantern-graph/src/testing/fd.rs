//! The finite-difference gradient check shared by every rule's tests: [`check_op`] for one-op
//! models, [`fd_check`] for any model and intermediate tensors.

use super::{model, probe, run, session, uniform};
use crate::ir::{self, make_node};
use crate::proto::{ModelProto, NodeProto, TensorProto};
use crate::{GradientSpec, ReluRule, TensorShapes, build_gradient_graph};
use lantern_core::SplitMix64;
use ndarray::{ArrayD, Axis, IxDyn};
use ort::session::Session;
use std::collections::HashMap;

/// Options of a finite-difference check.
#[derive(Debug, Clone)]
pub struct Fd {
    /// Step. Inputs of piecewise-linear ops are kept further than 2h from every kink.
    pub h: f64,
    /// 5-point stencil (error O(h⁴)) instead of central differences (O(h²)).
    pub five_point: bool,
    /// Pass: max |analytic − fd| ≤ tol · max |analytic| over the whole gradient tensor.
    ///
    /// Default 2e-4, from the error budget of the 5-point stencil in f32: the forward is
    /// exact to a few ulps of |f| (ε = 6e-8, |f| ≲ 10 here, so ≲ 1e-6 per evaluation); the
    /// stencil weights (8 + 1)/12 per side over h = 1e-2 amplify that to ≲ 1.5e-4 in the
    /// derivative, while its truncation error O(h⁴·f⁽⁵⁾) ≈ 1e-8 is negligible (and zero for
    /// piecewise-linear ops whose kinks stay > 2h away). Observed: ≤ 5e-5 on every rule.
    pub tol: f64,
    /// At most this many coordinates per tensor (half the largest |gradient|, half random).
    pub max_coords: usize,
    /// The upstream gradient: one-hot at the top-1 class, else seeded uniform weights.
    pub one_hot_top1: bool,
    pub seed: u64,
    pub rule: ReluRule,
    pub through_softmax: bool,
    /// The test model's batch is fixed at 1 (finite differences run one input at a time).
    pub fixed_batch: bool,
    /// Whole networks: skip coordinates whose one-sided slopes to the stencil points (±h, and
    /// ±2h with the 5-point stencil) disagree by more than `kink_tol` — a ReLU/MaxPool kink or a
    /// MaxPool tie within reach, where central differences average two slopes — and require at
    /// least `min_clean` of the coordinates to be clean.
    pub skip_kinks: bool,
    pub kink_tol: f64,
    pub min_clean: f64,
    /// Check the derivative along the tensor itself (`d/dt f(t·x)` at t = 1, step h): for a
    /// positively homogeneous network this is Euler's identity ⟨∇f(x), x⟩ = f(x), and scaling
    /// never crosses a ReLU kink or changes a MaxPool winner.
    pub ray: bool,
}

impl Default for Fd {
    fn default() -> Self {
        Fd {
            h: 1e-2,
            five_point: true,
            tol: 2e-4,
            max_coords: 400,
            one_hot_top1: false,
            seed: 7,
            rule: ReluRule::Plain,
            through_softmax: false,
            fixed_batch: false,
            skip_kinks: false,
            kink_tol: 1e-3,
            min_clean: 1.0,
            ray: false,
        }
    }
}

/// One checked tensor.
#[derive(Debug, Clone)]
pub struct FdResult {
    pub tensor: String,
    pub coords: usize,
    /// Coordinates skipped as kinks (see [`Fd::skip_kinks`]).
    pub skipped: usize,
    pub max_abs_err: f64,
    pub scale: f64,
}

impl FdResult {
    pub fn rel(&self) -> f64 {
        self.max_abs_err / self.scale.max(1e-30)
    }
}

/// A model with `delta/T` inputs added to each tensor T (T = T_pre + delta), so finite
/// differences can perturb an intermediate tensor.
pub fn inject_deltas(
    m: &ModelProto,
    layers: &[&str],
    shapes: &TensorShapes,
) -> (ModelProto, TensorShapes) {
    let mut m = m.clone();
    let mut shapes = shapes.clone();
    let g = m.graph.as_mut().expect("graph");
    let float = crate::proto::tensor_proto::DataType::Float as i32;
    for &t in layers {
        let pre = format!("{t}/fd_pre");
        let delta = format!("delta/{t}");
        let pos = g
            .node
            .iter()
            .position(|n| n.output.iter().any(|o| o == t))
            .expect("producer");
        for o in g.node[pos].output.iter_mut() {
            if o == t {
                *o = pre.clone();
            }
        }
        g.node.insert(
            pos + 1,
            make_node("Add", &[&pre, &delta], &[t], &format!("fd_add/{t}"), vec![]),
        );
        let s = shapes.0[t].clone();
        let dims: Vec<Option<i64>> = s
            .iter()
            .enumerate()
            .map(|(i, &d)| (i > 0).then_some(d))
            .collect();
        let dims = if ir::image_input(g)
            .and_then(ir::value_info_tensor)
            .and_then(|(_, d)| d)
            .and_then(|d| d.first().copied())
            .flatten()
            .is_some()
        {
            s.iter().map(|&d| Some(d)).collect()
        } else {
            dims
        };
        g.input
            .push(ir::value_info(&delta, float, Some(&dims), "N"));
        shapes.0.insert(pre, s.clone());
        shapes.0.insert(delta, s);
    }
    (m, shapes)
}

fn sample_coords(grad: &ArrayD<f32>, max: usize, seed: u64) -> Vec<usize> {
    let n = grad.len();
    if n <= max {
        return (0..n).collect();
    }
    let flat: Vec<f32> = grad.iter().copied().collect();
    let mut by_mag: Vec<usize> = (0..n).collect();
    by_mag.sort_by(|&a, &b| flat[b].abs().total_cmp(&flat[a].abs()));
    let mut out: Vec<usize> = by_mag[..max / 2].to_vec();
    let mut r = SplitMix64::new(seed);
    while out.len() < max {
        let c = r.below_scaled(n);
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Builds the gradient graph of `m` (input `x`, extra layers), and compares `grad_input` and
/// every `grad_T` with finite differences of f = Σ seed · logits, computed by running the
/// same graph's `logits` output on perturbed inputs (batched when the batch is dynamic).
pub fn fd_check(m: &ModelProto, x: &ArrayD<f32>, layers: &[&str], o: &Fd) -> Vec<FdResult> {
    let mut run = FdRun::new(m, x, layers, o);
    if run.batched {
        run.check_batch_of_three();
    }
    // which = None: the input; Some(i): delta i.
    let targets: Vec<(String, Option<usize>)> = std::iter::once(("grad_input".to_string(), None))
        .chain(
            layers
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("grad_{t}"), Some(i))),
        )
        .collect();
    targets
        .into_iter()
        .map(|(gname, which)| run.check_tensor(gname, which))
        .collect()
}

/// Feeds of the gradient graph: the image, the seed and every delta.
fn feeds(
    x: &ArrayD<f32>,
    d: &[(String, ArrayD<f32>)],
    seed: &ArrayD<f32>,
) -> Vec<(String, ArrayD<f32>)> {
    let mut v: Vec<(String, ArrayD<f32>)> =
        vec![("input".into(), x.clone()), ("seed".into(), seed.clone())];
    v.extend(d.iter().cloned());
    v
}

fn run_feeds(s: &mut Session, f: &[(String, ArrayD<f32>)]) -> HashMap<String, ArrayD<f32>> {
    let refs: Vec<(&str, &ArrayD<f32>)> = f.iter().map(|(n, a)| (n.as_str(), a)).collect();
    run(s, &refs)
}

/// `a` repeated `b` times along the batch axis.
fn repeat(a: &ArrayD<f32>, b: usize) -> ArrayD<f32> {
    let v: Vec<_> = (0..b).map(|_| a.view()).collect();
    ndarray::concatenate(Axis(0), &v).expect("repeat")
}

/// One finite-difference check: the gradient graph, its logits-only copy, the seed and the
/// gradients at x.
struct FdRun<'a> {
    x: &'a ArrayD<f32>,
    layers: &'a [&'a str],
    o: &'a Fd,
    /// The gradient graph's session.
    grad: Session,
    /// Finite differences only need the logits: a pruned copy skips the backward pass.
    fwd: Session,
    /// Zero deltas, one per layer.
    deltas: Vec<(String, ArrayD<f32>)>,
    /// The seed (upstream gradient of the logits).
    w: ArrayD<f32>,
    /// Every output of the gradient graph at x.
    out: HashMap<String, ArrayD<f32>>,
    /// The batch is dynamic: stencil points run as one batch.
    batched: bool,
    /// (offset in steps of h, weight) of the stencil.
    steps: Vec<(f64, f64)>,
}

impl<'a> FdRun<'a> {
    fn new(m: &ModelProto, x: &'a ArrayD<f32>, layers: &'a [&'a str], o: &'a Fd) -> FdRun<'a> {
        let (input_name, dims, _) = crate::graph_io(m).expect("graph io");
        let base_shapes = probe(m, &[(&input_name, x)]);
        let (mm, shapes) = inject_deltas(m, layers, &base_shapes);
        let spec = GradientSpec {
            layers: layers.iter().map(|s| s.to_string()).collect(),
            rule: o.rule,
            logits: None,
            through_softmax: o.through_softmax,
            layers_only: false,
        };
        let g = build_gradient_graph(&mm, &shapes, &spec)
            .unwrap_or_else(|e| panic!("gradient graph: {e}"));
        let mut grad = session(&g);
        let fwd = session(&logits_only(&g));
        let deltas: Vec<(String, ArrayD<f32>)> = layers
            .iter()
            .map(|t| {
                let sh: Vec<usize> = base_shapes.0[*t].iter().map(|&d| d as usize).collect();
                (format!("delta/{t}"), ArrayD::zeros(IxDyn(&sh)))
            })
            .collect();
        // Logits width from the seed input; a first run with a zero seed gives the logits.
        let k = g
            .graph
            .as_ref()
            .and_then(|gr| gr.input.iter().find(|i| i.name.as_deref() == Some("seed")))
            .and_then(ir::value_info_tensor)
            .and_then(|(_, d)| d)
            .and_then(|d| d.get(1).copied().flatten())
            .expect("seed width");
        let logits_shape = vec![1usize, k as usize];
        let zero_seed = ArrayD::zeros(IxDyn(&logits_shape));
        let first = run_feeds(&mut grad, &feeds(x, &deltas, &zero_seed));
        let w: ArrayD<f32> = if o.one_hot_top1 {
            let flat: Vec<f32> = first["logits"].iter().copied().collect();
            let top = (0..flat.len()).fold(0, |b, i| if flat[i] > flat[b] { i } else { b });
            let mut w = ArrayD::zeros(IxDyn(&logits_shape));
            w.as_slice_mut().expect("contiguous")[top] = 1.0;
            w
        } else {
            uniform(&logits_shape, -1.0, 1.0, o.seed ^ 0xA5A5)
        };
        let out = run_feeds(&mut grad, &feeds(x, &deltas, &w));
        let steps = if o.five_point {
            vec![
                (2.0, -1.0 / 12.0),
                (1.0, 8.0 / 12.0),
                (-1.0, -8.0 / 12.0),
                (-2.0, 1.0 / 12.0),
            ]
        } else {
            vec![(1.0, 0.5), (-1.0, -0.5)]
        };
        FdRun {
            x,
            layers,
            o,
            grad,
            fwd,
            deltas,
            w,
            out,
            batched: dims.first().copied().flatten().is_none(),
            steps,
        }
    }

    /// The same graph at batch 3 (x, 2x, x) must give the batch-1 gradients in rows 0 and 2.
    fn check_batch_of_three(&mut self) {
        let x = self.x;
        let x2 = x.mapv(|v| 2.0 * v);
        let xs = ndarray::concatenate(Axis(0), &[x.view(), x2.view(), x.view()]).expect("batch");
        let ds: Vec<(String, ArrayD<f32>)> = self
            .deltas
            .iter()
            .map(|(n, d)| (n.clone(), repeat(d, 3)))
            .collect();
        let ws = repeat(&self.w, 3);
        let b3 = run_feeds(&mut self.grad, &feeds(&xs, &ds, &ws));
        for (name, one) in &self.out {
            if !name.starts_with("grad_") {
                continue;
            }
            let three = &b3[name];
            for row in [0, 2] {
                let r = three.index_axis(Axis(0), row);
                let diff = r
                    .iter()
                    .zip(one.iter())
                    .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
                let scale = one.iter().fold(0f32, |m, v| m.max(v.abs()));
                assert!(
                    diff <= 1e-5 * scale.max(1e-6),
                    "{name}: row {row} of a batch of 3 differs from batch 1 by {diff}"
                );
            }
        }
    }

    /// f = Σ seed · logits for row `row` of a logits batch.
    fn f_of(&self, l: &ArrayD<f32>, row: usize) -> f64 {
        let k = self.w.len();
        let flat = l.as_slice().expect("contiguous");
        let w = self.w.as_slice().expect("w");
        (0..k).map(|j| flat[row * k + j] as f64 * w[j] as f64).sum()
    }

    /// Compares the gradient `gname` of the input (`which` None) or of delta `which` with
    /// finite differences.
    fn check_tensor(&mut self, gname: String, which: Option<usize>) -> FdResult {
        let o = self.o;
        let grad = self
            .out
            .get(&gname)
            .unwrap_or_else(|| panic!("no output {gname}"))
            .clone();
        let base: ArrayD<f32> = match which {
            None => self.x.clone(),
            Some(i) => self.deltas[i].1.clone(),
        };
        // What is perturbed: coordinates (index, unit step) or whole-tensor directions.
        let probe = Perturbation::new(self, &grad, base, which);
        let fvals = if self.batched {
            self.stencil_batched(&probe, which)
        } else {
            self.stencil_one_by_one(&probe, which)
        };
        let f0 = self.f_of(&self.out["logits"], 0);
        if o.ray {
            eprintln!(
                "{gname}: f(x) = {f0:.6e}, <grad, x> = {:.6e}",
                probe.analytic[0]
            );
        }
        self.compare(gname, &probe, &fvals, f0)
    }

    /// f at every stencil point of every coordinate, in one batch.
    fn stencil_batched(&mut self, p: &Perturbation, which: Option<usize>) -> Vec<Vec<f64>> {
        let mut batch = Vec::new();
        for &c in &p.coords {
            for &(k, _) in &self.steps {
                batch.push(p.perturbed(c, k));
            }
        }
        let views: Vec<_> = batch.iter().map(|a| a.view()).collect();
        let stacked = ndarray::concatenate(Axis(0), &views).expect("stack");
        let b = stacked.shape()[0];
        let xs = if which.is_none() {
            stacked.clone()
        } else {
            repeat(self.x, b)
        };
        let ds: Vec<(String, ArrayD<f32>)> = self
            .deltas
            .iter()
            .enumerate()
            .map(|(i, (n, d))| {
                let d = if which == Some(i) {
                    stacked.clone()
                } else {
                    repeat(d, b)
                };
                (n.clone(), d)
            })
            .collect();
        let seeds = repeat(&self.w, b);
        let r = run_feeds(&mut self.fwd, &feeds(&xs, &ds, &seeds));
        let l = &r["logits"];
        (0..p.coords.len())
            .map(|ci| {
                (0..self.steps.len())
                    .map(|si| self.f_of(l, ci * self.steps.len() + si))
                    .collect()
            })
            .collect()
    }

    /// f at every stencil point of every coordinate, one run each (fixed batch 1).
    fn stencil_one_by_one(&mut self, p: &Perturbation, which: Option<usize>) -> Vec<Vec<f64>> {
        let mut fvals = vec![vec![0f64; self.steps.len()]; p.coords.len()];
        for (ci, &c) in p.coords.iter().enumerate() {
            for si in 0..self.steps.len() {
                let pt = p.perturbed(c, self.steps[si].0);
                let (xs, ds): (ArrayD<f32>, Vec<(String, ArrayD<f32>)>) = match which {
                    None => (pt, self.deltas.clone()),
                    Some(i) => {
                        let mut d = self.deltas.clone();
                        d[i].1 = pt;
                        (self.x.clone(), d)
                    }
                };
                let r = run_feeds(&mut self.fwd, &feeds(&xs, &ds, &self.w));
                fvals[ci][si] = self.f_of(&r["logits"], 0);
            }
        }
        fvals
    }

    /// The stencil's derivative against the analytic one per coordinate, kinks skipped.
    fn compare(&self, gname: String, p: &Perturbation, fvals: &[Vec<f64>], f0: f64) -> FdResult {
        let (o, h, steps) = (self.o, p.h, &self.steps);
        let mut max_err = 0f64;
        let mut shown = 0;
        let mut skipped = 0;
        for (ci, &c) in p.coords.iter().enumerate() {
            let fv = &fvals[ci];
            if o.skip_kinks {
                // One-sided slopes from x to every stencil point.
                let slopes: Vec<f64> = fv
                    .iter()
                    .zip(steps)
                    .map(|(v, (k, _))| (v - f0) / (k * h))
                    .collect();
                let lo = slopes.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = slopes.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if hi - lo > o.kink_tol * p.scale {
                    skipped += 1;
                    continue;
                }
            }
            let f = fv
                .iter()
                .zip(steps)
                .map(|(v, (_, wgt))| v * wgt)
                .sum::<f64>()
                / h;
            let err = (p.analytic[ci] - f).abs();
            if err > max_err {
                max_err = err;
            }
            if err > o.tol * p.scale && shown < 8 {
                shown += 1;
                eprintln!(
                    "  {gname}[{c}]: analytic {} vs fd {f} (err {err:.3e}, scale {:.3e})",
                    p.analytic[ci], p.scale
                );
            }
        }
        let clean = (p.coords.len() - skipped) as f64 / p.coords.len() as f64;
        assert!(
            clean >= o.min_clean && skipped < p.coords.len(),
            "{gname}: only {:.0} % of {} coordinates are free of kinks within 2h",
            100.0 * clean,
            p.coords.len()
        );
        FdResult {
            tensor: gname,
            coords: p.coords.len(),
            skipped,
            max_abs_err: max_err,
            scale: p.scale,
        }
    }
}

/// What one tensor's check perturbs: sampled coordinates (unit steps) or, with [`Fd::ray`],
/// the direction of the tensor itself; the analytic derivatives along them.
struct Perturbation {
    base: ArrayD<f32>,
    coords: Vec<usize>,
    dirs: Vec<ArrayD<f32>>,
    h: f64,
    analytic: Vec<f64>,
    scale: f64,
}

impl Perturbation {
    fn new(
        run: &FdRun,
        grad: &ArrayD<f32>,
        base: ArrayD<f32>,
        which: Option<usize>,
    ) -> Perturbation {
        let o = run.o;
        let values = match which {
            None => run.x.clone(),
            Some(i) => run.out[run.layers[i]].clone(),
        };
        let (coords, dirs) = if o.ray {
            (vec![0], vec![values])
        } else {
            (sample_coords(grad, o.max_coords, o.seed), Vec::new())
        };
        let analytic: Vec<f64> = if dirs.is_empty() {
            let flat = grad.as_slice().expect("contiguous");
            coords.iter().map(|&c| flat[c] as f64).collect()
        } else {
            dirs.iter()
                .map(|v| {
                    v.iter()
                        .zip(grad.iter())
                        .map(|(a, b)| *a as f64 * *b as f64)
                        .sum()
                })
                .collect()
        };
        let scale = if dirs.is_empty() {
            grad.iter().fold(0f64, |m, v| m.max(v.abs() as f64))
        } else {
            analytic.iter().fold(0f64, |m, v| m.max(v.abs()))
        };
        Perturbation {
            base,
            coords,
            dirs,
            h: o.h,
            analytic,
            scale,
        }
    }

    /// The base moved by `k·h` at coordinate `c` (or along direction `c`).
    fn perturbed(&self, c: usize, k: f64) -> ArrayD<f32> {
        if self.dirs.is_empty() {
            let mut p = self.base.clone();
            let v = &mut p.as_slice_mut().expect("contiguous")[c];
            *v = (*v as f64 + k * self.h) as f32;
            p
        } else {
            &self.base + &self.dirs[c].mapv(|v| (v as f64 * k * self.h) as f32)
        }
    }
}

/// Asserts every result is within `o.tol` (relative to the gradient's max magnitude) and that
/// the gradient is not identically zero; prints the numbers.
pub fn assert_fd(what: &str, results: &[FdResult], tol: f64) {
    for r in results {
        eprintln!(
            "{what}: {} over {} coords ({} skipped as kinks): max |err| {:.3e}, max |grad| {:.3e}, rel {:.3e}",
            r.tensor,
            r.coords,
            r.skipped,
            r.max_abs_err,
            r.scale,
            r.rel()
        );
    }
    for r in results {
        assert!(r.scale > 0.0, "{what}: {} is identically zero", r.tensor);
        assert!(
            r.rel() <= tol,
            "{what}: {} rel err {:.3e} > {tol:.1e}",
            r.tensor,
            r.rel()
        );
    }
}

/// One-op model `y = op(x, extra inputs…)` with input x of `shape` (dim 0 dynamic) and a
/// finite-difference check of the input gradient.
pub fn check_op(
    what: &str,
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    x: &ArrayD<f32>,
    opset: i64,
    o: &Fd,
) -> Vec<FdResult> {
    let mut dims: Vec<i64> = x.shape().iter().map(|&d| d as i64).collect();
    if !o.fixed_batch {
        dims[0] = -1;
    }
    let out = nodes
        .last()
        .and_then(|n| n.output.first())
        .cloned()
        .expect("output");
    let m = model(nodes, inits, &[("x", &dims)], &[&out], opset);
    let r = fd_check(&m, x, &[], o);
    assert_fd(what, &r, o.tol);
    r
}

/// `grad_input` of `m` (single input) at x for the given seed and rule.
pub fn grad_of(m: &ModelProto, x: &ArrayD<f32>, seed: &ArrayD<f32>, rule: ReluRule) -> ArrayD<f32> {
    let (input, _, _) = crate::graph_io(m).expect("io");
    let shapes = probe(m, &[(&input, x)]);
    let spec = GradientSpec {
        rule,
        ..GradientSpec::default()
    };
    let g =
        build_gradient_graph(m, &shapes, &spec).unwrap_or_else(|e| panic!("gradient graph: {e}"));
    let mut s = session(&g);
    run(&mut s, &[("input", x), ("seed", seed)])["grad_input"].clone()
}

/// A copy of a gradient graph that only computes `logits` (inputs unchanged).
pub fn logits_only(g: &ModelProto) -> ModelProto {
    let mut m = g.clone();
    let gr = m.graph.as_mut().expect("graph");
    let (keep, seen) = ir::needed_nodes(&gr.node, ["logits".to_string()]);
    let nodes = std::mem::take(&mut gr.node);
    gr.node = nodes
        .into_iter()
        .zip(keep)
        .filter_map(|(n, k)| k.then_some(n))
        .collect();
    gr.output.retain(|o| o.name.as_deref() == Some("logits"));
    gr.initializer
        .retain(|t| t.name.as_ref().is_some_and(|n| seen.contains(n)));
    m
}
