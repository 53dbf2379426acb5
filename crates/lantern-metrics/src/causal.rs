//! Deletion and insertion (Petsiuk et al., RISE `evaluation.py` `CausalMetric`).
//!
//! Pixels are ranked by the map at input resolution, highest first, ties by ascending flat
//! index `y·W + x` (`np.argsort(-map, kind='stable')`; RISE's own unstable sort leaves tie order
//! unspecified, and CAM maps have exact-zero plateaus, so the rule matters). Evaluation `i`
//! (0 ≤ i ≤ n, n = ⌈HW/step⌉) is the image whose first `min(step·i, HW)` ranked pixels — all
//! channels — come from `finish` and the rest from `start`:
//! - deletion: start = x, finish = the substrate (zeros in model-input space by default, i.e.
//!   the dataset mean colour after normalisation; or the blur, the per-channel mean, a constant);
//! - insertion: start = the substrate (RISE's blur by default), finish = x.
//!
//! The score is the softmax probability of the target (or its logit), and
//! AUC = (Σᵢ cᵢ − c₀/2 − cₙ/2)/n, the trapezoid rule on x = i/n as RISE computes it (when the
//! step does not divide HW the last step is shorter, but the x-axis stays i/n, as in RISE).
//! Every evaluation runs through [`Classifier::logits`] in batches built in one pre-allocated
//! buffer: each slot holds one evaluation and moves forward by `batch_size` steps per batch by
//! switching only the pixels in between (slots updated in parallel).

use crate::blur::{blur_image, rise_kernel};
use crate::classifier::{Classifier, Score, check_target};
use crate::cost::{Cost, Meter};
use crate::error::{Result, setting_error, shape_error};
use crate::rank::argsort_descending;
use ndarray::{Array3, Array4, ArrayView1, ArrayView2, ArrayView3, Axis, s};
use rayon::prelude::*;

const METRIC: &str = "deletion/insertion";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CausalKind {
    /// Start from the image, remove the most important pixels first; lower AUC is better.
    Deletion,
    /// Start from the substrate, restore the most important pixels first; higher AUC is better.
    Insertion,
}

impl CausalKind {
    pub fn name(self) -> &'static str {
        match self {
            CausalKind::Deletion => "deletion",
            CausalKind::Insertion => "insertion",
        }
    }
}

/// What removed pixels become (deletion's finish) or where insertion starts from.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Substrate {
    /// Zeros in model-input space (the dataset mean colour after mean/std normalisation).
    Zeros,
    /// RISE's blur: `gkern(klen, sigma)` per channel with zero padding ([`crate::blur`]).
    Blur { klen: usize, sigma: f64 },
    /// Each channel filled with that channel's mean over the image.
    Mean,
    /// Every value set to this constant (model-input space).
    Constant(f32),
}

impl Substrate {
    /// RISE's default blur, `gkern(11, 5)`.
    pub const RISE_BLUR: Substrate = Substrate::Blur {
        klen: 11,
        sigma: 5.0,
    };

    /// The substrate image for `image` (`[C,H,W]`).
    pub fn apply(&self, image: ArrayView3<f32>) -> Array3<f32> {
        match *self {
            Substrate::Zeros => Array3::zeros(image.raw_dim()),
            Substrate::Constant(v) => Array3::from_elem(image.raw_dim(), v),
            Substrate::Blur { klen, sigma } => blur_image(image, rise_kernel(klen, sigma).view()),
            Substrate::Mean => {
                let mut out = Array3::zeros(image.raw_dim());
                for (mut dst, src) in out.axis_iter_mut(Axis(0)).zip(image.axis_iter(Axis(0))) {
                    let mean = src.iter().map(|&v| v as f64).sum::<f64>() / src.len().max(1) as f64;
                    dst.fill(mean as f32);
                }
                out
            }
        }
    }
}

/// Pixels switched per step.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// One image row's worth, W pixels (RISE's 224 at 224×224).
    Width,
    /// A fixed number of pixels.
    Pixels(usize),
    /// A fraction of the H·W pixels, rounded to the nearest pixel (at least 1).
    Fraction(f64),
}

