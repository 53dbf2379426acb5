//! The one error type of this crate.

use std::path::PathBuf;

use plotters::drawing::DrawingAreaErrorKind;

/// Why the font needed for figure text could not be made available.
///
/// Kept `Clone` because the outcome of the one-time font registration is cached and handed to
/// every later caller.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FontError {
    /// No candidate font file exists.
    #[error(
        "no font for figure text found (looked at: {tried}); run `just setup` (it installs the \
         Debian package fonts-dejavu-core) or set LANTERN_FONT to a .ttf/.otf file"
    )]
    NotFound {
        /// The paths that were looked at, comma separated.
        tried: String,
    },
    /// `LANTERN_FONT` names a file that cannot be read.
    #[error("LANTERN_FONT={path} cannot be read: {reason}")]
    EnvUnreadable {
        /// The path from the environment variable.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// A font file exists but is not a font ab_glyph can parse.
    #[error("{path} is not a usable TrueType/OpenType font; set LANTERN_FONT to another file")]
    Invalid {
        /// The file that failed to parse.
        path: PathBuf,
    },
}

/// Everything that can go wrong while making a figure.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Figure text needs a font and none could be registered.
    #[error(transparent)]
    Font(#[from] FontError),
    /// The figure's input cannot be drawn (empty, mismatched shapes, non-finite values, ...).
    #[error("cannot draw figure: {0}")]
    InvalidInput(String),
    /// plotters reported an error while drawing.
    #[error("drawing failed: {0}")]
    Drawing(String),
    /// Writing or renaming the output file failed.
    #[error("cannot write figure {path}: {source}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// PNG encoding failed.
    #[error("cannot encode figure {path} as PNG: {source}")]
    Encode {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: image::ImageError,
    },
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        PlotError::Drawing(e.to_string())
    }
}

/// Shorthand used throughout the crate.
pub type Result<T> = std::result::Result<T, PlotError>;
