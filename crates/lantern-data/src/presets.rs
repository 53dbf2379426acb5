//! Named preprocessing recipes, adapted to the model's input size.
//!
//! | name | geometry | values |
//! |---|---|---|
//! | `imagenet` | short side → ⌊S·256/224⌋, centre crop S | /255, ImageNet mean/std, RGB |
//! | `imagenet-squash` | resize exactly to the model size (torchvision ResNet18 demo style) | as `imagenet` |
//! | `caffe` | as `imagenet` | Keras VGG16 `preprocess_input`: BGR, minus the BGR mean, no scaling |
//! | `raw` | resize exactly to the model size | 0..255 as they are (MNIST) |
//!
//! For a 224-pixel model `imagenet` is the classic Resize(256) + CenterCrop(224); other sizes
//! keep the same 224/256 = 0.875 crop fraction (timm's default `crop_pct`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::preprocess::{
    CenterCrop, ChannelOrder, ModelInput, Preprocess, PreprocessError, Resize,
};

/// torchvision's ImageNet statistics (RGB order).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
/// Caffe VGG16 mean pixel in BGR order, as Keras `preprocess_input(mode='caffe')` subtracts it.
pub const CAFFE_MEAN_BGR: [f32; 3] = [103.939, 116.779, 123.68];

/// A named preprocessing recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    Imagenet,
    ImagenetSquash,
    Caffe,
    Raw,
}

impl Preset {
    pub const ALL: [Preset; 4] = [
        Preset::Imagenet,
        Preset::ImagenetSquash,
        Preset::Caffe,
        Preset::Raw,
    ];

    /// The name used in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Imagenet => "imagenet",
            Preset::ImagenetSquash => "imagenet-squash",
            Preset::Caffe => "caffe",
            Preset::Raw => "raw",
        }
    }

    /// The recipe for a model with the given input; fails only for recipes the model cannot
    /// take (e.g. per-channel means on a 1-channel model).
    pub fn for_model(self, input: ModelInput) -> Result<Preprocess, PreprocessError> {
        let exact = Resize::Exact {
            width: input.width,
            height: input.height,
        };
        let crop = CenterCrop {
            width: input.width,
            height: input.height,
        };
        // 224 → 256 exactly; the integer form avoids 224/0.875 = 255.99… surprises.
        let short_side = input.width.max(input.height) * 256 / 224;
        let (resize, crop) = match self {
            Preset::Imagenet | Preset::Caffe => (Some(Resize::ShortSide(short_side)), Some(crop)),
            Preset::ImagenetSquash | Preset::Raw => (Some(exact), None),
        };
        let (channel_order, scale, mean, std) = match self {
            Preset::Imagenet | Preset::ImagenetSquash => {
                (ChannelOrder::Rgb, 1.0 / 255.0, IMAGENET_MEAN, IMAGENET_STD)
            }
            Preset::Caffe => (ChannelOrder::Bgr, 1.0, CAFFE_MEAN_BGR, [1.0; 3]),
            Preset::Raw => (ChannelOrder::Rgb, 1.0, [0.0; 3], [1.0; 3]),
        };
        let recipe = Preprocess {
            resize,
            crop,
            channel_order,
            scale,
            mean,
            std,
            input,
        };
        recipe.validate()?;
        Ok(recipe)
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = PreprocessError;

    /// Exact, lower-case names only, so a typo is reported rather than guessed.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Preset::ALL
            .into_iter()
            .find(|preset| preset.name() == name)
            .ok_or_else(|| PreprocessError::UnknownPreset {
                name: name.to_string(),
                valid: Preset::ALL.iter().map(|p| p.name().to_string()).collect(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::Layout;

    fn model(channels: usize, size: u32) -> ModelInput {
        ModelInput::new(channels, size, size, Layout::Nchw).unwrap()
    }

    #[test]
    fn names_round_trip_and_unknown_names_list_the_valid_ones() {
        for preset in Preset::ALL {
            assert_eq!(preset.name().parse::<Preset>().unwrap(), preset);
        }
        let err = "imagenett".parse::<Preset>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown preprocessing preset \"imagenett\"; valid presets: imagenet, imagenet-squash, caffe, raw"
        );
    }

    #[test]
    fn geometry_follows_the_model_size() {
        let p = Preset::Imagenet.for_model(model(3, 224)).unwrap();
        assert_eq!(p.resize, Some(Resize::ShortSide(256)));
        assert_eq!(
            p.crop,
            Some(CenterCrop {
                width: 224,
                height: 224
            })
        );
        let p = Preset::Caffe.for_model(model(3, 299)).unwrap();
        assert_eq!(p.resize, Some(Resize::ShortSide(341)));
        assert_eq!(p.channel_order, ChannelOrder::Bgr);
        let p = Preset::ImagenetSquash.for_model(model(3, 224)).unwrap();
        assert_eq!(
            p.resize,
            Some(Resize::Exact {
                width: 224,
                height: 224
            })
        );
        assert_eq!(p.crop, None);
        let p = Preset::Raw.for_model(model(1, 28)).unwrap();
        assert_eq!((p.scale, p.mean, p.std), (1.0, [0.0; 3], [1.0; 3]));
    }

    #[test]
    fn per_channel_statistics_are_refused_for_grayscale_models() {
        let err = Preset::Imagenet
            .for_model(model(1, 28))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("1-channel model needs the same mean and std"),
            "{err}"
        );
    }
}