impl Step {
    /// The step in pixels for an `h × w` map.
    pub fn pixels(self, h: usize, w: usize) -> Result<usize> {
        let px = match self {
            Step::Width => w,
            Step::Pixels(p) => p,
            Step::Fraction(f) if f > 0.0 && f <= 1.0 => {
                ((f * (h * w) as f64).round() as usize).max(1)
            }
            Step::Fraction(f) => {
                return Err(setting_error(
                    METRIC,
                    format!("step fraction {f} is outside (0, 1]"),
                ));
            }
        };
        if px == 0 {
            return Err(setting_error(METRIC, "step must be at least one pixel"));
        }
        Ok(px)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CausalSettings {
    pub kind: CausalKind,
    pub step: Step,
    /// Deletion: what pixels become. Insertion: the start image.
    pub substrate: Substrate,
    /// What `curve` records (`logit_curve` always has the logit).
    pub score: Score,
    /// Images per model call.
    pub batch_size: usize,
}

impl CausalSettings {
    /// RISE's deletion: step W, zeros, probability.
    pub fn deletion() -> CausalSettings {
        CausalSettings {
            kind: CausalKind::Deletion,
            step: Step::Width,
            substrate: Substrate::Zeros,
            score: Score::Probability,
            batch_size: 32,
        }
    }

    /// RISE's insertion: step W, from `gkern(11, 5)` blur, probability.
    pub fn insertion() -> CausalSettings {
        CausalSettings {
            kind: CausalKind::Insertion,
            step: Step::Width,
            substrate: Substrate::RISE_BLUR,
            score: Score::Probability,
            batch_size: 32,
        }
    }

    /// The default settings of `kind`.
    pub fn of(kind: CausalKind) -> CausalSettings {
        match kind {
            CausalKind::Deletion => CausalSettings::deletion(),
            CausalKind::Insertion => CausalSettings::insertion(),
        }
    }

    /// The (start, finish) images for `image` under these settings.
    pub fn endpoints(&self, image: ArrayView3<f32>) -> (Array3<f32>, Array3<f32>) {
        let substrate = self.substrate.apply(image);
        match self.kind {
            CausalKind::Deletion => (image.to_owned(), substrate),
            CausalKind::Insertion => (substrate, image.to_owned()),
        }
    }
}

/// One deletion or insertion curve.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CausalCurve {
    pub kind: CausalKind,
    pub target: usize,
    /// (Σ c − c₀/2 − cₙ/2)/n over `curve`.
    pub auc: f64,
    /// n + 1 scores (probabilities or logits, per `settings.score`).
    pub curve: Vec<f32>,
    /// n + 1 logits of the target.
    pub logit_curve: Vec<f32>,
    /// Fraction of pixels taken from `finish` at each evaluation, min(step·i, HW)/HW.
    pub fractions: Vec<f64>,
    pub step_pixels: usize,
    pub n_steps: usize,
    pub settings: CausalSettings,
    /// Seconds and forward passes (images) this curve took; a clean forward the caller supplied
    /// is not counted.
    pub cost: Cost,
}

/// Trapezoid AUC on x = i/n (RISE's `auc`): (Σ c − c₀/2 − cₙ/2)/n; NaN for fewer than 2 points.
pub fn auc(curve: &[f32]) -> f64 {
    if curve.len() < 2 {
        return f64::NAN;
    }
    let n = (curve.len() - 1) as f64;
    let sum: f64 = curve.iter().map(|&c| c as f64).sum();
    (sum - curve[0] as f64 / 2.0 - curve[curve.len() - 1] as f64 / 2.0) / n
}

/// Deletion or insertion of `image` (`[C,H,W]`, model-input space) ranked by `map` (`[H,W]`) for
/// class `target`. `clean_logits`, when given, are the logits of `image` itself: deletion then
/// skips evaluation 0 and insertion evaluation n (both are the clean image).
pub fn causal_curve<C: Classifier + ?Sized>(
    model: &C,
    image: ArrayView3<f32>,
    map: ArrayView2<f32>,
    target: usize,
    settings: &CausalSettings,
    clean_logits: Option<ArrayView1<f32>>,
) -> Result<CausalCurve> {
    let meter = Meter::start();
    let (start, finish) = settings.endpoints(image);
    let clean = match settings.kind {
        CausalKind::Deletion => clean_logits.map(|l| (Endpoint::First, l)),
        CausalKind::Insertion => clean_logits.map(|l| (Endpoint::Last, l)),
    };
    let mut out = curve_between(
        model,
        start.view(),
        finish.view(),
        map,
        target,
        settings,
        clean,
    )?;
    out.cost.seconds = meter.finish().seconds;
    Ok(out)
}

/// Deletion with RISE's defaults (step W, zeros, probability, batches of 32).
pub fn deletion<C: Classifier + ?Sized>(
    model: &C,
    image: ArrayView3<f32>,
    map: ArrayView2<f32>,
    target: usize,
) -> Result<CausalCurve> {
    causal_curve(model, image, map, target, &CausalSettings::deletion(), None)
}

/// Insertion with RISE's defaults (step W, `gkern(11, 5)` blur, probability, batches of 32).
pub fn insertion<C: Classifier + ?Sized>(
    model: &C,
    image: ArrayView3<f32>,
    map: ArrayView2<f32>,
    target: usize,
) -> Result<CausalCurve> {
    causal_curve(
        model,
        image,
        map,
        target,
        &CausalSettings::insertion(),
        None,
    )
}

/// Which end of the curve already has known logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    First,
    Last,
}

