//! Decoding JPEG and PNG files to 8-bit RGB, the way `PIL.Image.open(p).convert('RGB')` does,
//! with a note for every conversion so that a report can say what happened to each image.
//!
//! Every error names the file and says what is wrong with it in words a user can act on.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{
    DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits, RgbImage,
    metadata::Orientation,
};

use crate::jpeg_markers::scan_jpeg;

/// The default limit on decoded image size: 64 megapixels (8000×8000), well above any photo a
/// classifier is shown, well below what would exhaust memory (RGB8 = 192 MB).
pub const DEFAULT_MAX_PIXELS: u64 = 64_000_000;

/// Knobs for decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Images with more pixels than this are refused before any pixel memory is allocated.
    pub max_pixels: u64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// The container formats Lantern decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    Jpeg,
    Png,
}

impl std::fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SourceFormat::Jpeg => "JPEG",
            SourceFormat::Png => "PNG",
        })
    }
}

/// A decoded image and what was done to turn the file into 8-bit RGB.
#[derive(Debug, Clone)]
pub struct DecodedImage {
    pub image: RgbImage,
    pub format: SourceFormat,
    /// Human-readable notes, e.g. "grayscale expanded to RGB"; empty for plain 8-bit RGB.
    pub notes: Vec<String>,
}

/// Why a file could not be decoded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("cannot read image {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("image file {} is empty (0 bytes)", path.display())]
    Empty { path: PathBuf },
    #[error("{} is not an image: {what}", path.display())]
    NotAnImage { path: PathBuf, what: String },
    #[error("{} is a {format} image; Lantern decodes only JPEG and PNG (convert it first)", path.display())]
    UnsupportedFormat { path: PathBuf, format: String },
    #[error("{} is a truncated {format} file ({size} bytes): {detail}", path.display())]
    Truncated {
        path: PathBuf,
        format: SourceFormat,
        size: usize,
        detail: String,
    },
    #[error(
        "{} is {width}×{height} = {pixels} pixels, more than the limit of {max_pixels} (raise DecodeOptions::max_pixels to decode it)",
        path.display()
    )]
    TooLarge {
        path: PathBuf,
        width: u32,
        height: u32,
        pixels: u64,
        max_pixels: u64,
    },
    #[error("{} uses a {format} feature Lantern's decoder does not support: {detail}", path.display())]
    UnsupportedFeature {
        path: PathBuf,
        format: SourceFormat,
        detail: String,
    },
    #[error("{} is a damaged {format} file: {detail}", path.display())]
    Corrupt {
        path: PathBuf,
        format: SourceFormat,
        detail: String,
    },
}

impl DecodeError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            DecodeError::Read { path, .. }
            | DecodeError::Empty { path }
            | DecodeError::NotAnImage { path, .. }
            | DecodeError::UnsupportedFormat { path, .. }
            | DecodeError::Truncated { path, .. }
            | DecodeError::TooLarge { path, .. }
            | DecodeError::UnsupportedFeature { path, .. }
            | DecodeError::Corrupt { path, .. } => path,
        }
    }
}

/// Decodes `path` to RGB8 with the default options.
pub fn decode_rgb8(path: impl AsRef<Path>) -> Result<DecodedImage, DecodeError> {
    decode_rgb8_with(path, &DecodeOptions::default())
}

/// Decodes `path` to RGB8. Symbolic links are followed.
pub fn decode_rgb8_with(
    path: impl AsRef<Path>,
    options: &DecodeOptions,
) -> Result<DecodedImage, DecodeError> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|source| DecodeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    decode_rgb8_from_bytes(&bytes, path, options)
}

