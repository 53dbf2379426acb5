//! Test support for this crate's unit tests: the shared asset folders and a CMYK JPEG writer.

mod cmyk_jpeg;

pub use cmyk_jpeg::flat_cmyk_jpeg;
pub use lantern_core::test_data::{assets_dir, reference_dir};