/// The curve from `start` to `finish` (both `[C,H,W]`) switching pixels in `map`'s order;
/// `known` gives the logits of one endpoint image so it is not evaluated again. `settings.kind`
/// and `settings.substrate` are recorded only: the two images define the path.
pub fn curve_between<C: Classifier + ?Sized>(
    model: &C,
    start: ArrayView3<f32>,
    finish: ArrayView3<f32>,
    map: ArrayView2<f32>,
    target: usize,
    settings: &CausalSettings,
    known: Option<(Endpoint, ArrayView1<f32>)>,
) -> Result<CausalCurve> {
    let mut meter = Meter::start();
    let (c, h, w) = start.dim();
    if finish.dim() != (c, h, w) {
        return Err(shape_error(
            METRIC,
            format!(
                "start is {:?} but finish is {:?}",
                start.shape(),
                finish.shape()
            ),
        ));
    }
    if map.dim() != (h, w) {
        return Err(shape_error(
            METRIC,
            format!(
                "the map is {:?} but the image is {h}×{w}: maps are ranked at input resolution",
                map.shape()
            ),
        ));
    }
    if settings.batch_size == 0 {
        return Err(setting_error(METRIC, "batch_size must be at least 1"));
    }
    let hw = h * w;
    let step = settings.step.pixels(h, w)?;
    let n = hw.div_ceil(step);
    let switched = |i: usize| (step * i).min(hw);

    let map_values: Vec<f32> = map.iter().copied().collect();
    let order = argsort_descending(&map_values);
    let start = start.as_standard_layout();
    let finish = finish.as_standard_layout();
    let start_flat = start.as_slice().expect("standard layout");
    let finish_flat = finish.as_slice().expect("standard layout");

    let (lo, hi) = match known {
        Some((Endpoint::First, _)) => (1, n),
        Some((Endpoint::Last, _)) => (0, n.saturating_sub(1)),
        None => (0, n),
    };
    let mut rows: Vec<Option<ndarray::Array1<f32>>> = vec![None; n + 1];
    if let Some((end, l)) = known {
        let idx = if end == Endpoint::First { 0 } else { n };
        rows[idx] = Some(l.to_owned());
    }
    if lo <= hi {
        let count = hi - lo + 1;
        let b = settings.batch_size.min(count);
        let mut buffer = Array4::<f32>::zeros((b, c, h, w));
        // Slot j starts at evaluation lo + j.
        buffer
            .axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(j, mut slot)| {
                let slot = slot.as_slice_mut().expect("standard layout");
                slot.copy_from_slice(start_flat);
                switch_pixels(slot, finish_flat, &order[..switched(lo + j)], hw);
            });
        let mut first = lo;
        while first <= hi {
            let valid = b.min(hi - first + 1);
            let batch_logits = model.logits(buffer.slice(s![..valid, .., .., ..]))?;
            meter.forward_passes += valid;
            if batch_logits.nrows() != valid {
                return Err(shape_error(
                    METRIC,
                    format!(
                        "the model returned {} rows for {valid} images",
                        batch_logits.nrows()
                    ),
                ));
            }
            check_target(METRIC, target, batch_logits.ncols())?;
            for (j, row) in batch_logits.axis_iter(Axis(0)).enumerate() {
                rows[first + j] = Some(row.to_owned());
            }
            first += b;
            if first <= hi {
                // Move every slot forward by b evaluations: switch only the pixels in between.
                buffer
                    .axis_iter_mut(Axis(0))
                    .into_par_iter()
                    .enumerate()
                    .for_each(|(j, mut slot)| {
                        let was = switched(first - b + j);
                        let now = switched(first + j);
                        let slot = slot.as_slice_mut().expect("standard layout");
                        switch_pixels(slot, finish_flat, &order[was..now], hw);
                    });
            }
        }
    }

    let mut curve = Vec::with_capacity(n + 1);
    let mut logit_curve = Vec::with_capacity(n + 1);
    for row in &rows {
        let row = row.as_ref().expect("every evaluation has logits");
        check_target(METRIC, target, row.len())?;
        curve.push(settings.score.of(row.view(), target));
        logit_curve.push(row[target]);
    }
    let fractions = (0..=n).map(|i| switched(i) as f64 / hw as f64).collect();
    Ok(CausalCurve {
        kind: settings.kind,
        target,
        auc: auc(&curve),
        curve,
        logit_curve,
        fractions,
        step_pixels: step,
        n_steps: n,
        settings: *settings,
        cost: meter.finish(),
    })
}