/// Decodes in-memory file contents; `origin` names the source in errors and notes.
pub fn decode_rgb8_from_bytes(
    bytes: &[u8],
    origin: &Path,
    options: &DecodeOptions,
) -> Result<DecodedImage, DecodeError> {
    let path = || origin.to_path_buf();
    if bytes.is_empty() {
        return Err(DecodeError::Empty { path: path() });
    }
    let format = match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => SourceFormat::Jpeg,
        Ok(ImageFormat::Png) => SourceFormat::Png,
        Ok(other) => {
            return Err(DecodeError::UnsupportedFormat {
                path: path(),
                format: format!("{other:?}").to_uppercase(),
            });
        }
        Err(_) => {
            return Err(DecodeError::NotAnImage {
                path: path(),
                what: describe_unknown_content(bytes),
            });
        }
    };
    let mut notes = Vec::new();
    note_extension_mismatch(origin, format, &mut notes);

    let (width, height) = match format {
        SourceFormat::Jpeg => check_jpeg_structure(bytes, origin, &mut notes)?,
        SourceFormat::Png => png_size(bytes).ok_or_else(|| DecodeError::Truncated {
            path: path(),
            format,
            size: bytes.len(),
            detail: "the file ends inside the PNG header".into(),
        })?,
    };
    let pixels = u64::from(width) * u64::from(height);
    if pixels > options.max_pixels {
        return Err(DecodeError::TooLarge {
            path: path(),
            width,
            height,
            pixels,
            max_pixels: options.max_pixels,
        });
    }

    let image_format = match format {
        SourceFormat::Jpeg => ImageFormat::Jpeg,
        SourceFormat::Png => ImageFormat::Png,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format);
    reader.limits(decoder_limits(options));
    let map_error = |error: ImageError| image_error(error, origin, format, bytes.len());
    let mut decoder = reader.into_decoder().map_err(map_error)?;
    if let Ok(orientation) = decoder.orientation()
        && orientation != Orientation::NoTransforms
    {
        notes.push(format!(
            "EXIF orientation {orientation:?} not applied (PIL's Image.open does not apply it either)"
        ));
    }
    if let Ok(Some(_)) = decoder.icc_profile() {
        notes.push(
            "embedded ICC colour profile not applied (pixel values used as stored, as PIL does)"
                .into(),
        );
    }
    let decoded = DynamicImage::from_decoder(decoder).map_err(map_error)?;
    let image = to_rgb8(decoded, &mut notes);
    Ok(DecodedImage {
        image,
        format,
        notes,
    })
}

/// A backstop for the decoders' own allocations: the pixel limit at the widest colour type the
/// decoders produce (RGBA, 16 bits = 8 bytes per pixel), doubled for their working buffers.
fn decoder_limits(options: &DecodeOptions) -> Limits {
    let mut limits = Limits::default();
    limits.max_alloc = Some(options.max_pixels.saturating_mul(16));
    limits
}

/// Checks the file is a complete JPEG and returns its size; adds a note for CMYK/YCCK input.
fn check_jpeg_structure(
    bytes: &[u8],
    origin: &Path,
    notes: &mut Vec<String>,
) -> Result<(u32, u32), DecodeError> {
    let layout = scan_jpeg(bytes);
    let truncated = |detail: &str| DecodeError::Truncated {
        path: origin.to_path_buf(),
        format: SourceFormat::Jpeg,
        size: bytes.len(),
        detail: detail.into(),
    };
    let Some(size) = layout.size else {
        return Err(truncated("the file ends before the frame header"));
    };
    if !layout.complete {
        return Err(truncated(
            "the end-of-image marker is missing, so the pixel data is cut off (PIL refuses such files too)",
        ));
    }
    if layout.components == Some(4) {
        let kind = if layout.adobe_transform == Some(2) {
            "YCCK"
        } else {
            "CMYK"
        };
        notes.push(format!(
            "{kind} JPEG converted to RGB by the decoder (R = (255−C)(255−K)/255 on Adobe-inverted values, no colour management; PIL may differ by a few levels)"
        ));
    }
    Ok(size)
}

/// The width and height in a PNG's IHDR chunk, which the format puts at a fixed offset.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let ihdr = bytes.get(12..24)?;
    if &ihdr[..4] != b"IHDR" {
        return None;
    }
    let width = u32::from_be_bytes(ihdr[4..8].try_into().ok()?);
    let height = u32::from_be_bytes(ihdr[8..12].try_into().ok()?);
    Some((width, height))
}

