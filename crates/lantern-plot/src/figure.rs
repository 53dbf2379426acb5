//! What every figure can do: render to pixels, and save as a PNG without ever leaving a
//! half-written file behind.

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

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

/// Writes `image` to `path` as PNG via a temporary sibling file and a rename.
pub fn write_png_atomic(image: &RgbImage, path: &Path) -> Result<()> {
    let write_err = |source| PlotError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(write_err)?;
    let tmp = dir.join(temp_name(path));
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(write_err)?;
        let mut out = BufWriter::new(file);
        image
            .write_to(&mut out, ImageFormat::Png)
            .map_err(|source| PlotError::Encode {
                path: path.to_path_buf(),
                source,
            })?;
        let file = out.into_inner().map_err(|e| write_err(e.into_error()))?;
        file.sync_all().map_err(write_err)?;
        std::fs::rename(&tmp, path).map_err(write_err)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A name no other writer in this or another process uses at the same time.
fn temp_name(path: &Path) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "figure".to_string());
    format!(
        ".{stem}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
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
