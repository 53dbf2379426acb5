//! What every figure can do: render to pixels, and save as a PNG (or an SVG) without ever
//! leaving a half-written file behind.

use std::cell::RefCell;
use std::io::Cursor;
use std::path::Path;

use base64::Engine as _;

use image::{ImageFormat, RgbImage};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::canvas::Canvas;
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

    /// [`Figure::save`] in `format`. SVG keeps lines, markers and text as vectors; image
    /// panels (photos, heatmaps) are embedded as one PNG beneath them.
    fn save_as(&self, path: &Path, format: FigureFormat) -> Result<()> {
        match format {
            FigureFormat::Png => self.save(path),
            FigureFormat::Svg => {
                let svg = render_svg(|| self.render())?;
                write_atomic(path, svg.as_bytes())
            }
        }
    }
}

/// The file format of saved figures (`[output] format` in an experiment).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FigureFormat {
    #[default]
    Png,
    Svg,
}

impl FigureFormat {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            FigureFormat::Png => "png",
            FigureFormat::Svg => "svg",
        }
    }
}

thread_local! {
    /// Set while [`render_svg`] runs: [`paint_on`] then draws into an SVG document kept here
    /// instead of onto the pixels, so every figure's `render` serves both formats unchanged.
    static SVG_CAPTURE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `render` with [`paint_on`] drawing SVG; the document of its last paint (a figure may
/// redraw, e.g. to move its legend outside).
fn render_svg(render: impl FnOnce() -> Result<RgbImage>) -> Result<String> {
    SVG_CAPTURE.with(|c| *c.borrow_mut() = Some(String::new()));
    let rendered = render();
    let svg = SVG_CAPTURE
        .with(|c| c.borrow_mut().take())
        .unwrap_or_default();
    rendered?;
    Ok(svg)
}

/// Whether an SVG capture is running on this thread.
fn capturing_svg() -> bool {
    SVG_CAPTURE.with(|c| c.borrow().is_some())
}

/// An SVG document of `canvas`'s size holding `canvas` (the white ground, and any image panels
/// as one embedded PNG) beneath what `draw` paints as vectors.
fn paint_svg(
    canvas: &RgbImage,
    draw: impl FnOnce(&DrawingArea<Canvas, Shift>) -> Result<()>,
) -> Result<String> {
    let size = canvas.dimensions();
    let mut svg = String::new();
    {
        let root = Canvas::Svg(SVGBackend::with_string(&mut svg, size)).into_drawing_area();
        draw(&root)?;
        root.present()?;
    }
    let white = image::Rgb([WHITE.0, WHITE.1, WHITE.2]);
    let ground = if canvas.pixels().all(|p| *p == white) {
        format!(
            r#"<rect x="0" y="0" width="{}" height="{}" fill="rgb({},{},{})"/>"#,
            size.0, size.1, WHITE.0, WHITE.1, WHITE.2
        )
    } else {
        let mut png = Cursor::new(Vec::new());
        canvas
            .write_to(&mut png, ImageFormat::Png)
            .map_err(|e| PlotError::Drawing(format!("embedding the image panels: {e}")))?;
        format!(
            r#"<image x="0" y="0" width="{}" height="{}" href="data:image/png;base64,{}"/>"#,
            size.0,
            size.1,
            base64::engine::general_purpose::STANDARD.encode(png.get_ref())
        )
    };
    // The ground goes first, right after the opening <svg …> tag, so everything draws over it.
    let body = svg
        .find("<svg")
        .and_then(|at| svg[at..].find('>').map(|end| at + end + 1));
    let Some(body) = body else {
        return Err(PlotError::Drawing(
            "the SVG backend wrote no <svg> element".into(),
        ));
    };
    svg.insert_str(body, &ground);
    Ok(svg)
}

/// Writes `image` to `path` as PNG with [`lantern_core::write_atomically`] (encoded in memory
/// first, so an encoding error never touches the destination). Missing folders are created.
pub fn write_png_atomic(image: &RgbImage, path: &Path) -> Result<()> {
    let mut png = Cursor::new(Vec::new());
    image
        .write_to(&mut png, ImageFormat::Png)
        .map_err(|source| PlotError::Encode {
            path: path.to_path_buf(),
            source,
        })?;
    write_atomic(path, png.get_ref())
}

/// Writes `bytes` to `path` atomically, creating missing folders.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let write_err = |source| PlotError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    lantern_core::write_atomically(path, bytes).map_err(write_err)
}

/// A white canvas of `size` on which `draw` paints with plotters; the common frame of all
/// figures. The font is registered first, so a missing font is reported before any drawing.
pub(crate) fn paint(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<Canvas, Shift>) -> Result<()>,
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

/// Lets plotters draw over an existing canvas (image panels already copied in). During an SVG
/// capture the drawing goes into the SVG document and the canvas comes back as it was.
pub(crate) fn paint_on(
    mut canvas: RgbImage,
    draw: impl FnOnce(&DrawingArea<Canvas, Shift>) -> Result<()>,
) -> Result<RgbImage> {
    ensure_font()?;
    if capturing_svg() {
        let svg = paint_svg(&canvas, draw)?;
        SVG_CAPTURE.with(|c| *c.borrow_mut() = Some(svg));
        return Ok(canvas);
    }
    let size = canvas.dimensions();
    {
        let root =
            Canvas::Bitmap(BitMapBackend::with_buffer(&mut canvas, size)).into_drawing_area();
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
