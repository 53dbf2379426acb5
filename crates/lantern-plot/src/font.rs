//! The font used for all figure text.
//!
//! plotters is built with its `ab_glyph` feature (no fontconfig/freetype at build time), so it
//! has no fonts until one is registered. We load a TrueType file at runtime and register it as
//! the `sans-serif` family, which is the family every figure in this crate asks for.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

use crate::error::FontError;

/// Environment variable that overrides the font file.
pub const FONT_ENV: &str = "LANTERN_FONT";

/// The family name figures use; registered by [`ensure_font`].
pub(crate) const FAMILY: &str = "sans-serif";

/// Regular-weight candidates, in order. The first is what `just setup` installs
/// (Debian `fonts-dejavu-core`); the rest cover other common distributions.
const REGULAR_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/noto/NotoSans-Regular.ttf",
    "/Library/Fonts/Arial.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
];

/// The outcome of the one registration attempt: the font file used, or why none was.
static REGISTERED: OnceLock<Result<PathBuf, FontError>> = OnceLock::new();

/// Makes sure the `sans-serif` font is registered with plotters; returns the file it came from.
///
/// Looks at `LANTERN_FONT` first (an error if set but unusable, so a typo is not silently
/// ignored), then the user's `fonts` folder (`~/.lantern/fonts`), then common system paths. Runs once per process; later calls return the cached
/// outcome. Every figure calls this before drawing, so callers never need to.
pub fn ensure_font() -> Result<&'static Path, FontError> {
    match REGISTERED.get_or_init(register_first_available) {
        Ok(path) => Ok(path.as_path()),
        Err(e) => Err(e.clone()),
    }
}

fn register_first_available() -> Result<PathBuf, FontError> {
    if let Some(path) = std::env::var_os(FONT_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        let bytes = std::fs::read(&path).map_err(|e| FontError::EnvUnreadable {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        register(&path, bytes, FontStyle::Normal)?;
        register_bold_sibling(&path);
        return Ok(path);
    }
    let candidates: Vec<PathBuf> = user_fonts()
        .into_iter()
        .chain(REGULAR_CANDIDATES.iter().map(PathBuf::from))
        .collect();
    for path in &candidates {
        let path = path.as_path();
        // A damaged system font is skipped rather than fatal: the next candidate may do.
        if let Ok(bytes) = std::fs::read(path)
            && register(path, bytes, FontStyle::Normal).is_ok()
        {
            register_bold_sibling(path);
            return Ok(path.to_path_buf());
        }
    }
    Err(FontError::NotFound {
        tried: std::iter::once(format!("${FONT_ENV} (unset)"))
            .chain(
                lantern_core::dirs::user_dirs()
                    .iter()
                    .map(|d| format!("{}/fonts/*.ttf", d.display())),
            )
            .chain(REGULAR_CANDIDATES.iter().map(|s| s.to_string()))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Font files the user put in `~/.lantern/fonts` (or the platform's data folder), sorted,
/// regular faces before bold ones: figures work where no system font is installed.
fn user_fonts() -> Vec<PathBuf> {
    let mut fonts: Vec<PathBuf> = lantern_core::dirs::user_dirs()
        .iter()
        .filter_map(|d| std::fs::read_dir(d.join("fonts")).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("ttf") || e.eq_ignore_ascii_case("otf"))
        })
        .collect();
    fonts.sort_by_key(|p| (p.to_string_lossy().contains("Bold"), p.clone()));
    fonts
}

/// Titles look better in bold; if the regular file has a `-Bold` sibling, register it too.
/// Without it plotters falls back to the regular face, so failure here is not an error.
fn register_bold_sibling(regular: &Path) {
    let Some(name) = regular.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let bold_name = if let Some(stem) = name.strip_suffix("-Regular.ttf") {
        format!("{stem}-Bold.ttf")
    } else if let Some(stem) = name.strip_suffix(".ttf") {
        format!("{stem}-Bold.ttf")
    } else {
        return;
    };
    let bold = regular.with_file_name(bold_name);
    if let Ok(bytes) = std::fs::read(&bold) {
        let _ = register(&bold, bytes, FontStyle::Bold);
    }
}

fn register(path: &Path, bytes: Vec<u8>, style: FontStyle) -> Result<(), FontError> {
    // plotters keeps fonts for the whole process and wants `'static` bytes; this runs at most
    // twice per process, so leaking the buffers is the simple, bounded choice.
    let bytes: &'static [u8] = Vec::leak(bytes);
    register_font(FAMILY, style, bytes).map_err(|_| FontError::Invalid {
        path: path.to_path_buf(),
    })
}
