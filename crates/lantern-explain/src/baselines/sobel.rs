//! `sobel`: the edge magnitude of the input, `M = sqrt(Gx² + Gy²)` with the 3×3 Sobel kernels
//! on the channel mean of the model input (borders replicated) — Adebayo et al. (2018)'s
//! edge-detector baseline: a map that knows the image but nothing of the model. No forward or
//! backward pass; the same map for every target.

use super::ModelFreeMap;
use crate::method::Context;
use ndarray::{Array2, ArrayView3, Axis};

/// No parameters.
#[derive(Debug, Clone, Default)]
pub struct SobelMap;

impl ModelFreeMap for SobelMap {
    const NAME: &'static str = "sobel";

    fn map(&self, _ctx: &Context, image: ArrayView3<f32>) -> Array2<f32> {
        let grey = image
            .mean_axis(Axis(0))
            .expect("an image has at least one channel");
        sobel_magnitude(&grey)
    }
}

/// `sqrt(Gx² + Gy²)` with `Gx = [[-1,0,1],[-2,0,2],[-1,0,1]]`, `Gy = Gxᵀ`, replicated borders.
pub fn sobel_magnitude(grey: &Array2<f32>) -> Array2<f32> {
    let (h, w) = grey.dim();
    let at = |y: isize, x: isize| {
        grey[(
            y.clamp(0, h as isize - 1) as usize,
            x.clamp(0, w as isize - 1) as usize,
        )]
    };
    Array2::from_shape_fn((h, w), |(y, x)| {
        let (y, x) = (y as isize, x as isize);
        let gx = at(y - 1, x + 1) + 2.0 * at(y, x + 1) + at(y + 1, x + 1)
            - at(y - 1, x - 1)
            - 2.0 * at(y, x - 1)
            - at(y + 1, x - 1);
        let gy = at(y + 1, x - 1) + 2.0 * at(y + 1, x) + at(y + 1, x + 1)
            - at(y - 1, x - 1)
            - 2.0 * at(y - 1, x)
            - at(y - 1, x + 1);
        (gx * gx + gy * gy).sqrt()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn a_vertical_step_lights_up_its_edge_only() {
        // Left half 0, right half 1: |Gx| = 4 on the two columns beside the step, 0 elsewhere.
        let grey = Array2::from_shape_fn((6, 8), |(_, x)| if x >= 4 { 1.0f32 } else { 0.0 });
        let m = sobel_magnitude(&grey);
        for y in 0..6 {
            assert_eq!(m[(y, 3)], 4.0);
            assert_eq!(m[(y, 4)], 4.0);
            assert_eq!(m[(y, 0)], 0.0);
            assert_eq!(m[(y, 7)], 0.0);
        }
    }

    #[test]
    fn a_flat_image_has_no_edges() {
        let m = sobel_magnitude(&Array2::from_elem((5, 5), 0.3f32));
        assert!(m.iter().all(|&v| v == 0.0));
    }
}
