//! Turning a decoded RGB image into a model input tensor: resize, centre crop, channel order,
//! scaling, mean/std normalisation and layout — plus the uint8 image at model resolution
//! before normalisation, which figures draw maps over.
//!
//! Geometry follows torchvision/Pillow exactly (Pillow bilinear resize, `Resize(short side)`
//! truncating the long side, `CenterCrop` offsets rounded half to even), and arithmetic follows
//! torchvision in float32, so a Lantern input equals the reference input the Python libraries
//! saw. Named presets live in `presets.rs`.

use image::{ImageBuffer, Pixel, RgbImage};
use ndarray::Array3;
use serde::{Deserialize, Serialize};

use crate::crop::center_offset;
use crate::grayscale::to_luma_pil;
use crate::resize::resample_bilinear_pil;

/// How to resize before cropping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resize {
    /// Short side to this many pixels, long side `int(n · long / short)` (torchvision
    /// `Resize(n)`).
    ShortSide(u32),
    /// Exactly this size, ignoring the aspect ratio (`img.resize((w, h))`).
    Exact { width: u32, height: u32 },
}

impl Resize {
    /// The size an image of `width`×`height` is resized to.
    pub fn output_size(self, width: u32, height: u32) -> (u32, u32) {
        match self {
            Resize::Exact { width, height } => (width, height),
            Resize::ShortSide(short) => {
                // torchvision: `int(short * long / short_side)`, an integer product divided
                // in double precision, then truncated.
                let scaled = |long: u32, side: u32| {
                    ((u64::from(short) * u64::from(long)) as f64 / f64::from(side)) as u32
                };
                if width <= height {
                    (short, scaled(height, width))
                } else {
                    (scaled(width, height), short)
                }
            }
        }
    }
}

/// Size of the centred window kept after resizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CenterCrop {
    pub width: u32,
    pub height: u32,
}

/// Order of the colour channels in the tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelOrder {
    Rgb,
    /// Caffe/Keras VGG convention.
    Bgr,
}

/// Memory layout of the model input (the batch axis is added by the caller).
pub use lantern_core::Layout;

/// What the model expects for one image, as read from its input shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInput {
    /// 3 for colour, 1 for grayscale models.
    pub channels: usize,
    pub height: u32,
    pub width: u32,
    pub layout: Layout,
}

impl ModelInput {
    /// Checks the values a preprocessor can serve: 1 or 3 channels and a non-empty image.
    pub fn new(
        channels: usize,
        height: u32,
        width: u32,
        layout: Layout,
    ) -> Result<Self, PreprocessError> {
        if channels != 1 && channels != 3 {
            return Err(PreprocessError::UnsupportedChannels { channels });
        }
        if height == 0 || width == 0 {
            return Err(PreprocessError::EmptyModelInput { height, width });
        }
        Ok(ModelInput {
            channels,
            height,
            width,
            layout,
        })
    }

    /// Shape of one image's tensor in this layout.
    pub fn shape(&self) -> [usize; 3] {
        let (c, h, w) = (self.channels, self.height as usize, self.width as usize);
        match self.layout {
            Layout::Nchw => [c, h, w],
            Layout::Nhwc => [h, w, c],
        }
    }
}

/// A complete preprocessing recipe for one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    pub resize: Option<Resize>,
    pub crop: Option<CenterCrop>,
    pub channel_order: ChannelOrder,
    /// Multiplies the 0..255 pixel values first (1/255 for torchvision, 1 for Caffe and raw).
    /// Kept in f64 so that `v · (1/255)` rounds to the same f32 as torchvision's `v / 255`.
    pub scale: f64,
    /// Subtracted after scaling, per tensor channel (i.e. after `channel_order`; for a
    /// 1-channel model all three must be equal).
    pub mean: [f32; 3],
    /// Divides after subtracting the mean, per tensor channel.
    pub std: [f32; 3],
    /// The model's input: channels, size and layout.
    pub input: ModelInput,
}

/// Explicit settings that replace a preset's values; `None` keeps the preset's value. For
/// `resize` and `crop`, `Some(None)` removes the step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreprocessOverrides {
    pub resize: Option<Option<Resize>>,
    pub crop: Option<Option<CenterCrop>>,
    pub channel_order: Option<ChannelOrder>,
    pub scale: Option<f64>,
    pub mean: Option<[f32; 3]>,
    pub std: Option<[f32; 3]>,
}

