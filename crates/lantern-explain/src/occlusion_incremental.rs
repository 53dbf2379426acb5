//! Incremental occlusion, the engine of the `occlusion` method ([`crate::occlusion_method`]):
//! the same maps as [`Occlusion`] (Captum's convention, same parameters), without re-running
//! the whole network for every window (or Krypton's approximation of them, with
//! [`PlanOptions::tau`] below 1).
//!
//! An occluder changes only the activations inside its projective field, layer by layer.
//! `lantern-graph`'s [`plan_incremental`] splits the graph before its global pooling into
//! segments and knows, per window, which box of every segment's output can change. Per image
//! the clean activations are computed once; then, a chunk of windows at a time, each segment
//! runs on crops — the exact receptive field of the box, cut from the window's version of its
//! inputs (the clean activation with the window's box pasted over it) and padded with the op's
//! own padding value where it reaches past the map — with windows whose boxes have the same
//! size batched together. Each window leaves at a cut tensor `T` (every path passes through
//! it): the suffix `T → logits` runs in full on the clean `T` with the window's box pasted in.
//! Border windows, whose fields stay small, go deeper than central ones. Every value is
//! computed by the same ops from the same inputs as in full re-inference, so maps agree with
//! [`Occlusion`] to float rounding.
//!
//! The plan is priced per model and window size; where nothing pays off (the occluder's field
//! covers the maps early, or an op without a receptive-field rule comes first — NHWC inputs,
//! Transpose, Resize, …) the engine runs full re-inference like [`Occlusion`] and says so in
//! [`IncrementalOcclusion::plan_note`].

use crate::error::{ExplainError, Result};
use crate::method::Context;
use crate::occlusion::Occlusion;
use lantern_graph::surgery::{
    Exit, IncrementalGraph, PlanOptions, Rect, Segment, SegmentInput, Source, plan_incremental,
};
use lantern_runtime::{GraphSession, Layout, Model, Output, RuntimeError};
use ndarray::{Array2, Array3, ArrayView3, Axis, Ix4};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Plans and runs incremental inference of occluded copies.
pub struct IncrementalOcclusion {
    /// Window, stride, baseline and score, exactly as [`Occlusion`].
    pub occlusion: Occlusion,
    pub options: PlanOptions,
    plans: Mutex<HashMap<String, Arc<Prepared>>>,
}

/// A plan with its sessions, built once per (model, image size, window, stride).
pub struct Prepared {
    /// What the planner chose, in one sentence.
    pub note: String,
    /// Estimated cost per window over full re-inference (1 when it falls back).
    pub estimated_fraction: f64,
    runner: Option<Runner>,
}

impl Prepared {
    /// A plan that runs full re-inference, for the reason `note`.
    fn full_reinference(note: &str) -> Prepared {
        Prepared {
            note: note.into(),
            estimated_fraction: 1.0,
            runner: None,
        }
    }

    /// Whether the plan runs incrementally (else it is full re-inference).
    pub fn incremental(&self) -> bool {
        self.runner.is_some()
    }
}

struct Runner {
    graph: IncrementalGraph,
    clean: GraphSession,
    segments: Vec<GraphSession>,
    exits: Vec<GraphSession>,
}

impl IncrementalOcclusion {
    pub fn new(occlusion: Occlusion) -> IncrementalOcclusion {
        IncrementalOcclusion {
            occlusion,
            options: PlanOptions::default(),
            plans: Mutex::new(HashMap::new()),
        }
    }

    /// The plan for `model` at its input size (built and cached on first use).
    pub fn prepare(&self, model: &Model) -> Result<Arc<Prepared>> {
        let (height, width) = (model.input.height, model.input.width);
        let o = &self.occlusion;
        let key = format!(
            "{}:{height}x{width}:{:?}:{:?}:{:?}",
            model.hash, o.window, o.stride, self.options
        );
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = plans.get(&key) {
            return Ok(p.clone());
        }
        let prepared = Arc::new(self.build(model, height, width)?);
        plans.insert(key, prepared.clone());
        Ok(prepared)
    }

    /// What the plan for `model` does, in one sentence.
    pub fn plan_note(&self, model: &Model) -> Result<String> {
        Ok(self.prepare(model)?.note.clone())
    }

