//! Token → grid: how a transformer's layer tensor becomes the `[N,C,h,w]` grid that CAMs weight
//! and upsample, following pytorch-grad-cam's `reshape_transform` (its ViT and Swin examples,
//! `usage_examples/vit_example.py` and `swinT_example.py`, the convention followed here):
//!
//! - ViT/DeiT token tensors `[N,T,C]`: drop the leading non-spatial tokens (the class token, and
//!   DeiT's distillation token), lay the remaining `g²` patch tokens out row-major on a `g×g`
//!   grid (token `extra + i·g + j` is cell `(i,j)`) and bring the channels first —
//!   `tensor[:, 1:, :].reshape(N, g, g, C).transpose(2, 3).transpose(1, 2)`. The number of
//!   leading tokens is given, or `T − g²` for the largest square `g² ≤ T`;
//! - spatial channels-last tensors `[N,H,W,C]` (Swin stages, ConvNeXt's NHWC blocks, whose
//!   LayerNorm normalises the last axis): the spatial layout as it stands, channels first —
//!   Swin's `reshape(N, H, W, C).transpose(2, 3).transpose(1, 2)`;
//! - CNN activations `[N,C,h,w]`: unchanged.
//!
//! Attention methods map a per-token vector (a rollout row) the same way with
//! [`token_vector_to_grid`].

use ndarray::{Array2, Array4, ArrayD, ArrayView1, ArrayView3, ArrayView4, Ix3, Ix4, s};

/// How a layer tensor's axes map onto the spatial grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// `[N,C,h,w]` (CNN activations): passed through.
    #[default]
    ChannelsFirst,
    /// `[N,H,W,C]` (Swin, ConvNeXt NHWC blocks): transposed to `[N,C,H,W]`.
    ChannelsLast,
    /// `[N,T,C]` tokens: `extra` leading non-spatial tokens are dropped (`None`: `T − g²` for
    /// the largest square `g² ≤ T`), the rest reshaped to `[N,C,g,g]`.
    Tokens { extra: Option<usize> },
}

/// Why a tensor does not fit its [`Layout`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GridError(pub String);

/// The largest `g` with `g² ≤ tokens`.
pub fn grid_side(tokens: usize) -> usize {
    let mut g = (tokens as f64).sqrt() as usize;
    while g * g > tokens {
        g -= 1;
    }
    while (g + 1) * (g + 1) <= tokens {
        g += 1;
    }
    g
}

/// `(extra, g)` for `tokens` tokens: the leading non-spatial tokens to drop and the grid side.
/// With `extra` given, `tokens − extra` must be a non-zero perfect square.
pub fn token_split(tokens: usize, extra: Option<usize>) -> Result<(usize, usize), GridError> {
    let extra = extra.unwrap_or_else(|| tokens - grid_side(tokens).pow(2));
    let spatial = tokens.checked_sub(extra).ok_or_else(|| {
        GridError(format!(
            "{extra} leading tokens to drop but the tensor has only {tokens}"
        ))
    })?;
    let g = grid_side(spatial);
    if g == 0 || g * g != spatial {
        return Err(GridError(format!(
            "{tokens} tokens less {extra} leading ones leaves {spatial}, not a square grid; \
             give the number of leading non-spatial tokens with `tokens=`"
        )));
    }
    Ok((extra, g))
}

/// `[N,T,C]` → `[N,C,g,g]`, dropping the leading `extra` tokens (see [`Layout::Tokens`]).
pub fn tokens_to_grid(a: ArrayView3<f32>, extra: Option<usize>) -> Result<Array4<f32>, GridError> {
    let (n, t, c) = a.dim();
    let (extra, g) = token_split(t, extra)?;
    let patches = a.slice(s![.., extra.., ..]);
    let grid = patches
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((n, g, g, c))
        .expect("g² patch tokens");
    Ok(channels_last_to_first(grid.view()))
}

/// `[N,H,W,C]` → `[N,C,H,W]` (standard layout).
pub fn channels_last_to_first(a: ArrayView4<f32>) -> Array4<f32> {
    a.permuted_axes([0, 3, 1, 2])
        .as_standard_layout()
        .into_owned()
}

/// A per-token vector `[T]` → `[g,g]`, dropping the leading `extra` tokens.
pub fn token_vector_to_grid(
    v: ArrayView1<f32>,
    extra: Option<usize>,
) -> Result<Array2<f32>, GridError> {
    let (extra, g) = token_split(v.len(), extra)?;
    Ok(v.slice(s![extra..])
        .to_owned()
        .into_shape_with_order((g, g))
        .expect("g² patch tokens"))
}