/// Where the model input came from in the source image, for manifests and for mapping a
/// heat map back onto the original photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geometry {
    /// Decoded image size (width, height).
    pub source_size: (u32, u32),
    /// Size after resizing (equal to `source_size` without a resize step).
    pub resized_size: (u32, u32),
    /// Top-left corner of the crop inside the resized image (left, top).
    pub crop_offset: (u32, u32),
}

/// One preprocessed image.
#[derive(Debug, Clone)]
pub struct Preprocessed {
    /// The model input for this image: `[C, H, W]` or `[H, W, C]` by the layout.
    pub tensor: Array3<f32>,
    /// The image at model-input resolution before normalisation (RGB even for 1-channel
    /// models, whose grey values are repeated), for figures.
    pub display: RgbImage,
    pub geometry: Geometry,
    /// What was done beyond the plain recipe (e.g. the grayscale conversion).
    pub notes: Vec<String>,
}

/// Why a recipe or an image cannot be preprocessed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PreprocessError {
    #[error("the model input has {channels} channels; Lantern feeds 1 (grayscale) or 3 (colour)")]
    UnsupportedChannels { channels: usize },
    #[error("the model input size {width}×{height} is empty")]
    EmptyModelInput { height: u32, width: u32 },
    #[error(
        "unknown preprocessing preset {name:?}; valid presets: {}",
        valid.join(", ")
    )]
    UnknownPreset { name: String, valid: Vec<String> },
    #[error("invalid preprocessing: {0}")]
    InvalidRecipe(String),
    #[error(
        "the image is {image_width}×{image_height} after resizing, smaller than the {crop_width}×{crop_height} crop"
    )]
    CropTooLarge {
        image_width: u32,
        image_height: u32,
        crop_width: u32,
        crop_height: u32,
    },
    #[error(
        "preprocessing gives a {width}×{height} image but the model takes {model_width}×{model_height}; add a resize or crop that produces the model's size"
    )]
    SizeMismatch {
        width: u32,
        height: u32,
        model_width: u32,
        model_height: u32,
    },
}

impl Preprocess {
    /// Replaces the values `overrides` sets and checks the result.
    pub fn with_overrides(
        mut self,
        overrides: &PreprocessOverrides,
    ) -> Result<Self, PreprocessError> {
        self.resize = overrides.resize.unwrap_or(self.resize);
        self.crop = overrides.crop.unwrap_or(self.crop);
        self.channel_order = overrides.channel_order.unwrap_or(self.channel_order);
        self.scale = overrides.scale.unwrap_or(self.scale);
        self.mean = overrides.mean.unwrap_or(self.mean);
        self.std = overrides.std.unwrap_or(self.std);
        self.validate()?;
        Ok(self)
    }