/// Converts any decoded colour type to RGB8 as PIL's `convert('RGB')` would, noting each step.
fn to_rgb8(decoded: DynamicImage, notes: &mut Vec<String>) -> RgbImage {
    match decoded {
        DynamicImage::ImageRgb8(rgb) => rgb,
        DynamicImage::ImageLuma8(_) => {
            notes.push("grayscale expanded to RGB".into());
            decoded.to_rgb8()
        }
        DynamicImage::ImageLumaA8(ref la) => {
            note_dropped_alpha(la.pixels().map(|p| p.0[1] == u8::MAX), notes);
            notes.push("grayscale expanded to RGB".into());
            decoded.to_rgb8()
        }
        DynamicImage::ImageRgba8(ref rgba) => {
            note_dropped_alpha(rgba.pixels().map(|p| p.0[3] == u8::MAX), notes);
            decoded.to_rgb8()
        }
        DynamicImage::ImageLuma16(gray) => {
            grey16_to_rgb8(gray.dimensions(), |x, y| gray.get_pixel(x, y).0[0], notes)
        }
        DynamicImage::ImageLumaA16(gray) => {
            note_dropped_alpha(gray.pixels().map(|p| p.0[1] == u16::MAX), notes);
            grey16_to_rgb8(gray.dimensions(), |x, y| gray.get_pixel(x, y).0[0], notes)
        }
        DynamicImage::ImageRgb16(rgb) => {
            notes.push(HIGH_BYTE_NOTE.into());
            RgbImage::from_fn(rgb.width(), rgb.height(), |x, y| {
                image::Rgb(rgb.get_pixel(x, y).0.map(high_byte))
            })
        }
        DynamicImage::ImageRgba16(rgba) => {
            note_dropped_alpha(rgba.pixels().map(|p| p.0[3] == u16::MAX), notes);
            notes.push(HIGH_BYTE_NOTE.into());
            RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
                let [r, g, b, _] = rgba.get_pixel(x, y).0;
                image::Rgb([high_byte(r), high_byte(g), high_byte(b)])
            })
        }
        other => {
            notes.push(format!("{:?} pixels converted to 8-bit RGB", other.color()));
            other.to_rgb8()
        }
    }
}

/// A 16-bit grey image of `(width, height)` with values `grey(x, y)` as RGB8 (high byte
/// kept), noting both steps.
fn grey16_to_rgb8(
    (width, height): (u32, u32),
    grey: impl Fn(u32, u32) -> u16,
    notes: &mut Vec<String>,
) -> RgbImage {
    notes.push(HIGH_BYTE_NOTE.into());
    notes.push("grayscale expanded to RGB".into());
    RgbImage::from_fn(width, height, |x, y| {
        let v = high_byte(grey(x, y));
        image::Rgb([v, v, v])
    })
}

const HIGH_BYTE_NOTE: &str = "16-bit reduced to 8-bit (high byte kept, as PIL does)";

/// PIL unpacks 16-bit samples by keeping the high byte; rounding (v/257) would differ by one
/// level on about half the values.
fn high_byte(value: u16) -> u8 {
    (value >> 8) as u8
}

/// PIL's `convert('RGB')` drops alpha without compositing onto a background; we do the same
/// and say how many pixels that affected.
fn note_dropped_alpha(opaque: impl Iterator<Item = bool>, notes: &mut Vec<String>) {
    let (mut total, mut see_through) = (0usize, 0usize);
    for is_opaque in opaque {
        total += 1;
        see_through += usize::from(!is_opaque);
    }
    notes.push(format!(
        "converted from RGBA to RGB (alpha dropped; {see_through} of {total} pixels were not fully opaque)"
    ));
}

fn note_extension_mismatch(origin: &Path, format: SourceFormat, notes: &mut Vec<String>) {
    let Some(extension) = origin.extension().and_then(|e| e.to_str()) else {
        return;
    };
    let claimed = match extension.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" | "jpe" | "jfif" => SourceFormat::Jpeg,
        "png" => SourceFormat::Png,
        _ => return,
    };
    if claimed != format {
        notes.push(format!(
            "file extension .{extension} says {claimed} but the content is {format}; decoded as {format}"
        ));
    }
}