/// A layer tensor in `layout` → `[N,C,h,w]`.
pub fn to_grid(a: ArrayD<f32>, layout: Layout) -> Result<Array4<f32>, GridError> {
    let shape = a.shape().to_vec();
    let wrong = |want: &str| {
        GridError(format!(
            "shape {shape:?} is not {want}; CAM layers must be [N,C,h,w] activations, \
             [N,H,W,C] channels-last blocks or [N,T,C] tokens"
        ))
    };
    match layout {
        Layout::ChannelsFirst => a
            .into_dimensionality::<Ix4>()
            .map_err(|_| wrong("[N,C,h,w]")),
        Layout::ChannelsLast => {
            let a = a
                .into_dimensionality::<Ix4>()
                .map_err(|_| wrong("[N,H,W,C]"))?;
            Ok(channels_last_to_first(a.view()))
        }
        Layout::Tokens { extra } => {
            let a = a
                .into_dimensionality::<Ix3>()
                .map_err(|_| wrong("[N,T,C]"))?;
            tokens_to_grid(a.view(), extra)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array, Array1, Array3};

    /// `[N,T,C]` whose value encodes (n, t, c).
    fn coded(n: usize, t: usize, c: usize) -> Array3<f32> {
        Array::from_shape_fn((n, t, c), |(i, j, k)| (i * 10_000 + j * 100 + k) as f32)
    }

    #[test]
    fn grid_side_is_the_largest_square_root() {
        assert_eq!(grid_side(0), 0);
        assert_eq!(grid_side(1), 1);
        assert_eq!(grid_side(196), 14);
        assert_eq!(grid_side(197), 14);
        assert_eq!(grid_side(198), 14);
        assert_eq!(grid_side(224), 14);
        assert_eq!(grid_side(225), 15);
    }

    #[test]
    fn vit_drops_the_class_token_and_lays_patches_row_major() {
        // 1 class token + 3×3 patches, 2 channels.
        let a = coded(2, 10, 2);
        let g = tokens_to_grid(a.view(), None).unwrap();
        assert_eq!(g.dim(), (2, 2, 3, 3));
        for n in 0..2 {
            for c in 0..2 {
                for i in 0..3 {
                    for j in 0..3 {
                        // patch token 1 + i·3 + j, channel c
                        assert_eq!(g[[n, c, i, j]], a[[n, 1 + i * 3 + j, c]]);
                    }
                }
            }
        }
    }

    #[test]
    fn deit_drops_class_and_distillation_tokens() {
        let a = coded(1, 18, 3);
        let g = tokens_to_grid(a.view(), None).unwrap();
        assert_eq!(g.dim(), (1, 3, 4, 4));
        assert_eq!(g[[0, 2, 0, 0]], a[[0, 2, 2]]);
        assert_eq!(g[[0, 1, 3, 3]], a[[0, 17, 1]]);
        // Given explicitly, the same.
        assert_eq!(tokens_to_grid(a.view(), Some(2)).unwrap(), g);
    }

    #[test]
    fn explicit_token_count_must_leave_a_square() {
        let a = coded(1, 10, 1);
        assert!(tokens_to_grid(a.view(), Some(0)).is_err());
        assert!(tokens_to_grid(a.view(), Some(11)).is_err());
        assert!(tokens_to_grid(a.view(), Some(10)).is_err());
        // 10 − 6 = 4 = 2²
        assert_eq!(
            tokens_to_grid(a.view(), Some(6)).unwrap().dim(),
            (1, 1, 2, 2)
        );
    }

    #[test]
    fn swin_tokens_without_extras_use_every_token() {
        let a = coded(1, 49, 2);
        let g = tokens_to_grid(a.view(), None).unwrap();
        assert_eq!(g.dim(), (1, 2, 7, 7));
        assert_eq!(g[[0, 1, 6, 5]], a[[0, 6 * 7 + 5, 1]]);
    }

    #[test]
    fn channels_last_becomes_channels_first() {
        let a = Array::from_shape_fn((2, 3, 4, 5), |(n, h, w, c)| {
            (n * 1000 + h * 100 + w * 10 + c) as f32
        });
        let g = to_grid(a.clone().into_dyn(), Layout::ChannelsLast).unwrap();
        assert_eq!(g.dim(), (2, 5, 3, 4));
        assert_eq!(g[[1, 4, 2, 3]], a[[1, 2, 3, 4]]);
        assert!(g.is_standard_layout());
    }

    #[test]
    fn channels_first_passes_through_unchanged() {
        let a = Array::from_shape_fn((1, 2, 3, 4), |(_, c, h, w)| (c * 100 + h * 10 + w) as f32);
        let g = to_grid(a.clone().into_dyn(), Layout::ChannelsFirst).unwrap();
        assert_eq!(g, a);
    }

    #[test]
    fn wrong_rank_is_an_error_naming_the_shape() {
        let a = ArrayD::<f32>::zeros(vec![1, 10, 2]);
        let e = to_grid(a, Layout::ChannelsFirst).unwrap_err();
        assert!(e.0.contains("[1, 10, 2]"), "{e}");
        let b = ArrayD::<f32>::zeros(vec![1, 2, 3, 4]);
        assert!(to_grid(b, Layout::Tokens { extra: None }).is_err());
    }

    #[test]
    fn token_vector_maps_like_the_tensor() {
        let v = Array1::from_iter((0..17).map(|i| i as f32));
        let g = token_vector_to_grid(v.view(), None).unwrap();
        assert_eq!(g.dim(), (4, 4));
        assert_eq!(g[[0, 0]], 1.0);
        assert_eq!(g[[1, 2]], 1.0 + 6.0);
        assert_eq!(g[[3, 3]], 16.0);
        let g2 = token_vector_to_grid(v.view(), Some(1)).unwrap();
        assert_eq!(g, g2);
    }
}
