//! Measuring and placing text so that it fits its space instead of being clipped.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontDesc, FontStyle, FontTransform};

use crate::error::Result;
use crate::font::FAMILY;
use crate::theme::{LABEL_PX, MARGIN, MIN_TEXT_PX, MUTED_TEXT, SUBTITLE_PX, TEXT, TITLE_PX};

/// The figure font at `size` pixels.
pub(crate) fn font(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FAMILY), size, FontStyle::Normal)
}

/// The bold figure font (falls back to regular when no bold face was found).
pub(crate) fn bold(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FAMILY), size, FontStyle::Bold)
}

/// Width and height of `text` in pixels when set in `font`.
pub(crate) fn text_size(text: &str, font: &FontDesc) -> (u32, u32) {
    font.box_size(text).unwrap_or((0, 0))
}

/// The largest size ≤ `preferred` (down to the readable minimum) at which `text` fits in
/// `max_width`, and the text itself, shortened with "…" if it does not fit even then.
pub(crate) fn fit(
    text: &str,
    preferred: f64,
    max_width: u32,
    make: fn(f64) -> FontDesc<'static>,
) -> (String, f64) {
    let mut size = preferred;
    while size > MIN_TEXT_PX && text_size(text, &make(size)).0 > max_width {
        size -= 1.0;
    }
    let size = size.max(MIN_TEXT_PX);
    if text_size(text, &make(size)).0 <= max_width {
        return (text.to_string(), size);
    }
    let chars: Vec<char> = text.chars().collect();
    for keep in (0..chars.len()).rev() {
        let candidate: String = chars[..keep].iter().collect::<String>() + "…";
        if text_size(&candidate, &make(size)).0 <= max_width {
            return (candidate, size);
        }
    }
    ("…".to_string(), size)
}

/// Where a piece of text is anchored relative to the point it is drawn at.
#[derive(Clone, Copy)]
pub(crate) enum Anchor {
    TopCentre,
    CentreLeft,
    Centre,
    CentreRight,
    BottomCentre,
}

impl Anchor {
    fn pos(self) -> Pos {
        let (h, v) = match self {
            Anchor::TopCentre => (HPos::Center, VPos::Top),
            Anchor::CentreLeft => (HPos::Left, VPos::Center),
            Anchor::Centre => (HPos::Center, VPos::Center),
            Anchor::CentreRight => (HPos::Right, VPos::Center),
            Anchor::BottomCentre => (HPos::Center, VPos::Bottom),
        };
        Pos::new(h, v)
    }
}

/// Draws `text` at `at` with the given anchor.
pub(crate) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
    font: FontDesc,
    colour: RGBColor,
    at: (i32, i32),
    anchor: Anchor,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let style = font.color(&colour).pos(anchor.pos());
    area.draw_text(text, &style, at)?;
    Ok(())
}

/// Draws `text` rotated to read bottom-to-top, horizontally centred on `at`. With `centred`
/// the text is also vertically centred on `at` (vertical axis titles); otherwise its last
/// character is at `at` and the text hangs below it (long category labels under an axis).
pub(crate) fn draw_vertical<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
    font: FontDesc,
    colour: RGBColor,
    at: (i32, i32),
    centred: bool,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    // Rotate270 maps the text's +x direction to screen -y (upwards). Anchoring at the text's
    // right end puts that end at `at`; anchoring at its centre centres the text on `at`.
    let h = if centred { HPos::Center } else { HPos::Right };
    let style = font
        .transform(FontTransform::Rotate270)
        .color(&colour)
        .pos(Pos::new(h, VPos::Center));
    area.draw_text(text, &style, at)?;
    Ok(())
}

/// Draws a column header: `label` at [`LABEL_PX`], shrunk to fit `width` (see [`fit`]), its top
/// centre at `at`.
pub(crate) fn column_header<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    label: &str,
    width: u32,
    at: (i32, i32),
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (label, size) = fit(label, LABEL_PX, width, font);
    draw(area, &label, font(size), TEXT, at, Anchor::TopCentre)
}

/// Height taken by a heading with an optional subtitle (see [`heading`]).
pub(crate) fn heading_height(has_subtitle: bool) -> i32 {
    let mut h = 6 + (TITLE_PX * 1.25) as i32;
    if has_subtitle {
        h += (SUBTITLE_PX * 1.4) as i32;
    }
    h
}

/// Draws a figure's bold title and optional muted subtitle, centred in `width`, starting at the
/// top margin; both shrink to fit. Returns the y just below them.
pub(crate) fn heading<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    width: u32,
    title: &str,
    subtitle: Option<&str>,
) -> Result<i32>
where
    DB::ErrorType: 'static,
{
    let centre = width as i32 / 2;
    let room = width.saturating_sub(2 * MARGIN);
    // Text tops sit a few pixels lower than their nominal line, because the rasteriser draws
    // capitals slightly above the anchor.
    let top = MARGIN as i32;
    let title_y = top + 6;
    let (t, size) = fit(title, TITLE_PX, room, bold);
    draw(
        area,
        &t,
        bold(size),
        TEXT,
        (centre, title_y),
        Anchor::TopCentre,
    )?;
    if let Some(sub) = subtitle {
        let sub_y = title_y + (TITLE_PX * 1.25) as i32;
        let (s, size) = fit(sub, SUBTITLE_PX, room, font);
        draw(
            area,
            &s,
            font(size),
            MUTED_TEXT,
            (centre, sub_y),
            Anchor::TopCentre,
        )?;
    }
    Ok(top + heading_height(subtitle.is_some()))
}
