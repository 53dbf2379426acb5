//! Test support for this crate's unit tests: the shared asset folders, a CMYK JPEG writer and
//! a dataset's rows.

mod cmyk_jpeg;

pub use cmyk_jpeg::flat_cmyk_jpeg;
pub use lantern_core::test_data::{assets_dir, reference_dir};

use crate::dataset::{Dataset, Sample};

/// Each sample's id with `label(sample)`, in dataset order.
pub fn rows<'a, T>(dataset: &'a Dataset, label: impl Fn(&'a Sample) -> T) -> Vec<(&'a str, T)> {
    dataset
        .samples
        .iter()
        .map(|s| (s.id.as_str(), label(s)))
        .collect()
}
