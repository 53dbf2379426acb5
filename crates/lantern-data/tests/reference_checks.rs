//! Agreement with the Python reference pipeline (Pillow resize, torchvision crop/normalise),
//! using the uint8 images and input tensors stored in `shared/reference`.
//!
//! PNG sources must match bit for bit: the resize reproduces Pillow's integer arithmetic.
//! JPEG sources differ slightly because zune-jpeg and libjpeg-turbo (Pillow's decoder) round
//! the inverse DCT and chroma upsampling differently; the numbers are printed (run with
//! `--nocapture`) and bounded. Seen with zune-jpeg 0.5.15: guitar max 1 / mean 0.0091 levels,
//! Samoyed max 1 / mean 0.0089; both PNG cases and the cat_dog input tensor are exact.

use std::path::Path;

use image::RgbImage;

use lantern_core::test_data::{assets_dir, reference_dir};
use lantern_data::{
    Layout, ModelInput, Preset, Resize, center_crop, decode_rgb8, read_npy, resize_bilinear_pil,
};

/// (max, mean) absolute difference in u8 levels over all channels.
fn difference(ours: &RgbImage, theirs: &RgbImage) -> (u8, f64) {
    assert_eq!(ours.dimensions(), theirs.dimensions());
    let diffs: Vec<u8> = ours
        .as_raw()
        .iter()
        .zip(theirs.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .collect();
    let max = diffs.iter().copied().max().unwrap_or(0);
    let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
    (max, mean)
}

fn reference_image(relative: &str) -> RgbImage {
    decode_rgb8(reference_dir().join(relative)).unwrap().image
}

/// Resize(256) + CenterCrop(224) on a decoded file.
fn resize_and_crop(path: &Path) -> (RgbImage, (u32, u32)) {
    let image = decode_rgb8(path).unwrap().image;
    let (w, h) = Resize::ShortSide(256).output_size(image.width(), image.height());
    let resized = resize_bilinear_pil(&image, w, h);
    (center_crop(&resized, 224, 224).unwrap(), (w, h))
}

/// Resize(256) + CenterCrop(224) of the asset `photo` (resized to `resized` first) against
/// Pillow's `reference`: at most `max_levels` apart anywhere and a mean below 0.05 levels.
fn check_resize_and_crop(
    label: &str,
    photo: &str,
    resized: (u32, u32),
    reference: &str,
    max_levels: u8,
) {
    let (ours, size) = resize_and_crop(&assets_dir().join(photo));
    assert_eq!(size, resized);
    let (max, mean) = difference(&ours, &reference_image(reference));
    println!("{label} resize 256 + crop 224 vs Pillow: max {max}, mean {mean:.4} levels");
    assert!(mean < 0.05, "mean difference {mean}");
    assert!(max <= max_levels, "max difference {max}");
}

#[test]
fn guitar_jpeg_resize_and_crop_is_close_to_pillow() {
    lantern_core::skip_without_reference!();
    check_resize_and_crop(
        "acoustic guitar (JPEG)",
        "imagenet/samples/n02676566_acoustic_guitar.JPEG",
        (383, 256),
        "mobilenetv2/n02676566_acoustic_guitar_resized.png",
        2,
    );
}

#[test]
fn samoyed_jpeg_resize_and_crop_is_close_to_pillow() {
    lantern_core::skip_without_reference!();
    check_resize_and_crop(
        "pytorch_hub_dog (JPEG)",
        "photos/pytorch_hub_dog.jpg",
        (326, 256),
        "mobilenetv2/pytorch_hub_dog_resized.png",
        2,
    );
}

#[test]
fn cat_dog_png_upscale_and_crop_equals_pillow() {
    lantern_core::skip_without_reference!();
    check_resize_and_crop(
        "cat_dog (PNG, upscaled)",
        "photos/cat_dog.png",
        (256, 256),
        "mobilenetv2/cat_dog-t243_resized.png",
        0,
    );
}

#[test]
fn plain_224_resize_equals_pillow() {
    lantern_core::skip_without_reference!();
    for name in ["shapes", "stripes"] {
        let source = reference_dir().join(format!("tinycnn/images/{name}.png"));
        let image = decode_rgb8(&source).unwrap().image;
        let ours = resize_bilinear_pil(&image, 224, 224);
        let theirs = reference_image(&format!("tinycnn/{name}_resized.png"));
        let (max, mean) = difference(&ours, &theirs);
        println!(
            "{name} (PNG {}×{}) resize to 224×224 vs Pillow: max {max}, mean {mean:.4} levels",
            image.width(),
            image.height()
        );
        assert_eq!(max, 0, "{name}");
    }
    // resnet18 style on a 224×224 image leaves it unchanged.
    let cat_dog = decode_rgb8(assets_dir().join("photos/cat_dog.png"))
        .unwrap()
        .image;
    let theirs = reference_image("resnet18/cat_dog_resized.png");
    assert_eq!(
        difference(&resize_bilinear_pil(&cat_dog, 224, 224), &theirs).0,
        0
    );
}

fn imagenet_224() -> ModelInput {
    ModelInput::new(3, 224, 224, Layout::Nchw).unwrap()
}

fn max_abs_difference(ours: &ndarray::Array3<f32>, reference: &str) -> f32 {
    let theirs = read_npy::<f32>(reference_dir().join(reference)).unwrap();
    assert_eq!(theirs.shape(), &[1, 3, 224, 224]);
    let theirs = theirs.index_axis(ndarray::Axis(0), 0);
    ours.iter()
        .zip(theirs.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

#[test]
fn imagenet_preset_reproduces_the_reference_input() {
    lantern_core::skip_without_reference!();
    let preprocess = Preset::Imagenet.for_model(imagenet_224()).unwrap();
    let image = decode_rgb8(assets_dir().join("photos/cat_dog.png"))
        .unwrap()
        .image;
    let prepared = preprocess.apply(&image).unwrap();
    assert_eq!(prepared.geometry.resized_size, (256, 256));
    assert_eq!(prepared.geometry.crop_offset, (16, 16));
    let max = max_abs_difference(&prepared.tensor, "mobilenetv2/cat_dog-t243_input.npy");
    println!("cat_dog imagenet preset vs reference input.npy: max abs diff {max:e}");
    assert_eq!(max, 0.0, "the tensor should be bit-identical");
    assert_eq!(
        prepared.display,
        reference_image("mobilenetv2/cat_dog-t243_resized.png")
    );

    // JPEG: the difference is the decoder's, 1/(255·std) ≈ 0.0175 per level (blue channel).
    let guitar = decode_rgb8(assets_dir().join("imagenet/samples/n02676566_acoustic_guitar.JPEG"))
        .unwrap()
        .image;
    let prepared = preprocess.apply(&guitar).unwrap();
    assert_eq!(prepared.geometry.crop_offset, (80, 16));
    let max = max_abs_difference(
        &prepared.tensor,
        "mobilenetv2/n02676566_acoustic_guitar_input.npy",
    );
    println!("acoustic guitar imagenet preset vs reference input.npy: max abs diff {max:e}");
    assert!(max < 0.036, "max difference {max} (more than 2 levels)");
}
