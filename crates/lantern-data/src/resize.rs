//! Pillow's `Image.resize(size, Image.BILINEAR)` for 8-bit images, reproduced exactly.
//!
//! The reference models were fed images resized by Pillow, and an explanation map is only
//! comparable if the input pixels are the same. Pillow's bilinear filter is not textbook
//! bilinear interpolation: when shrinking, the triangle filter is widened by the scale factor
//! (antialiasing), so every output pixel averages all the input pixels it covers. It runs in
//! two passes (horizontal, then vertical) with 22-bit fixed-point weights and rounds to u8 in
//! between. This file follows `libImaging/Resample.c` (`precompute_coeffs`,
//! `normalize_coeffs_8bpc`, `ImagingResampleHorizontal_8bpc`/`Vertical_8bpc`,
//! `ImagingResampleInner`) step for step, including its floating-point expressions, so the
//! results are bit-identical for the same input pixels.

use image::RgbImage;

/// Pillow's fixed-point precision for 8-bit images: 32 bits minus 8 for the pixel value minus
/// 2 for the sign and for overshoot of filters with negative lobes.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Support (half-width) of the triangle filter before widening.
const BILINEAR_SUPPORT: f64 = 1.0;

fn triangle(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 { 1.0 - x } else { 0.0 }
}

/// Resizes an RGB image to `width`×`height` exactly as Pillow's `Image.BILINEAR` does.
pub fn resize_bilinear_pil(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    let pixels = resample_bilinear_pil(
        image.as_raw(),
        image.width() as usize,
        image.height() as usize,
        3,
        width as usize,
        height as usize,
    );
    RgbImage::from_raw(width, height, pixels).expect("resampled buffer has width×height×3 bytes")
}

/// Resizes interleaved 8-bit pixels (`channels` per pixel, rows without padding).
pub fn resample_bilinear_pil(
    pixels: &[u8],
    in_width: usize,
    in_height: usize,
    channels: usize,
    out_width: usize,
    out_height: usize,
) -> Vec<u8> {
    assert_eq!(
        pixels.len(),
        in_width * in_height * channels,
        "pixel buffer does not match {in_width}×{in_height}×{channels}"
    );
    if out_width == 0 || out_height == 0 || in_width == 0 || in_height == 0 {
        return vec![0; out_width * out_height * channels];
    }
    let horizontal = Coefficients::new(in_width, out_width);
    let vertical = Coefficients::new(in_height, out_height);

    // Pillow resamples only along axes whose size changes (the box is always the whole image).
    let need_horizontal = out_width != in_width;
    let need_vertical = out_height != in_height;

    let mut current = pixels.to_vec();
    let mut width = in_width;
    let mut height = in_height;
    let mut vertical_bounds = vertical.bounds.clone();
    if need_horizontal {
        // Only the rows the vertical pass will read are resampled horizontally.
        let first_row = vertical.bounds[0].0;
        let (last_start, last_len) = vertical.bounds[out_height - 1];
        let last_row = last_start + last_len;
        let (rows_from, rows_to) = if need_vertical {
            for bound in &mut vertical_bounds {
                bound.0 -= first_row;
            }
            (first_row, last_row)
        } else {
            (0, in_height)
        };
        current = resample_rows(&current, width, channels, rows_from, rows_to, &horizontal);
        width = out_width;
        height = rows_to - rows_from;
    }
    if need_vertical {
        current = resample_columns(
            &current,
            width,
            height,
            channels,
            &vertical,
            &vertical_bounds,
        );
    }
    current
}

/// Per-output-pixel filter windows and fixed-point weights for one axis.
struct Coefficients {
    /// (first input index, number of input pixels) for every output pixel.
    bounds: Vec<(usize, usize)>,
    /// `window` weights per output pixel, zero-padded past each pixel's count.
    weights: Vec<i32>,
    window: usize,
}

impl Coefficients {
    /// Pillow's `precompute_coeffs` for the box (0, in_size) followed by
    /// `normalize_coeffs_8bpc`.
    fn new(in_size: usize, out_size: usize) -> Self {
        let scale = in_size as f64 / out_size as f64;
        let filter_scale = scale.max(1.0);
        let support = BILINEAR_SUPPORT * filter_scale;
        let window = support.ceil() as usize * 2 + 1;
        let inverse_filter_scale = 1.0 / filter_scale;

        let mut bounds = Vec::with_capacity(out_size);
        let mut weights = vec![0i32; out_size * window];
        let mut raw = vec![0f64; window];
        for out_index in 0..out_size {
            let center = (out_index as f64 + 0.5) * scale;
            // `(int)` in C truncates toward zero, as `as i64` does.
            let first = ((center - support + 0.5) as i64).max(0);
            let end = ((center + support + 0.5) as i64).min(in_size as i64);
            let count = (end - first).max(0) as usize;
            let first = first as usize;

            let mut total = 0.0;
            for (i, weight) in raw.iter_mut().enumerate().take(count) {
                *weight = triangle(((i + first) as f64 - center + 0.5) * inverse_filter_scale);
                total += *weight;
            }
            let fixed = &mut weights[out_index * window..(out_index + 1) * window];
            for (slot, &weight) in fixed.iter_mut().zip(&raw).take(count) {
                let normalised = if total != 0.0 { weight / total } else { weight };
                *slot = to_fixed_point(normalised);
            }
            bounds.push((first, count));
        }
        Coefficients {
            bounds,
            weights,
            window,
        }
    }

