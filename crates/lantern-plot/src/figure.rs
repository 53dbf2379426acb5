//! What every figure can do: render to pixels, and save as a PNG without ever leaving a
//! half-written file behind.

use std::io::Cursor;
use std::path::Path;

use image::{ImageFormat, RgbImage};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{PlotError, Result};
use crate::font::ensure_font;
use crate::theme::WHITE;

/// A figure that can be drawn.
pub trait Figure {
    /// Draws the figure into an image.
    fn render(&self) -> Result<RgbImage>;

    /// Draws the figure and writes it to `path` as a PNG, atomically: the image is written to
    /// a temporary file in the same folder and renamed over `path`, so readers (the report,
    /// a rerun that checks for existing artifacts) see either the old file or the complete
    /// new one. Missing parent folders are created.
    fn save(&self, path: &Path) -> Result<()> {
        write_png_atomic(&self.render()?, path)
    }
}

/// Writes `image` to `path` as PNG with [`lantern_core::write_atomically`] (encoded in memory
/// first, so an encoding error never touches the destination). Missing folders are created.
pub fn write_png_atomic(image: &RgbImage, path: &Path) -> Result<()> {
    let write_err = |source| PlotError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut png = Cursor::new(Vec::new());
    image
        .write_to(&mut png, ImageFormat::Png)
        .map_err(|source| PlotError::Encode {
            path: path.to_path_buf(),
            source,
        })?;
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    lantern_core::write_atomically(path, png.get_ref()).map_err(write_err)
}

/// A white canvas of `size` on which `draw` paints with plotters; the common frame of all
/// figures. The font is registered first, so a missing font is reported before any drawing.
pub(crate) fn paint(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> Result<()>,
) -> Result<RgbImage> {
    paint_on(blank(size)?, draw)
}

/// A white canvas of `size`; an error for an empty size.
pub(crate) fn blank(size: (u32, u32)) -> Result<RgbImage> {
    let (w, h) = size;
    if w == 0 || h == 0 {
        return Err(PlotError::InvalidInput(format!(
            "figure size {w}x{h} is empty"
        )));
    }
    Ok(RgbImage::from_pixel(
        w,
        h,
        image::Rgb([WHITE.0, WHITE.1, WHITE.2]),
    ))
}

/// Lets plotters draw over an existing canvas (image panels already copied in).
pub(crate) fn paint_on(
    mut canvas: RgbImage,
    draw: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> Result<()>,
) -> Result<RgbImage> {
    ensure_font()?;
    let size = canvas.dimensions();
    {
        let root = BitMapBackend::with_buffer(&mut canvas, size).into_drawing_area();
        draw(&root)?;
        root.present()?;
    }
    Ok(canvas)
}

/// Copies `src` into the canvas with its top-left corner at `at` (clipped to the canvas).
/// Used for image panels, which plotters would otherwise draw pixel by pixel.
pub(crate) fn blit(canvas: &mut RgbImage, src: &RgbImage, at: (u32, u32)) {
    image::imageops::replace(canvas, src, at.0 as i64, at.1 as i64);
}
