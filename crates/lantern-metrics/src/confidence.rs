//! Average Drop and Increase in Confidence (Chattopadhyay et al., Grad-CAM++), and the
//! Score-CAM variant that keeps only the top half of the map.
//!
//! Per image and map: Y = softmax probability of the target on x, O = the same on x ⊙ M, with
//! drop = max(0, Y − O)/Y and increase = 1 if O > Y else 0; over images, Average Drop = 100·mean(drop) and
//! Increase in Confidence = 100·mean(increase).
//!
//! Convention (pytorch-grad-cam `metrics/cam_mult_image.py`, `multiply_tensor_with_cam`): the
//! mask multiplies the image IN MODEL-INPUT SPACE (the normalised tensor), all channels alike,
//! so masked-out pixels become 0 there, i.e. the dataset mean colour. M is the map at input
//! resolution min–max normalised to [0, 1] ([`crate::rank::minmax`]; a constant map gives
//! M = 0). The library's `DropInConfidence` returns max(0, Y − O) without dividing by Y; the
//! paper's ratio is `drop`, and `y`, `o` are kept so either can be reported.
//! Score-CAM's variant ([`ConfidenceMask::Top`] with 0.5) uses the binary mask map ≥ median
//! (NumPy's median: the mean of the two middle values for an even count).

use crate::classifier::{Classifier, Score, check_target};
use crate::cost::{Cost, Meter};
use crate::error::{Result, setting_error, shape_error};
use crate::rank::{minmax, quantile};
use ndarray::{Array2, Array3, Array4, ArrayView1, ArrayView2, ArrayView3, Axis};

const METRIC: &str = "average drop / increase in confidence";

/// How the map becomes the multiplicative mask.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfidenceMask {
    /// M = min–max normalised map (Grad-CAM++).
    Normalised,
    /// Binary: 1 where the map is ≥ its (1 − f)-quantile, i.e. keep the top fraction f
    /// (Score-CAM: f = 0.5, map ≥ median).
    Top(f64),
}

impl ConfidenceMask {
    /// Score-CAM's variant: keep the top 50 % (map ≥ median).
    pub const SCORE_CAM: ConfidenceMask = ConfidenceMask::Top(0.5);

    /// The mask for `map`, values in [0, 1].
    pub fn mask(self, map: ArrayView2<f32>) -> Result<Array2<f32>> {
        match self {
            ConfidenceMask::Normalised => Ok(minmax(map)),
            ConfidenceMask::Top(f) if f > 0.0 && f <= 1.0 => {
                let values: Vec<f64> = map.iter().map(|&v| v as f64).collect();
                let threshold = quantile(&values, 1.0 - f);
                Ok(map.mapv(|v| if v as f64 >= threshold { 1.0 } else { 0.0 }))
            }
            ConfidenceMask::Top(f) => Err(setting_error(
                METRIC,
                format!("the kept fraction {f} is outside (0, 1]"),
            )),
        }
    }
}

/// The confidence change one map causes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConfidenceChange {
    pub target: usize,
    pub mask: ConfidenceMask,
    /// Probability of the target on the image.
    pub y: f32,
    /// Probability of the target on the masked image.
    pub o: f32,
    /// max(0, Y − O)/Y.
    pub drop: f64,
    /// O > Y.
    pub increase: bool,
    /// Seconds and forward passes of this map's share (the masked image; plus the clean image
    /// when the caller did not supply its logits).
    pub cost: Cost,
}

/// x ⊙ M for a `[C,H,W]` image and an `[H,W]` mask.
pub fn masked_image(image: ArrayView3<f32>, mask: ArrayView2<f32>) -> Array3<f32> {
    let mut out = image.to_owned();
    for mut ch in out.axis_iter_mut(Axis(0)) {
        ch *= &mask;
    }
    out
}

/// Confidence changes of several maps of ONE image for one target, all masked images in one
/// batched pass (`batch_size` images per call). `clean_logits` are the image's logits if the
/// caller has them; otherwise the clean image joins the first batch.
pub fn confidence_changes<C: Classifier + ?Sized>(
    model: &C,
    image: ArrayView3<f32>,
    maps: &[ArrayView2<f32>],
    target: usize,
    mask: ConfidenceMask,
    clean_logits: Option<ArrayView1<f32>>,
    batch_size: usize,
) -> Result<Vec<ConfidenceChange>> {
    let mut meter = Meter::start();
    let (c, h, w) = image.dim();
    if batch_size == 0 {
        return Err(setting_error(METRIC, "batch_size must be at least 1"));
    }
    let with_clean = clean_logits.is_none();
    let total = maps.len() + usize::from(with_clean);
    let mut images = Array4::<f32>::zeros((total, c, h, w));
    let mut k = 0;
    if with_clean {
        images.index_axis_mut(Axis(0), 0).assign(&image);
        k = 1;
    }
    for map in maps {
        if map.dim() != (h, w) {
            return Err(shape_error(
                METRIC,
                format!("the map is {:?} but the image is {h}×{w}", map.shape()),
            ));
        }
        let m = mask.mask(*map)?;
        images
            .index_axis_mut(Axis(0), k)
            .assign(&masked_image(image, m.view()));
        k += 1;
    }
    let mut rows: Vec<ndarray::Array1<f32>> = Vec::with_capacity(total);
    for chunk in images.axis_chunks_iter(Axis(0), batch_size) {
        let logits = model.logits(chunk)?;
        meter.forward_passes += chunk.shape()[0];
        check_target(METRIC, target, logits.ncols())?;
        rows.extend(logits.axis_iter(Axis(0)).map(|r| r.to_owned()));
    }
    let y = match clean_logits {
        Some(l) => {
            check_target(METRIC, target, l.len())?;
            Score::Probability.of(l, target)
        }
        None => Score::Probability.of(rows[0].view(), target),
    };
    let cost = meter.finish();
    let seconds = cost.seconds / maps.len().max(1) as f64;
    Ok(rows[usize::from(with_clean)..]
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let o = Score::Probability.of(row.view(), target);
            ConfidenceChange {
                target,
                mask,
                y,
                o,
                drop: ((y - o).max(0.0) as f64) / y as f64,
                increase: o > y,
                // One masked image each; the first map also carries the clean pass if it ran.
                cost: Cost::new(seconds, 1 + usize::from(with_clean && i == 0), 0),
            }
        })
        .collect())
}