    fn build(&self, model: &Model, height: usize, width: usize) -> Result<Prepared> {
        let fallback = |note: String| Prepared::full_reinference(&note);
        if model.input.layout != Layout::Nchw {
            return Ok(fallback(
                "full re-inference: the model takes NHWC images (no receptive-field rule for the layout change)".into(),
            ));
        }
        let windows: Vec<Rect> = self
            .occlusion
            .windows(height, width)
            .into_iter()
            .map(|(t, l, b, r)| Rect::new(t as i64, l as i64, b as i64, r as i64))
            .collect();
        let shapes = model.shapes()?;
        let plan = plan_incremental(&model.proto, shapes, &windows, &self.options)
            .map_err(RuntimeError::from)?;
        let Some(graph) = plan.graph else {
            return Ok(fallback(plan.note));
        };
        let label = |what: &str| format!("{} ({what} of incremental occlusion)", model.label());
        let runtime = model.runtime;
        let clean = GraphSession::new(runtime, &graph.clean, &label("clean prefix"))?;
        let segments = graph
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| GraphSession::new(runtime, &s.model, &label(&format!("segment {i}"))))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let exits = graph
            .exits
            .iter()
            .map(|e| {
                GraphSession::new(
                    runtime,
                    &e.suffix,
                    &label(&format!("suffix from {}", e.tensor)),
                )
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Prepared {
            note: plan.note,
            estimated_fraction: plan.estimated_fraction,
            runner: Some(Runner {
                graph,
                clean,
                segments,
                exits,
            }),
        })
    }

    /// The logits of every occluded copy `[windows, K]`, in [`Occlusion::windows`] order.
    pub fn window_logits(
        &self,
        ctx: &Context,
        image: ArrayView3<f32>,
    ) -> Result<(Array2<f32>, Arc<Prepared>)> {
        let pass = self.image_pass(ctx, image)?;
        let logits = pass.logits_of(&self.occlusion.window_ids(image))?;
        Ok((logits, pass.prepared))
    }

    /// One image's pass: its plan and, when the plan is incremental, its clean activations,
    /// computed here once for every set of windows run on it (drill-down runs two).
    pub fn image_pass<'a, 'c>(
        &'a self,
        ctx: &'a Context<'c>,
        image: ArrayView3<'a, f32>,
    ) -> Result<ImagePass<'a, 'c>> {
        let (c, h, w) = image.dim();
        let spec = ctx.model.input;
        let prepared = if (c, h, w) == (spec.channels, spec.height, spec.width) {
            self.prepare(ctx.model)?
        } else {
            // Not the model's input size: full re-inference reports the mismatch.
            Arc::new(Prepared::full_reinference(
                "full re-inference: the image is not the model's input size",
            ))
        };
        let clean = match &prepared.runner {
            Some(runner) => Some(runner.clean(image)?),
            None => None,
        };
        Ok(ImagePass {
            occlusion: &self.occlusion,
            ctx,
            image,
            prepared,
            clean,
        })
    }

    /// A pass over `image` that always runs full re-inference (`incremental = "off"`).
    pub fn full_reinference_pass<'a, 'c>(
        &'a self,
        ctx: &'a Context<'c>,
        image: ArrayView3<'a, f32>,
    ) -> ImagePass<'a, 'c> {
        ImagePass {
            occlusion: &self.occlusion,
            ctx,
            image,
            prepared: Arc::new(Prepared::full_reinference("full re-inference")),
            clean: None,
        }
    }
}

/// One image's occluded copies, run set by set (see [`IncrementalOcclusion::image_pass`]).
pub struct ImagePass<'a, 'c> {
    occlusion: &'a Occlusion,
    ctx: &'a Context<'c>,
    image: ArrayView3<'a, f32>,
    /// The plan this pass runs (full re-inference when it has no runner).
    pub prepared: Arc<Prepared>,
    /// The image's clean activations, when the plan is incremental.
    clean: Option<Clean>,
}

impl ImagePass<'_, '_> {
    /// The logits of the occluded copies `ids` (indices into [`Occlusion::windows`]) as rows of
    /// a `[windows, K]` array whose other rows are zero.
    pub fn logits_of(&self, ids: &[usize]) -> Result<Array2<f32>> {
        let (Some(runner), Some(clean)) = (&self.prepared.runner, &self.clean) else {
            return self.occlusion.window_logits_of(self.ctx, self.image, ids);
        };
        let (_, h, w) = self.image.dim();
        // A static-batch model that could not be made batch-symbolic: one window per call.
        let batch = if self.ctx.model.batch_mode.one_by_one() {
            1
        } else {
            self.ctx
                .batch_size
                .max(1)
                .min(self.occlusion.windows(h, w).len())
        };
        runner.run(clean, self.occlusion.baseline, batch, ids)
    }
}