    /// Checks that the recipe is consistent and that, whatever the image's size, it ends at
    /// the model's input size (or can only fail for images too small for the crop).
    pub fn validate(&self) -> Result<(), PreprocessError> {
        let invalid = |reason: String| Err(PreprocessError::InvalidRecipe(reason));
        let model = (self.input.width, self.input.height);
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return invalid(format!(
                "scale must be a positive number, not {}",
                self.scale
            ));
        }
        if let Some(bad) = self.std.iter().find(|s| !(s.is_finite() && **s != 0.0)) {
            return invalid(format!("std values must be finite and non-zero, not {bad}"));
        }
        if self.mean.iter().any(|m| !m.is_finite()) {
            return invalid(format!("mean values must be finite: {:?}", self.mean));
        }
        if self.input.channels == 1
            && (self.mean.iter().any(|&m| m != self.mean[0])
                || self.std.iter().any(|&s| s != self.std[0]))
        {
            return invalid(format!(
                "a 1-channel model needs the same mean and std for all channels (got mean {:?}, std {:?}); override them",
                self.mean, self.std
            ));
        }
        match (self.resize, self.crop) {
            (_, Some(crop)) if (crop.width, crop.height) != model => invalid(format!(
                "the crop is {}×{} but the model takes {}×{}",
                crop.width, crop.height, model.0, model.1
            )),
            (Some(Resize::ShortSide(n)), Some(crop)) if n < crop.width.max(crop.height) => {
                invalid(format!(
                    "resizing the short side to {n} leaves it smaller than the {}×{} crop",
                    crop.width, crop.height
                ))
            }
            (Some(Resize::Exact { width, height }), Some(crop))
                if width < crop.width || height < crop.height =>
            {
                invalid(format!(
                    "resizing to {width}×{height} leaves the image smaller than the {}×{} crop",
                    crop.width, crop.height
                ))
            }
            (Some(Resize::Exact { width, height }), None) if (width, height) != model => {
                invalid(format!(
                    "resizing to {width}×{height} without a crop does not give the model's {}×{}",
                    model.0, model.1
                ))
            }
            (Some(Resize::ShortSide(_)), None) => invalid(
                "a short-side resize without a crop gives a size that depends on each image's aspect ratio; add a crop or resize exactly".into(),
            ),
            _ => Ok(()),
        }
    }

    /// Shape of one image's tensor.
    pub fn output_shape(&self) -> [usize; 3] {
        self.input.shape()
    }

    /// Preprocesses one decoded image.
    pub fn apply(&self, image: &RgbImage) -> Result<Preprocessed, PreprocessError> {
        let mut notes = Vec::new();
        let source_size = image.dimensions();
        // Grayscale models: convert first and resize the grey image, as
        // `Image.open(p).convert('L').resize(...)` does.
        let mut pixels = if self.input.channels == 1 {
            notes.push(
                "converted to grayscale for a 1-channel model (PIL 'L': L = R·299/1000 + G·587/1000 + B·114/1000)".into(),
            );
            Pixels::of(to_luma_pil(image))
        } else {
            Pixels::of(image.clone())
        };

        if let Some(resize) = self.resize {
            let (w, h) = resize.output_size(pixels.width, pixels.height);
            pixels = pixels.resized(w, h);
        }
        let resized_size = (pixels.width, pixels.height);

        let mut crop_offset = (0, 0);
        if let Some(crop) = self.crop {
            if pixels.width < crop.width || pixels.height < crop.height {
                return Err(PreprocessError::CropTooLarge {
                    image_width: pixels.width,
                    image_height: pixels.height,
                    crop_width: crop.width,
                    crop_height: crop.height,
                });
            }
            crop_offset = (
                center_offset(pixels.width, crop.width),
                center_offset(pixels.height, crop.height),
            );
            pixels = pixels.cropped(crop_offset, crop.width, crop.height);
        }
        if (pixels.width, pixels.height) != (self.input.width, self.input.height) {
            return Err(PreprocessError::SizeMismatch {
                width: pixels.width,
                height: pixels.height,
                model_width: self.input.width,
                model_height: self.input.height,
            });
        }

        let tensor = self.normalise(&pixels);
        Ok(Preprocessed {
            tensor,
            display: pixels.into_rgb(),
            geometry: Geometry {
                source_size,
                resized_size,
                crop_offset,
            },
            notes,
        })
    }

    /// `(v · scale − mean) / std` in float32, like torchvision's `ToTensor` + `Normalize`.
    fn normalise(&self, pixels: &Pixels) -> Array3<f32> {
        let channels = self.input.channels;
        let (height, width) = (pixels.height as usize, pixels.width as usize);
        // For BGR, tensor channel c reads source channel 2 − c.
        let source_channel = |c: usize| match (self.channel_order, channels) {
            (ChannelOrder::Bgr, 3) => 2 - c,
            _ => c,
        };
        let value = |c: usize, y: usize, x: usize| {
            let raw = pixels.data[(y * width + x) * pixels.channels + source_channel(c)];
            let scaled = (f64::from(raw) * self.scale) as f32;
            (scaled - self.mean[c]) / self.std[c]
        };
        match self.input.layout {
            Layout::Nchw => {
                Array3::from_shape_fn((channels, height, width), |(c, y, x)| value(c, y, x))
            }
            Layout::Nhwc => {
                Array3::from_shape_fn((height, width, channels), |(y, x, c)| value(c, y, x))
            }
        }
    }
}

/// Interleaved 8-bit pixels with 1 or 3 channels, so grey and colour share one pipeline.
struct Pixels {
    data: Vec<u8>,
    width: u32,
    height: u32,
    channels: usize,
}

