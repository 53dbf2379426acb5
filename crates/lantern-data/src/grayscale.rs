//! RGB → luma the way Pillow's `convert('L')` computes it, for single-channel models (MNIST).
//!
//! Pillow documents L = R·299/1000 + G·587/1000 + B·114/1000 and implements it in 16-bit fixed
//! point with rounding (`L24` in `libImaging/Convert.c`); we use the implementation so values
//! match Pillow exactly. The weights sum to 65536, so grey pixels (R = G = B) stay unchanged.

use image::{GrayImage, RgbImage};

/// One pixel's luma, identical to Pillow's `rgb2l`.
pub fn pil_luma(rgb: [u8; 3]) -> u8 {
    let [r, g, b] = rgb.map(u32::from);
    ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) as u8
}

/// The whole image converted with [`pil_luma`].
pub fn to_luma_pil(image: &RgbImage) -> GrayImage {
    GrayImage::from_fn(image.width(), image.height(), |x, y| {
        image::Luma([pil_luma(image.get_pixel(x, y).0)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_pillow_values() {
        // Pure primaries by Pillow's L24 macro (76, 150, 29 are also the well-known Pillow
        // results for red, green and blue); not re-run against Pillow here.
        assert_eq!(pil_luma([255, 0, 0]), 76);
        assert_eq!(pil_luma([0, 255, 0]), 150);
        assert_eq!(pil_luma([0, 0, 255]), 29);
        assert_eq!(pil_luma([255, 255, 255]), 255);
        for v in 0..=255 {
            assert_eq!(pil_luma([v, v, v]), v);
        }
    }
}