    fn weights_of(&self, out_index: usize) -> &[i32] {
        &self.weights[out_index * self.window..(out_index + 1) * self.window]
    }
}

fn to_fixed_point(weight: f64) -> i32 {
    let scaled = weight * f64::from(1u32 << PRECISION_BITS);
    if weight < 0.0 {
        (-0.5 + scaled) as i32
    } else {
        (0.5 + scaled) as i32
    }
}

/// Pillow's `clip8`: drop the fraction bits and clamp to 0..=255.
fn clip8(accumulator: i32) -> u8 {
    if accumulator >= (1 << PRECISION_BITS << 8) {
        255
    } else if accumulator <= 0 {
        0
    } else {
        (accumulator >> PRECISION_BITS) as u8
    }
}

/// Half of one unit in fixed point, so that `clip8` rounds to nearest.
const ROUNDING: i32 = 1 << (PRECISION_BITS - 1);

/// Appends the weighted sum of the sample runs `run(0)`, `run(1)`, … (one per weight, each
/// `sums.len()` samples long), rounded and clipped to 8 bits, to `out`; `sums` is scratch.
fn convolve_into<'a>(
    out: &mut Vec<u8>,
    sums: &mut [i32],
    weights: &[i32],
    run: impl Fn(usize) -> &'a [u8],
) {
    sums.fill(ROUNDING);
    for (i, &weight) in weights.iter().enumerate() {
        for (sum, &value) in sums.iter_mut().zip(run(i)) {
            *sum += i32::from(value) * weight;
        }
    }
    out.extend(sums.iter().map(|&s| clip8(s)));
}

fn resample_rows(
    pixels: &[u8],
    width: usize,
    channels: usize,
    rows_from: usize,
    rows_to: usize,
    coefficients: &Coefficients,
) -> Vec<u8> {
    let out_width = coefficients.bounds.len();
    let mut out = Vec::with_capacity((rows_to - rows_from) * out_width * channels);
    let mut sums = vec![0i32; channels];
    for row in rows_from..rows_to {
        let line = &pixels[row * width * channels..(row + 1) * width * channels];
        for (out_x, &(first, count)) in coefficients.bounds.iter().enumerate() {
            let weights = coefficients.weights_of(out_x);
            convolve_into(&mut out, &mut sums, &weights[..count], |i| {
                &line[(first + i) * channels..(first + i + 1) * channels]
            });
        }
    }
    out
}

fn resample_columns(
    pixels: &[u8],
    width: usize,
    height: usize,
    channels: usize,
    coefficients: &Coefficients,
    bounds: &[(usize, usize)],
) -> Vec<u8> {
    debug_assert_eq!(pixels.len(), width * height * channels);
    let stride = width * channels;
    let mut out = Vec::with_capacity(bounds.len() * stride);
    let mut sums = vec![0i32; stride];
    for (out_y, &(first, count)) in bounds.iter().enumerate() {
        let weights = coefficients.weights_of(out_y);
        convolve_into(&mut out, &mut sums, &weights[..count], |i| {
            &pixels[(first + i) * stride..(first + i + 1) * stride]
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_size_is_a_copy() {
        let image = RgbImage::from_fn(5, 4, |x, y| image::Rgb([x as u8 * 40, y as u8 * 60, 7]));
        assert_eq!(resize_bilinear_pil(&image, 5, 4), image);
    }

    #[test]
    fn constant_image_stays_constant_both_ways() {
        let image = RgbImage::from_pixel(37, 23, image::Rgb([200, 13, 255]));
        for (w, h) in [(10, 5), (80, 61), (37, 50), (1, 1)] {
            let out = resize_bilinear_pil(&image, w, h);
            assert!(out.pixels().all(|p| p.0 == [200, 13, 255]), "{w}×{h}");
        }
    }

    #[test]
    fn halving_averages_pixel_pairs() {
        // Downscaling by 2 widens the triangle to support 2: output x covers inputs 2x-1..2x+2
        // with weights 1/8, 3/8, 3/8, 1/8 (edges renormalised).
        let row = [0u8, 80, 160, 240];
        let image = RgbImage::from_fn(4, 1, |x, _| image::Rgb([row[x as usize]; 3]));
        let out = resize_bilinear_pil(&image, 2, 1);
        // x=0: inputs 0,1,2 weights 3/8,3/8,1/8 /(7/8) → (0·3 + 80·3 + 160)/7 = 57.1 → 57
        // x=1: inputs 1,2,3 weights 1/8,3/8,3/8 /(7/8) → (80 + 480 + 720)/7 = 182.9 → 183
        assert_eq!(out.get_pixel(0, 0).0[0], 57);
        assert_eq!(out.get_pixel(1, 0).0[0], 183);
    }

    #[test]
    fn fixed_point_weights_round_like_pillow() {
        let c = Coefficients::new(4, 2);
        assert_eq!(c.bounds, vec![(0, 3), (1, 3)]);
        let w = c.weights_of(0);
        // 3/7 and 1/7 of 2^22, rounded half away from zero.
        assert_eq!(&w[..3], &[1797559, 1797559, 599186]);
    }
}