/// An image (standard layout) and its clean activations by tensor name (`[C, H, W]`).
struct Clean {
    image: Array3<f32>,
    activations: HashMap<String, Array3<f32>>,
}

fn failed(message: String) -> ExplainError {
    ExplainError::Failed {
        method: "occlusion".into(),
        message,
    }
}

/// One window's version of a tensor: the clean activation with a box replaced.
#[derive(Clone, Copy)]
enum Patch<'a> {
    /// The occluded image: `value` inside `rect`.
    Fill { rect: Rect, value: f32 },
    /// A computed box: `data` is `[C, rect.height, rect.width]`, C order.
    Values { rect: Rect, data: &'a [f32] },
}

/// Fills `dst` (`[C, crop.height, crop.width]`, C order) with a window's version of a tensor
/// over `crop` (the tensor's coordinates, possibly reaching past it): `pad` outside the
/// tensor, the patch inside its rectangle, the clean tensor (`[C, H, W]`, C order) elsewhere.
fn fill_crop(dst: &mut [f32], crop: Rect, clean: &[f32], dims: [usize; 3], patch: Patch, pad: f32) {
    let [channels, height, width] = dims;
    let (height, width) = (height as i64, width as i64);
    let rect = match patch {
        Patch::Fill { rect, .. } | Patch::Values { rect, .. } => rect,
    };
    let (ch_h, cw) = (crop.height() as usize, crop.width() as usize);
    // Column ranges, in crop coordinates: inside the tensor, and inside the patch.
    let (a, b) = (
        (crop.cols.start.max(0) - crop.cols.start).clamp(0, cw as i64) as usize,
        (crop.cols.end.min(width) - crop.cols.start).clamp(0, cw as i64) as usize,
    );
    let (pa, pb) = (
        (crop.cols.start.max(rect.cols.start).max(0) - crop.cols.start).clamp(0, cw as i64)
            as usize,
        (crop.cols.end.min(rect.cols.end).min(width) - crop.cols.start).clamp(0, cw as i64)
            as usize,
    );
    let x0 = crop.cols.start + a as i64;
    let (rh, rw) = (rect.height() as usize, rect.width() as usize);
    for c in 0..channels {
        for y in 0..ch_h {
            let row = &mut dst[(c * ch_h + y) * cw..][..cw];
            let ty = crop.rows.start + y as i64;
            if ty < 0 || ty >= height || a >= b {
                row.fill(pad);
                continue;
            }
            row[..a].fill(pad);
            row[b..].fill(pad);
            let src = (c * height as usize + ty as usize) * width as usize + x0 as usize;
            let clean_row = &clean[src..src + (b - a)];
            if ty < rect.rows.start || ty >= rect.rows.end || pa >= pb {
                row[a..b].copy_from_slice(clean_row);
                continue;
            }
            // Clean left of the patch, the patch, clean right of it: each element written once.
            row[a..pa].copy_from_slice(&clean_row[..pa - a]);
            row[pb..b].copy_from_slice(&clean_row[pb - a..]);
            match patch {
                Patch::Fill { value, .. } => row[pa..pb].fill(value),
                Patch::Values { data, .. } => {
                    let py = (ty - rect.rows.start) as usize;
                    let px = (crop.cols.start + pa as i64 - rect.cols.start) as usize;
                    let src = (c * rh + py) * rw + px;
                    row[pa..pb].copy_from_slice(&data[src..src + (pb - pa)]);
                }
            }
        }
    }
}

/// A buffer that grows to the largest size asked for and is reused across batches.
fn scratch(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    &mut buffer[..len]
}

impl Runner {
    /// The clean activations of `image`: one run of the clean prefix.
    fn clean(&self, image: ArrayView3<f32>) -> Result<Clean> {
        let graph = &self.graph;
        let image = image.as_standard_layout().into_owned();
        let x = image.view().insert_axis(Axis(0));
        let clean_out = self.clean.run(&[(graph.input.as_str(), x.into_dyn())])?;
        let mut activations = HashMap::new();
        for (name, a) in graph.clean_outputs.iter().zip(clean_out) {
            let a = a
                .into_dimensionality::<Ix4>()
                .map_err(|e| failed(format!("clean {name}: {e}")))?;
            activations.insert(
                name.clone(),
                a.index_axis_move(Axis(0), 0)
                    .as_standard_layout()
                    .into_owned(),
            );
        }
        Ok(Clean { image, activations })
    }