impl Pixels {
    /// The pixels of an 8-bit grey ([`image::GrayImage`]) or colour ([`RgbImage`]) image.
    fn of<P: Pixel<Subpixel = u8>>(image: ImageBuffer<P, Vec<u8>>) -> Self {
        let (width, height) = image.dimensions();
        Pixels {
            data: image.into_raw(),
            width,
            height,
            channels: usize::from(P::CHANNEL_COUNT),
        }
    }

    fn resized(self, width: u32, height: u32) -> Self {
        if (width, height) == (self.width, self.height) {
            return self;
        }
        let data = resample_bilinear_pil(
            &self.data,
            self.width as usize,
            self.height as usize,
            self.channels,
            width as usize,
            height as usize,
        );
        Pixels {
            data,
            width,
            height,
            channels: self.channels,
        }
    }

    fn cropped(self, (left, top): (u32, u32), width: u32, height: u32) -> Self {
        let row_bytes = width as usize * self.channels;
        let mut data = Vec::with_capacity(row_bytes * height as usize);
        for y in top..top + height {
            let start = (y as usize * self.width as usize + left as usize) * self.channels;
            data.extend_from_slice(&self.data[start..start + row_bytes]);
        }
        Pixels {
            data,
            width,
            height,
            channels: self.channels,
        }
    }

