//! Decoding and preprocessing many images in parallel, one result per path, in input order.
//!
//! A failed image never aborts the batch or disappears from it: its slot holds the error, so
//! the run can record it as failed and carry on with the rest.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::decode::{DecodeError, DecodeOptions, decode_rgb8_with};
use crate::preprocess::{Preprocess, PreprocessError, Preprocessed};

/// Why one image of a batch could not be turned into a model input; names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("cannot preprocess {}: {source}", path.display())]
    Preprocess {
        path: PathBuf,
        source: PreprocessError,
    },
}

/// Decodes and preprocesses one image; decode notes come first in the result's notes.
pub fn load_image(
    path: &Path,
    preprocess: &Preprocess,
    options: &DecodeOptions,
) -> Result<Preprocessed, LoadError> {
    let decoded = decode_rgb8_with(path, options)?;
    let mut prepared =
        preprocess
            .apply(&decoded.image)
            .map_err(|source| LoadError::Preprocess {
                path: path.to_path_buf(),
                source,
            })?;
    let mut notes = decoded.notes;
    notes.append(&mut prepared.notes);
    prepared.notes = notes;
    Ok(prepared)
}

/// [`load_image`] for every path on the rayon pool, with the default decode options.
pub fn load_batch<P: AsRef<Path> + Sync>(
    paths: &[P],
    preprocess: &Preprocess,
) -> Vec<Result<Preprocessed, LoadError>> {
    load_batch_with(paths, preprocess, &DecodeOptions::default())
}

/// [`load_image`] for every path on the rayon pool; results are in the order of `paths`.
pub fn load_batch_with<P: AsRef<Path> + Sync>(
    paths: &[P],
    preprocess: &Preprocess,
    options: &DecodeOptions,
) -> Vec<Result<Preprocessed, LoadError>> {
    paths
        .par_iter()
        .map(|path| load_image(path.as_ref(), preprocess, options))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::{Layout, ModelInput};
    use crate::presets::Preset;
    use crate::testing::assets_dir;

    #[test]
    fn results_keep_input_order_and_failures_stay_in_place() {
        lantern_core::skip_without_assets!();
        let assets = assets_dir();
        let paths = [
            assets.join("photos/cat_dog.png"),
            assets.join("photos/absent.jpg"),
            assets.join("mnist/3.jpg"),
            assets.join("photos/pelican.jpeg"),
        ];
        let input = ModelInput::new(3, 224, 224, Layout::Nchw).unwrap();
        let preprocess = Preset::Imagenet.for_model(input).unwrap();
        let results = load_batch(&paths, &preprocess);
        assert_eq!(results.len(), 4);
        assert_eq!(
            results[0].as_ref().unwrap().geometry.source_size,
            (224, 224)
        );
        let err = results[1].as_ref().unwrap_err().to_string();
        assert!(err.contains("absent.jpg"), "{err}");
        let mnist = results[2].as_ref().unwrap();
        assert_eq!(mnist.notes, ["grayscale expanded to RGB"]);
        assert_eq!(mnist.geometry.resized_size, (256, 256));
        assert_eq!(
            results[3].as_ref().unwrap().geometry.source_size,
            (500, 375)
        );

        let mut too_small = preprocess.clone();
        too_small.resize = None;
        let results = load_batch(&paths[2..3], &too_small);
        let err = results[0].as_ref().unwrap_err().to_string();
        assert!(
            err.starts_with("cannot preprocess ") && err.contains("3.jpg"),
            "{err}"
        );
    }
}