    /// Logits `[windows, K]` for the windows `ids` of the plan, in window order (other rows
    /// zero), from the image's clean activations.
    fn run(
        &self,
        clean: &Clean,
        baseline: f32,
        batch: usize,
        ids: &[usize],
    ) -> Result<Array2<f32>> {
        let image_flat = clean.image.as_slice().expect("standard layout");
        let mut logits: Option<Array2<f32>> = None;
        // Windows go through the segments a chunk at a time: boxes stay in cache and memory
        // stays bounded, while calls still batch windows whose boxes have the same size.
        for ids in ids.chunks(CHUNK.max(batch)) {
            self.run_windows(
                &clean.activations,
                image_flat,
                ids,
                baseline,
                batch,
                &mut logits,
            )?;
        }
        logits.ok_or_else(|| failed("no windows".into()))
    }

    /// Runs `chunk` (window indices) through the segments and out of their exits, writing
    /// their logits rows.
    fn run_windows(
        &self,
        clean: &HashMap<String, Array3<f32>>,
        image_flat: &[f32],
        chunk: &[usize],
        baseline: f32,
        batch: usize,
        logits: &mut Option<Array2<f32>>,
    ) -> Result<()> {
        let graph = &self.graph;
        let segments = &graph.segments;
        let run = Chunk {
            graph,
            clean,
            image_flat,
            in_chunk: chunk.iter().copied().collect(),
            baseline,
            batch,
        };
        let last_use = last_uses(segments);
        let mut done = Computed {
            stored: Vec::with_capacity(segments.len()),
            place: Vec::with_capacity(segments.len()),
        };
        let max_inputs = segments.iter().map(|s| s.inputs.len()).max().unwrap_or(0);
        let mut crops: Vec<Vec<f32>> = vec![Vec::new(); max_inputs];
        let mut suffix_in: Vec<f32> = Vec::new();
        for si in 0..segments.len() {
            let (calls, here) = self.run_segment(&run, si, &done, &mut crops)?;
            done.stored.push(calls);
            done.place.push(here);
            for (exit, session) in graph.exits.iter().zip(&self.exits) {
                if exit.segment == si {
                    run.exit(exit, session, &done, &mut suffix_in, logits)?;
                }
            }
            for (j, last) in last_use.iter().enumerate().take(si + 1) {
                if *last == si {
                    done.stored[j] = Vec::new();
                }
            }
        }
        Ok(())
    }

    /// Runs segment `si` on the chunk's windows that pass through it, a call per group of
    /// windows whose boxes have the same size: the outputs of each call, and per window where
    /// its box is (call, position in the call).
    fn run_segment(
        &self,
        run: &Chunk,
        si: usize,
        done: &Computed,
        crops: &mut [Vec<f32>],
    ) -> Result<(Vec<Vec<Output>>, Vec<(usize, usize)>)> {
        let seg = &run.graph.segments[si];
        let mine: Vec<usize> = run
            .graph
            .windows_of(si)
            .into_iter()
            .filter(|w| run.in_chunk.contains(w))
            .collect();
        // The boxes each input crops from, per call of its segment.
        let sources: Vec<Vec<&[f32]>> = seg
            .inputs
            .iter()
            .map(|a| match a.source {
                Source::Image | Source::Mask => Vec::new(),
                Source::Segment { segment, output } => done.stored[segment]
                    .iter()
                    .map(|g| g[output].data())
                    .collect(),
            })
            .collect();
        // A mask is a crop of a map of ones, padded with zeros.
        let ones: Vec<Vec<f32>> = seg
            .inputs
            .iter()
            .map(|a| match a.source {
                Source::Mask => vec![1.0; a.shape[1] * a.shape[2]],
                _ => Vec::new(),
            })
            .collect();
        let mut calls: Vec<Vec<Output>> = Vec::new();
        let mut here = vec![(usize::MAX, 0); run.graph.windows.len()];
        for ids in seg.groups(&mine, run.batch) {
            let n = ids.len();
            let out_box = seg.box_of(ids[0]);
            let mut shapes = Vec::with_capacity(seg.inputs.len());
            for (((a, buffer), source), ones) in seg
                .inputs
                .iter()
                .zip(crops.iter_mut())
                .zip(&sources)
                .zip(&ones)
            {
                shapes.push(run.fill_input(done, seg, a, &ids, buffer, source, ones));
            }
            let feeds = seg
                .inputs
                .iter()
                .zip(crops.iter())
                .zip(&shapes)
                .map(|((a, buffer), shape)| {
                    let len = shape.iter().product();
                    ndarray::ArrayViewD::from_shape(&shape[..], &buffer[..len])
                        .map(|v| (a.feed.as_str(), v))
                        .map_err(|e| failed(e.to_string()))
                })
                .collect::<Result<Vec<_>>>()?;
            let outs = self.segments[si].run_owned(&feeds)?;
            check_outputs(si, seg, &outs, n, out_box)?;
            for (k, &w) in ids.iter().enumerate() {
                here[w] = (calls.len(), k);
            }
            calls.push(outs);
        }
        Ok((calls, here))
    }
}