/// Says what a file that is not a known image seems to be.
fn describe_unknown_content(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(48)];
    let looks_like_text = head
        .iter()
        .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace() || b >= 0x80);
    if looks_like_text {
        let text = String::from_utf8_lossy(head);
        format!("it starts with text {text:?} rather than a JPEG or PNG signature")
    } else {
        let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!(
            "its first bytes ({}) are not a JPEG or PNG signature",
            hex.join(" ")
        )
    }
}

fn image_error(error: ImageError, origin: &Path, format: SourceFormat, size: usize) -> DecodeError {
    let path = origin.to_path_buf();
    match error {
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecodeError::Truncated {
                path,
                format,
                size,
                detail: format!("the decoder ran out of data ({io})"),
            }
        }
        ImageError::Unsupported(detail) => DecodeError::UnsupportedFeature {
            path,
            format,
            detail: detail.to_string(),
        },
        ImageError::Limits(detail) => DecodeError::UnsupportedFeature {
            path,
            format,
            detail: format!("decoding would exceed the memory limit ({detail})"),
        },
        other => {
            let detail = other.to_string();
            // The PNG decoder reports a cut-off file as a decoding error, not as an I/O one.
            if detail.contains("end of") || detail.contains("EOF") || detail.contains("eof") {
                DecodeError::Truncated {
                    path,
                    format,
                    size,
                    detail,
                }
            } else {
                DecodeError::Corrupt {
                    path,
                    format,
                    detail,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assets_dir;
    use crate::testing::flat_cmyk_jpeg;

    fn photo(name: &str) -> PathBuf {
        assets_dir().join("photos").join(name)
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn decodes_every_shared_photo() {
        lantern_core::skip_without_assets!();
        for entry in fs::read_dir(assets_dir().join("photos")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "txt") {
                continue;
            }
            let decoded = decode_rgb8(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(decoded.image.width() > 0, "{}", path.display());
        }
    }

    #[test]
    fn plain_rgb_needs_no_notes() {
        lantern_core::skip_without_assets!();
        let jpeg = decode_rgb8(photo("pelican.jpeg")).unwrap();
        assert_eq!(jpeg.format, SourceFormat::Jpeg);
        assert_eq!(jpeg.image.dimensions(), (500, 375));
        assert!(jpeg.notes.is_empty(), "{:?}", jpeg.notes);
        // This one carries a colour profile, which (like PIL) we do not apply.
        let profiled = decode_rgb8(photo("pytorch_hub_dog.jpg")).unwrap();
        assert_eq!(profiled.image.dimensions(), (1546, 1213));
        assert_eq!(
            profiled.notes,
            ["embedded ICC colour profile not applied (pixel values used as stored, as PIL does)"]
        );
        let png = decode_rgb8(photo("cat_dog.png")).unwrap();
        assert_eq!(
            (png.format, png.image.dimensions()),
            (SourceFormat::Png, (224, 224))
        );
        assert!(png.notes.is_empty(), "{:?}", png.notes);
    }

    #[test]
    fn conversions_are_noted() {
        lantern_core::skip_without_assets!();
        let rgba = decode_rgb8(photo("snake.png")).unwrap();
        assert!(
            rgba.notes[0].starts_with("converted from RGBA to RGB (alpha dropped;"),
            "{:?}",
            rgba.notes
        );
        let gray = decode_rgb8(photo("camera.png")).unwrap();
        assert_eq!(gray.notes, ["grayscale expanded to RGB"]);
        assert!(
            gray.image
                .pixels()
                .all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2])
        );
        let mnist = decode_rgb8(assets_dir().join("mnist/7.jpg")).unwrap();
        assert_eq!(mnist.notes, ["grayscale expanded to RGB"]);
    }

    #[test]
    fn sixteen_bit_keeps_the_high_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep.png");
        let deep = image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(3, 2, |x, y| {
            image::Rgb([0x12FF, (x * 0x5000) as u16, (y * 0x80FF) as u16])
        });
        DynamicImage::ImageRgb16(deep).save(&path).unwrap();
        let decoded = decode_rgb8(&path).unwrap();
        assert_eq!(decoded.notes, [HIGH_BYTE_NOTE]);
        assert_eq!(decoded.image.get_pixel(2, 1).0, [0x12, 0xA0, 0x80]);
    }

    #[test]
    fn cmyk_jpeg_decodes_to_rgb_with_a_note() {
        // Adobe-inverted samples: (255, 255, 255, 255) is white, (0, 255, 255, 255) full cyan,
        // (255, 255, 255, 0) full black.
        let bytes = flat_cmyk_jpeg(&[[255, 255, 255, 255], [0, 255, 255, 255], [255, 255, 255, 0]]);
        let decoded =
            decode_rgb8_from_bytes(&bytes, Path::new("cmyk.jpg"), &DecodeOptions::default())
                .unwrap();
        assert_eq!(decoded.image.dimensions(), (24, 8));
        assert!(
            decoded.notes[0].starts_with("CMYK JPEG converted to RGB"),
            "{:?}",
            decoded.notes
        );
        let at = |x| decoded.image.get_pixel(x, 4).0;
        assert_eq!(at(4), [255, 255, 255]);
        assert_eq!(at(12), [0, 255, 255]);
        assert_eq!(at(20), [0, 0, 0]);
    }

    #[test]
    fn paths_with_spaces_and_non_ascii_work() {
        lantern_core::skip_without_assets!();
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("Äpfel und Birnen");
        fs::create_dir(&folder).unwrap();
        let path = folder.join("čaj – 写真.JPG");
        fs::copy(photo("pelican.jpeg"), &path).unwrap();
        assert_eq!(decode_rgb8(&path).unwrap().image.dimensions(), (500, 375));
    }

    #[test]
    fn mismatched_extension_is_noted_not_fatal() {
        lantern_core::skip_without_assets!();
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "really a png.jpg",
            &fs::read(photo("cat_dog.png")).unwrap(),
        );
        let decoded = decode_rgb8(&path).unwrap();
        assert_eq!(decoded.format, SourceFormat::Png);
        assert!(decoded.notes[0].contains(".jpg says JPEG but the content is PNG"));
    }

    #[test]
    fn errors_name_the_file_and_say_what_is_wrong() {
        lantern_core::skip_without_assets!();
        let dir = tempfile::tempdir().unwrap();
        let check = |path: &Path, expected: &str| {
            let err = decode_rgb8(path).unwrap_err();
            assert_eq!(err.path(), path);
            let text = err.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains(expected), "expected {expected:?} in {text}");
        };
        check(&write(dir.path(), "empty.jpg", b""), "is empty (0 bytes)");
        check(
            &write(dir.path(), "notes.jpg", b"Shopping list:\n- apples\n"),
            "is not an image: it starts with text \"Shopping list:",
        );
        check(
            &write(
                dir.path(),
                "anim.png",
                b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
            ),
            "is a GIF image; Lantern decodes only JPEG and PNG",
        );
        check(&dir.path().join("absent.jpg"), "cannot read image");

        let jpeg = fs::read(photo("pytorch_hub_dog.jpg")).unwrap();
        let png = fs::read(photo("coffee.png")).unwrap();
        for (name, bytes, problem) in [
            (
                "half.jpg",
                &jpeg[..jpeg.len() / 2],
                "is a truncated JPEG file",
            ),
            ("header only.jpg", &jpeg[..40], "is a truncated JPEG file"),
            ("half.png", &png[..png.len() / 2], "is a truncated PNG file"),
            ("stub.png", &png[..20], "is a truncated PNG file"),
        ] {
            check(&write(dir.path(), name, bytes), problem);
        }
    }

    #[test]
    fn huge_images_are_refused_before_decoding() {
        lantern_core::skip_without_assets!();
        // A PNG that only claims to be 10000×10000: refused from the header alone.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&10_000u32.to_be_bytes());
        png.extend_from_slice(&10_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        let err = decode_rgb8_from_bytes(&png, Path::new("big.png"), &DecodeOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "big.png is 10000×10000 = 100000000 pixels, more than the limit of 64000000"
            ),
            "{err}"
        );
        // The limit is configurable.
        let small = DecodeOptions {
            max_pixels: 100_000,
        };
        let err = decode_rgb8_with(photo("pelican.jpeg"), &small)
            .unwrap_err()
            .to_string();
        assert!(err.contains("500×375 = 187500 pixels"), "{err}");
    }
}