/// Copies the listed pixels (flat `y·W + x` indices), all channels, from `finish` into `slot`.
fn switch_pixels(slot: &mut [f32], finish: &[f32], pixels: &[usize], hw: usize) {
    let channels = slot.len() / hw;
    for &p in pixels {
        for ch in 0..channels {
            let k = ch * hw + p;
            slot[k] = finish[k];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::two_class;
    use ndarray::{Array1, Array2, ArrayView4, array};

    /// A "classifier" whose logit 0 is the mean of the top-left 2×2 block over all channels and
    /// logit 1 is 0: the curve is known in closed form.
    fn region_mean(batch: ArrayView4<f32>) -> Result<Array2<f32>> {
        two_class(|x| x.slice(s![.., 0..2, 0..2]).mean().unwrap())(batch)
    }

    #[test]
    fn deletion_curve_is_exact_on_a_region_mean() {
        // 2 channels × 3×3 of ones; the map ranks (0,0), (1,1), (0,1), (2,2), then ties.
        let image = Array3::<f32>::ones((2, 3, 3));
        let map = array![[9.0f32, 7.0, 0.0], [0.0, 8.0, 0.0], [0.0, 0.0, 6.0]];
        let mut settings = CausalSettings::deletion();
        settings.step = Step::Pixels(1);
        settings.score = Score::Logit;
        settings.batch_size = 3; // 10 evaluations: batches of 3, 3, 3, 1
        let curve =
            causal_curve(&region_mean, image.view(), map.view(), 0, &settings, None).unwrap();
        // Order: 0 (0,0), 4 (1,1), 1 (0,1), 8 (2,2), then 2,3,5,6,7 by index.
        // Region pixels {0,1,3,4}: removed at steps 1, 2, 3, and pixel 3 at step 6.
        let want = [1.0, 0.75, 0.5, 0.25, 0.25, 0.25, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(curve.curve, want);
        assert_eq!(curve.logit_curve, want);
        assert_eq!(curve.n_steps, 9);
        assert_eq!(curve.cost.forward_passes, 10);
        let expect_auc = (want.iter().sum::<f32>() as f64 - 0.5) / 9.0;
        assert!((curve.auc - expect_auc).abs() < 1e-12);
        assert_eq!(curve.fractions[3], 3.0 / 9.0);
    }

    #[test]
    fn insertion_with_known_clean_logits_and_uneven_step() {
        let image = Array3::<f32>::from_elem((1, 3, 3), 2.0);
        let map = array![[1.0f32, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]];
        let mut settings = CausalSettings::insertion();
        settings.substrate = Substrate::Zeros;
        settings.step = Step::Pixels(4); // n = 3 steps: 4, 8, 9 pixels
        settings.score = Score::Logit;
        let clean = region_mean(image.view().insert_axis(Axis(0))).unwrap();
        let clean_row: Array1<f32> = clean.row(0).to_owned();
        let curve = causal_curve(
            &region_mean,
            image.view(),
            map.view(),
            0,
            &settings,
            Some(clean_row.view()),
        )
        .unwrap();
        // Order 0, then 1..8. Step 1 restores 0,1,2,3 → region {0,1,3} → 1.5; step 2 adds 4 → 2.
        assert_eq!(curve.curve, vec![0.0, 1.5, 2.0, 2.0]);
        assert_eq!(curve.cost.forward_passes, 3);
        assert_eq!(curve.fractions, vec![0.0, 4.0 / 9.0, 8.0 / 9.0, 1.0]);
    }

    #[test]
    fn probability_score_and_substrates() {
        let image = array![[[1.0f32, 3.0], [5.0, 7.0]]];
        assert_eq!(
            Substrate::Mean.apply(image.view()),
            Array3::from_elem((1, 2, 2), 4.0)
        );
        assert_eq!(
            Substrate::Constant(-1.0).apply(image.view())[[0, 1, 1]],
            -1.0
        );
        let map = array![[0.0f32, 1.0], [2.0, 3.0]];
        let c = deletion(&region_mean, image.view(), map.view(), 0).unwrap();
        // step W = 2 → n = 2; logit 4 → 1.5 → 0, probability vs. logit 0.
        let p = |l: f32| 1.0 / (1.0 + (-l).exp());
        let want = [p(4.0), p(1.0), p(0.0)];
        for (a, b) in c.curve.iter().zip(want) {
            assert!((a - b).abs() < 1e-6);
        }
        assert_eq!(c.logit_curve, vec![4.0, 1.0, 0.0]);
        assert!(
            causal_curve(
                &region_mean,
                image.view(),
                map.view(),
                5,
                &CausalSettings::deletion(),
                None
            )
            .is_err()
        );
        assert!(
            causal_curve(
                &region_mean,
                image.view(),
                array![[1.0f32]].view(),
                0,
                &CausalSettings::deletion(),
                None
            )
            .is_err()
        );
    }
}