/// What every step of one chunk of windows reads (see [`Runner::run_windows`]).
struct Chunk<'a> {
    graph: &'a IncrementalGraph,
    clean: &'a HashMap<String, Array3<f32>>,
    image_flat: &'a [f32],
    in_chunk: HashSet<usize>,
    baseline: f32,
    batch: usize,
}

/// What the chunk's segments have computed so far: per segment, the outputs of each session
/// call, and where each window's box is (call, position in the call).
struct Computed {
    stored: Vec<Vec<Vec<Output>>>,
    place: Vec<Vec<(usize, usize)>>,
}

impl Chunk<'_> {
    /// The clean activation of `tensor` (`[C, H, W]`, C order).
    fn clean_of(&self, tensor: &str) -> &[f32] {
        self.clean[tensor].as_slice().expect("standard layout")
    }

    /// Fills `buffer` with the crops that input `a` of `seg` reads for the windows `ids` of
    /// one call (`source`: the boxes it crops from, per call of its segment; `ones`: the map
    /// of ones a mask crops from) and returns their shape `[n, C, h, w]`.
    #[allow(clippy::too_many_arguments)]
    fn fill_input(
        &self,
        done: &Computed,
        seg: &Segment,
        a: &SegmentInput,
        ids: &[usize],
        buffer: &mut Vec<f32>,
        source: &[&[f32]],
        ones: &[f32],
    ) -> [usize; 4] {
        let n = ids.len();
        let [c, h, w] = a.shape;
        let crop = a.crop_rect(seg.box_of(ids[0]));
        let (ch, cw) = (crop.height() as usize, crop.width() as usize);
        let per = c * ch * cw;
        let dst = scratch(buffer, n * per);
        let clean_t: &[f32] = match a.source {
            Source::Image => self.image_flat,
            Source::Segment { .. } => self.clean_of(&a.tensor),
            Source::Mask => ones,
        };
        let fill = |(dst, &wi): (&mut [f32], &usize)| {
            let patch = match a.source {
                Source::Image => Patch::Fill {
                    rect: self.graph.windows[wi],
                    value: self.baseline,
                },
                Source::Mask => Patch::Fill {
                    rect: Rect::new(0, 0, 0, 0),
                    value: 0.0,
                },
                Source::Segment { segment, .. } => {
                    let rect = self.graph.segments[segment].box_of(wi);
                    let (call, k) = done.place[segment][wi];
                    let per = c * rect.area() as usize;
                    Patch::Values {
                        rect,
                        data: &source[call][k * per..(k + 1) * per],
                    }
                }
            };
            let crop = a.crop_rect(seg.box_of(wi));
            fill_crop(dst, crop, clean_t, [c, h, w], patch, a.pad_value);
        };
        if n * per >= PARALLEL_FLOATS {
            dst.par_chunks_mut(per).zip(ids.par_iter()).for_each(fill);
        } else {
            dst.chunks_mut(per).zip(ids.iter()).for_each(fill);
        }
        [n, c, ch, cw]
    }

    /// The chunk's windows leaving at `exit`: the suffix on T with each window's box pasted
    /// in, written to their rows of `logits`.
    fn exit(
        &self,
        exit: &Exit,
        session: &GraphSession,
        done: &Computed,
        suffix_in: &mut Vec<f32>,
        logits: &mut Option<Array2<f32>>,
    ) -> Result<()> {
        let si = exit.segment;
        let seg = &self.graph.segments[si];
        let windows = &self.graph.windows;
        let batch = self.batch;
        let [c, h, w] = exit.shape;
        let clean_t = self.clean_of(&exit.tensor);
        let boxes: Vec<&[f32]> = done.stored[si]
            .iter()
            .map(|g| g[exit.output].data())
            .collect();
        let full = Rect::new(0, 0, h as i64, w as i64);
        let leaving: Vec<usize> = exit
            .windows
            .iter()
            .copied()
            .filter(|w| self.in_chunk.contains(w))
            .collect();
        for ids in leaving.chunks(batch.max(1)) {
            let n = ids.len();
            let t = scratch(suffix_in, n * c * h * w);
            t.par_chunks_mut(c * h * w)
                .zip(ids.par_iter())
                .for_each(|(dst, &wi)| {
                    let rect = seg.box_of(wi);
                    let (call, k) = done.place[si][wi];
                    let per = c * rect.area() as usize;
                    let patch = Patch::Values {
                        rect,
                        data: &boxes[call][k * per..(k + 1) * per],
                    };
                    fill_crop(dst, full, clean_t, [c, h, w], patch, 0.0);
                });
            let t = ndarray::ArrayViewD::from_shape(&[n, c, h, w][..], &*t)
                .map_err(|e| failed(e.to_string()))?;
            session.run_with(&[(exit.tensor.as_str(), t)], |views| -> Result<()> {
                let out = views
                    .first()
                    .ok_or_else(|| failed("the suffix has no output".into()))?;
                let k = out.len() / n.max(1);
                let rows = out
                    .to_shape((n, k))
                    .map_err(|e| failed(format!("suffix output: {e}")))?;
                let all = logits.get_or_insert_with(|| Array2::zeros((windows.len(), k)));
                for (row, &wi) in rows.outer_iter().zip(ids) {
                    all.row_mut(wi).assign(&row);
                }
                Ok(())
            })??;
        }
        Ok(())
    }
}

