//! Datasets (Plant Pathology CSV, ImageFolder, path lists), image decoding and preprocessing
//! presets, and NumPy `.npy` files.
//!
//! The pipeline for one image is [`decode_rgb8`] (JPEG/PNG → RGB8 with notes) →
//! [`Preprocess::apply`] (Pillow-exact resize, torchvision centre crop, normalisation) → a
//! tensor in the model's layout plus the display image; [`load_batch`] does both for many
//! images in parallel. Datasets list samples and never drop a bad one silently.

mod batch;
mod boxes;
mod crop;
mod dataset;
mod decode;
mod grayscale;
mod jpeg_markers;
mod labels;
mod npy;
mod preprocess;
mod presets;
#[cfg(test)]
mod reference_checks;
mod resize;
#[cfg(test)]
mod test_assets;
#[cfg(test)]
mod test_cmyk_jpeg;

pub use batch::{LoadError, load_batch, load_batch_with, load_image};
pub use boxes::{PixelBox, box_to_input, load_boxes};
pub use crop::{center_crop, center_offset};
pub use dataset::{
    Dataset, DatasetError, IMAGE_EXTENSIONS, PLANT_PATHOLOGY_2020_CLASSES, Sample, Split,
    has_image_extension,
};
pub use decode::{
    DEFAULT_MAX_PIXELS, DecodeError, DecodeOptions, DecodedImage, SourceFormat, decode_rgb8,
    decode_rgb8_from_bytes, decode_rgb8_with,
};
pub use grayscale::{pil_luma, to_luma_pil};
pub use image::{GrayImage, RgbImage};
pub use labels::{ClassNames, LabelError};
pub use npy::{
    NpyArray, NpyDtype, NpyElement, NpyError, parse_npy_bytes, read_npy, read_npy_any, write_npy,
    write_npy_bytes,
};
pub use preprocess::{
    CenterCrop, ChannelOrder, Geometry, Layout, ModelInput, Preprocess, PreprocessError,
    PreprocessOverrides, Preprocessed, Resize,
};
pub use presets::{CAFFE_MEAN_BGR, IMAGENET_MEAN, IMAGENET_STD, Preset};
pub use resize::{resample_bilinear_pil, resize_bilinear_pil};