    fn into_rgb(self) -> RgbImage {
        let data = if self.channels == 3 {
            self.data
        } else {
            self.data.iter().flat_map(|&v| [v, v, v]).collect()
        };
        RgbImage::from_raw(self.width, self.height, data).expect("buffer matches the size")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode_rgb8;
    use crate::presets::Preset;
    use crate::testing::assets_dir;

    fn model(channels: usize, size: u32, layout: Layout) -> ModelInput {
        ModelInput::new(channels, size, size, layout).unwrap()
    }

    #[test]
    fn short_side_truncates_the_long_side_like_torchvision() {
        assert_eq!(Resize::ShortSide(256).output_size(1546, 1213), (326, 256));
        assert_eq!(Resize::ShortSide(256).output_size(467, 700), (256, 383));
        assert_eq!(Resize::ShortSide(256).output_size(224, 224), (256, 256));
        let exact = Resize::Exact {
            width: 5,
            height: 7,
        };
        assert_eq!(exact.output_size(100, 3), (5, 7));
    }

    #[test]
    fn caffe_swaps_to_bgr_and_subtracts_the_bgr_mean() {
        let preprocess = Preset::Caffe
            .for_model(model(3, 224, Layout::Nchw))
            .unwrap();
        let image = RgbImage::from_pixel(300, 260, image::Rgb([10, 20, 30]));
        let out = preprocess.apply(&image).unwrap();
        assert_eq!(out.tensor.shape(), &[3, 224, 224]);
        assert_eq!(out.tensor[[0, 5, 5]], 30.0 - 103.939);
        assert_eq!(out.tensor[[1, 5, 5]], 20.0 - 116.779);
        assert_eq!(out.tensor[[2, 5, 5]], 10.0 - 123.68);
        // The display image stays RGB.
        assert_eq!(out.display.get_pixel(0, 0).0, [10, 20, 30]);
        assert_eq!(out.geometry.resized_size, (295, 256));
        assert_eq!(out.geometry.crop_offset, (36, 16));
    }

    #[test]
    fn nhwc_is_the_transpose_of_nchw() {
        lantern_core::skip_without_assets!();
        let image = decode_rgb8(assets_dir().join("photos/chelsea.png"))
            .unwrap()
            .image;
        let nchw = Preset::Imagenet
            .for_model(model(3, 224, Layout::Nchw))
            .unwrap();
        let nhwc = Preset::Imagenet
            .for_model(model(3, 224, Layout::Nhwc))
            .unwrap();
        let a = nchw.apply(&image).unwrap().tensor;
        let b = nhwc.apply(&image).unwrap().tensor;
        assert_eq!(b.shape(), &[224, 224, 3]);
        assert_eq!(nhwc.output_shape(), [224, 224, 3]);
        assert_eq!(a.permuted_axes([1, 2, 0]), b);
    }

    #[test]
    fn mnist_digit_becomes_a_raw_grayscale_tensor() {
        lantern_core::skip_without_assets!();
        let preprocess = Preset::Raw.for_model(model(1, 28, Layout::Nchw)).unwrap();
        let decoded = decode_rgb8(assets_dir().join("mnist/7.jpg")).unwrap();
        let out = preprocess.apply(&decoded.image).unwrap();
        assert_eq!(out.tensor.shape(), &[1, 28, 28]);
        assert!(out.notes[0].contains("grayscale"), "{:?}", out.notes);
        for (x, y, pixel) in decoded.image.enumerate_pixels() {
            assert_eq!(
                out.tensor[[0, y as usize, x as usize]],
                f32::from(pixel.0[0])
            );
        }
        assert_eq!(out.display, decoded.image);
        let max = out.tensor.iter().copied().fold(0.0, f32::max);
        assert!(max > 200.0, "a digit has bright strokes, max {max}");
    }

    #[test]
    fn colour_images_for_grayscale_models_are_converted_before_resizing() {
        let preprocess = Preset::Raw.for_model(model(1, 2, Layout::Nhwc)).unwrap();
        let image = RgbImage::from_pixel(4, 4, image::Rgb([255, 0, 0]));
        let out = preprocess.apply(&image).unwrap();
        assert_eq!(out.tensor.shape(), &[2, 2, 1]);
        assert!(out.tensor.iter().all(|&v| v == 76.0));
        assert_eq!(out.display.get_pixel(1, 1).0, [76, 76, 76]);
    }

    #[test]
    fn overrides_replace_values_and_are_validated() {
        let base = Preset::Imagenet
            .for_model(model(3, 224, Layout::Nchw))
            .unwrap();
        let squash = base
            .clone()
            .with_overrides(&PreprocessOverrides {
                resize: Some(Some(Resize::Exact {
                    width: 224,
                    height: 224,
                })),
                crop: Some(None),
                mean: Some([0.5; 3]),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(squash.crop, None);
        assert_eq!(squash.mean, [0.5; 3]);
        assert_eq!(squash.std, base.std);

        let no_crop = PreprocessOverrides {
            crop: Some(None),
            ..Default::default()
        };
        let err = base
            .clone()
            .with_overrides(&no_crop)
            .unwrap_err()
            .to_string();
        assert!(err.contains("short-side resize without a crop"), "{err}");
        let zero_std = PreprocessOverrides {
            std: Some([1.0, 0.0, 1.0]),
            ..Default::default()
        };
        assert!(base.clone().with_overrides(&zero_std).is_err());
        let small = PreprocessOverrides {
            resize: Some(Some(Resize::ShortSide(200))),
            ..Default::default()
        };
        let err = base.with_overrides(&small).unwrap_err().to_string();
        assert!(err.contains("smaller than the 224×224 crop"), "{err}");
    }

    #[test]
    fn images_that_do_not_fit_are_errors() {
        let mut preprocess = Preset::Imagenet
            .for_model(model(3, 224, Layout::Nchw))
            .unwrap();
        preprocess.resize = None;
        let small = RgbImage::new(100, 300);
        let err = preprocess.apply(&small).unwrap_err().to_string();
        assert!(
            err.contains("100×300 after resizing, smaller than the 224×224 crop"),
            "{err}"
        );
        preprocess.crop = None;
        let err = preprocess.apply(&small).unwrap_err().to_string();
        assert!(
            err.contains("gives a 100×300 image but the model takes 224×224"),
            "{err}"
        );
        assert!(ModelInput::new(4, 224, 224, Layout::Nchw).is_err());
    }

    #[test]
    fn recipe_serialises_with_readable_names() {
        let preprocess = Preset::Caffe
            .for_model(model(3, 224, Layout::Nchw))
            .unwrap();
        let json = serde_json::to_string(&preprocess).unwrap();
        assert_eq!(
            json,
            r#"{"resize":{"short-side":256},"crop":{"width":224,"height":224},"channel_order":"bgr","scale":1.0,"mean":[103.939,116.779,123.68],"std":[1.0,1.0,1.0],"input":{"channels":3,"height":224,"width":224,"layout":"nchw"}}"#
        );
        let back: Preprocess = serde_json::from_str(&json).unwrap();
        assert_eq!(back, preprocess);
    }
}
