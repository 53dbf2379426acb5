//! Centre cropping with torchvision's `CenterCrop` offsets.
//!
//! torchvision computes `top = int(round((H - h) / 2))` with Python's `round`, which rounds
//! halves to the even neighbour: a 383-pixel side cropped to 224 starts at 80 (79.5 → 80), and
//! a 385-pixel one at 80 as well (80.5 → 80). Floor or half-up rounding would shift odd cases
//! by one pixel and misalign every map against the reference.

use image::RgbImage;

/// Offset of a centred window of `inner` pixels inside `outer` pixels (`outer ≥ inner`),
/// rounded half to even like Python's `round`.
pub fn center_offset(outer: u32, inner: u32) -> u32 {
    let excess = outer - inner;
    let half = excess / 2;
    if excess % 2 == 1 && half % 2 == 1 {
        // (2k+1)/2 = k + 0.5 rounds to k when k is even, to k + 1 when k is odd.
        half + 1
    } else {
        half
    }
}

/// The centred `width`×`height` window of `image`; `None` if the image is smaller than that.
pub fn center_crop(image: &RgbImage, width: u32, height: u32) -> Option<RgbImage> {
    if image.width() < width || image.height() < height {
        return None;
    }
    let left = center_offset(image.width(), width);
    let top = center_offset(image.height(), height);
    Some(image::imageops::crop_imm(image, left, top, width, height).to_image())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_half_to_even() {
        assert_eq!(center_offset(383, 224), 80); // 79.5
        assert_eq!(center_offset(385, 224), 80); // 80.5
        assert_eq!(center_offset(256, 224), 16);
        assert_eq!(center_offset(224, 224), 0);
        assert_eq!(center_offset(225, 224), 0); // 0.5
        assert_eq!(center_offset(227, 224), 2); // 1.5
    }

    #[test]
    fn crops_the_centre() {
        let image = RgbImage::from_fn(6, 5, |x, y| image::Rgb([x as u8, y as u8, 0]));
        let crop = center_crop(&image, 2, 2).unwrap();
        // offsets: (6-2)/2 = 2, (5-2)/2 = 1.5 → 2
        assert_eq!(crop.get_pixel(0, 0).0, [2, 2, 0]);
        assert!(center_crop(&image, 7, 2).is_none());
    }
}