/// The confidence change of one map.
pub fn confidence_change<C: Classifier + ?Sized>(
    model: &C,
    image: ArrayView3<f32>,
    map: ArrayView2<f32>,
    target: usize,
    mask: ConfidenceMask,
    clean_logits: Option<ArrayView1<f32>>,
) -> Result<ConfidenceChange> {
    let mut v = confidence_changes(model, image, &[map], target, mask, clean_logits, 2)?;
    Ok(v.remove(0))
}

/// Average Drop (%) and Increase in Confidence (%) over images.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ConfidenceSummary {
    pub images: usize,
    /// 100 · mean of max(0, Y − O)/Y.
    pub average_drop: f64,
    /// 100 · fraction of images with O > Y.
    pub increase_in_confidence: f64,
}

pub fn average_drop_increase(changes: &[ConfidenceChange]) -> ConfidenceSummary {
    let n = changes.len();
    let denom = n.max(1) as f64;
    ConfidenceSummary {
        images: n,
        average_drop: if n == 0 {
            f64::NAN
        } else {
            100.0 * changes.iter().map(|c| c.drop).sum::<f64>() / denom
        },
        increase_in_confidence: if n == 0 {
            f64::NAN
        } else {
            100.0 * changes.iter().filter(|c| c.increase).count() as f64 / denom
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::two_class;
    use ndarray::{ArrayView4, array};

    /// Logit 0 = sum of channel 0 over the left column, logit 1 = 0.
    fn left_column(batch: ArrayView4<f32>) -> Result<Array2<f32>> {
        two_class(|x| x.slice(ndarray::s![0, .., 0]).sum())(batch)
    }

    #[test]
    fn masks() {
        let map = array![[1.0f32, 3.0], [5.0, 9.0]];
        assert_eq!(
            ConfidenceMask::Normalised.mask(map.view()).unwrap(),
            array![[0.0f32, 0.25], [0.5, 1.0]]
        );
        // median of 1,3,5,9 = 4 → keep 5 and 9.
        assert_eq!(
            ConfidenceMask::SCORE_CAM.mask(map.view()).unwrap(),
            array![[0.0f32, 0.0], [1.0, 1.0]]
        );
        assert!(ConfidenceMask::Top(0.0).mask(map.view()).is_err());
    }

    #[test]
    fn drop_and_increase() {
        let image = Array3::<f32>::ones((1, 2, 2));
        let sig = |l: f32| 1.0 / (1.0 + (-l).exp());
        let keep_left = array![[1.0f32, 0.0], [1.0, 0.0]];
        let keep_right = array![[0.0f32, 1.0], [0.0, 1.0]];
        let maps = [keep_left.view(), keep_right.view()];
        let ch = confidence_changes(
            &left_column,
            image.view(),
            &maps,
            0,
            ConfidenceMask::Normalised,
            None,
            2,
        )
        .unwrap();
        assert!((ch[0].y - sig(2.0)).abs() < 1e-7);
        assert_eq!(ch[0].drop, 0.0);
        assert!(!ch[0].increase);
        assert!((ch[1].o - 0.5).abs() < 1e-7);
        let want = ((sig(2.0) - 0.5) / sig(2.0)) as f64;
        assert!((ch[1].drop - want).abs() < 1e-6);
        assert_eq!(ch[0].cost.forward_passes + ch[1].cost.forward_passes, 3);
        let s = average_drop_increase(&ch);
        assert!((s.average_drop - 50.0 * want).abs() < 1e-4);
        assert_eq!(s.increase_in_confidence, 0.0);
        // Negative image: masking out the left column raises the logit from −2 to 0.
        let neg = Array3::<f32>::from_elem((1, 2, 2), -1.0);
        let c = confidence_change(
            &left_column,
            neg.view(),
            keep_right.view(),
            0,
            ConfidenceMask::Normalised,
            None,
        )
        .unwrap();
        assert!(c.increase);
        assert_eq!(c.drop, 0.0);
    }
}