/// Per segment, the last segment that reads its outputs (exits read them right away).
fn last_uses(segments: &[Segment]) -> Vec<usize> {
    let mut last_use: Vec<usize> = (0..segments.len()).collect();
    for (si, seg) in segments.iter().enumerate() {
        for a in &seg.inputs {
            if let Source::Segment { segment, .. } = a.source {
                last_use[segment] = last_use[segment].max(si);
            }
        }
    }
    last_use
}

/// Error unless every output of a call of segment `si` (`n` windows, box `out_box`) has the
/// planned shape.
fn check_outputs(si: usize, seg: &Segment, outs: &[Output], n: usize, out_box: Rect) -> Result<()> {
    for (o, out) in seg.outputs.iter().zip(outs) {
        let want = [
            n,
            o.channels,
            out_box.height() as usize,
            out_box.width() as usize,
        ];
        if out.shape() != want {
            return Err(failed(format!(
                "segment {si} output {} has shape {:?}, planned {want:?}",
                o.tensor,
                out.shape()
            )));
        }
    }
    Ok(())
}

/// Windows run through the segments together (see [`Runner::run`]).
const CHUNK: usize = 128;

/// Below this many floats a batch of crops is filled on the calling thread.
const PARALLEL_FLOATS: usize = 1 << 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crops_take_padding_patch_and_clean_values() {
        // A 1×4×5 tensor with values 10·y + x.
        let clean: Vec<f32> = (0..20).map(|i| (10 * (i / 5) + i % 5) as f32).collect();
        let patch = [-1.0f32; 4];
        let mut dst = [0.0f32; 16];
        // Crop rows −1..3, cols 3..7: one padded row on top, two padded columns on the right.
        fill_crop(
            &mut dst,
            Rect::new(-1, 3, 3, 7),
            &clean,
            [1, 4, 5],
            Patch::Values {
                rect: Rect::new(1, 3, 3, 5),
                data: &patch,
            },
            9.0,
        );
        #[rustfmt::skip]
        let want = [
            9.0, 9.0, 9.0, 9.0,
            3.0, 4.0, 9.0, 9.0,
            -1.0, -1.0, 9.0, 9.0,
            -1.0, -1.0, 9.0, 9.0,
        ];
        assert_eq!(dst, want);
        fill_crop(
            &mut dst,
            Rect::new(0, 0, 4, 4),
            &clean,
            [1, 4, 5],
            Patch::Fill {
                rect: Rect::new(0, 0, 1, 1),
                value: 0.5,
            },
            9.0,
        );
        assert_eq!(dst[0], 0.5);
        assert_eq!(dst[15], 33.0);
        // A crop entirely left of the tensor is all padding.
        fill_crop(
            &mut dst,
            Rect::new(0, -6, 4, -2),
            &clean,
            [1, 4, 5],
            Patch::Fill {
                rect: Rect::new(0, 0, 4, 5),
                value: 0.5,
            },
            7.0,
        );
        assert!(dst.iter().all(|&v| v == 7.0));
    }
}
