//! The methods-comparison grid: one row per image, one column for the image and one overlay
//! per method, with method names as column headers.

use image::RgbImage;
use ndarray::Array2;
use plotters::prelude::*;

use crate::colour_bar::draw_relative_key;
use crate::error::{PlotError, Result};
use crate::figure::{Figure, blank, blit, paint_on};
use crate::font::ensure_font;
use crate::map_style::{MapStyle, check_same_size, panel_size};
use crate::text::{self, Anchor};
use crate::theme::{LABEL_PX, MARGIN, MUTED_TEXT, TEXT, TICK_PX};

/// One method column: its header and how its maps are shown.
#[derive(Debug, Clone, PartialEq)]
pub struct GridColumn {
    /// Column header (the method name).
    pub name: String,
    /// Colours and scale for this method's maps.
    pub style: MapStyle,
}

impl GridColumn {
    /// A column with the default (jet, min–max) style.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            style: MapStyle::default(),
        }
    }

    /// A column for a signed method (diverging colours centred at 0).
    pub fn signed(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            style: MapStyle::signed(),
        }
    }
}

/// One image and its maps, one per column (`None` where a method has no map for it).
#[derive(Debug, Clone)]
pub struct GridRow<'a> {
    /// Row label (e.g. "bull mastiff p=0.39"), written vertically left of the row.
    pub label: String,
    /// The image at model-input resolution.
    pub image: &'a RgbImage,
    /// The maps at the image's resolution, in column order.
    pub maps: Vec<Option<&'a Array2<f32>>>,
}

/// The comparison grid figure.
#[derive(Debug, Clone)]
pub struct ComparisonGrid<'a> {
    /// Main title.
    pub title: String,
    /// Smaller line under the title.
    pub subtitle: Option<String>,
    /// Header over the image column.
    pub image_header: String,
    /// The method columns.
    pub columns: Vec<GridColumn>,
    /// The rows.
    pub rows: Vec<GridRow<'a>>,
    /// Side of each cell in pixels (images keep their aspect ratio inside).
    pub cell_px: u32,
}

impl<'a> ComparisonGrid<'a> {
    /// A grid with the given method columns and no rows yet.
    pub fn new(title: impl Into<String>, columns: Vec<GridColumn>) -> Self {
        Self {
            title: title.into(),
            subtitle: None,
            image_header: "image".to_string(),
            columns,
            rows: Vec::new(),
            cell_px: 200,
        }
    }

    /// Adds a subtitle.
    pub fn subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// Adds a row with one map per column.
    pub fn row(
        mut self,
        label: impl Into<String>,
        image: &'a RgbImage,
        maps: Vec<Option<&'a Array2<f32>>>,
    ) -> Self {
        self.rows.push(GridRow {
            label: label.into(),
            image,
            maps,
        });
        self
    }

    /// The distinct styles used, in column order (one key each under the grid).
    fn styles(&self) -> Vec<MapStyle> {
        let mut styles: Vec<MapStyle> = Vec::new();
        for c in &self.columns {
            if !styles
                .iter()
                .any(|s| s.colormap == c.style.colormap && s.scale == c.style.scale)
            {
                styles.push(c.style);
            }
        }
        styles
    }

    fn check(&self) -> Result<()> {
        if self.rows.is_empty() {
            return Err(PlotError::InvalidInput("the grid has no rows".to_string()));
        }
        for row in &self.rows {
            if row.maps.len() != self.columns.len() {
                return Err(PlotError::InvalidInput(format!(
                    "row \"{}\" has {} maps for {} methods",
                    row.label,
                    row.maps.len(),
                    self.columns.len()
                )));
            }
            for map in row.maps.iter().flatten() {
                check_same_size(row.image, map)?;
            }
        }
        Ok(())
    }
}

/// Gap between cells.
const GAP: u32 = 8;
/// Width of a key strip under the grid.
const KEY_W: u32 = 180;

/// Where everything goes.
struct Layout {
    size: (u32, u32),
    cell: u32,
    /// Left edge of the first cell column.
    left: u32,
    /// Top of the header row.
    header_y: u32,
    /// Top of the first cell row.
    top: u32,
    /// Top of the key strip.
    key_y: u32,
}

impl Layout {
    fn new(grid: &ComparisonGrid) -> Self {
        let cell = grid.cell_px.max(32);
        let cols = grid.columns.len() as u32 + 1;
        let rows = grid.rows.len() as u32;
        let label_band = (LABEL_PX * 1.6) as u32;
        let left = MARGIN + label_band;
        let header_y = MARGIN + text::heading_height(grid.subtitle.is_some()) as u32 + 8;
        let top = header_y + (LABEL_PX * 1.5) as u32;
        let grid_h = rows * cell + (rows - 1) * GAP;
        let key_y = top + grid_h + 16;
        let key_h = 14 + 4 + (TICK_PX * 1.4) as u32;
        let grid_w = cols * cell + (cols - 1) * GAP;
        let keys = grid.styles().len() as u32;
        let keys_w = keys * (KEY_W + 150);
        let title_w = text::text_size(&grid.title, &text::bold(crate::theme::TITLE_PX)).0;
        let width = (left + grid_w + MARGIN)
            .max(keys_w + 2 * MARGIN)
            .max(title_w + 2 * MARGIN);
        Self {
            size: (width, key_y + key_h + MARGIN),
            cell,
            left,
            header_y,
            top,
            key_y,
        }
    }

    /// Top-left corner of cell (row, column).
    fn cell_origin(&self, row: usize, col: usize) -> (u32, u32) {
        (
            self.left + col as u32 * (self.cell + GAP),
            self.top + row as u32 * (self.cell + GAP),
        )
    }
}

impl Figure for ComparisonGrid<'_> {
    fn render(&self) -> Result<RgbImage> {
        ensure_font()?;
        self.check()?;
        let layout = Layout::new(self);
        let mut canvas = blank(layout.size)?;
        let mut missing = Vec::new();
        for (r, row) in self.rows.iter().enumerate() {
            let size = panel_size(row.image, layout.cell);
            // Centre images that are not square inside their square cell.
            let inset = ((layout.cell - size.0) / 2, (layout.cell - size.1) / 2);
            let place = |col: usize| {
                let (x, y) = layout.cell_origin(r, col);
                (x + inset.0, y + inset.1)
            };
            let mut photo = None;
            for (c, (column, map)) in self.columns.iter().zip(&row.maps).enumerate() {
                match map {
                    Some(map) => {
                        let panels = column.style.panels(row.image, map, size)?;
                        blit(&mut canvas, &panels.overlay, place(c + 1));
                        photo.get_or_insert(panels.photo);
                    }
                    None => missing.push(layout.cell_origin(r, c + 1)),
                }
            }
            let photo =
                photo.unwrap_or_else(|| crate::map_style::resize_image(row.image, size.0, size.1));
            blit(&mut canvas, &photo, place(0));
        }
        paint_on(canvas, |root| {
            text::heading(root, layout.size.0, &self.title, self.subtitle.as_deref())?;
            let headers = std::iter::once(self.image_header.as_str())
                .chain(self.columns.iter().map(|c| c.name.as_str()));
            for (c, header) in headers.enumerate() {
                let (x, _) = layout.cell_origin(0, c);
                let at = ((x + layout.cell / 2) as i32, layout.header_y as i32);
                text::column_header(root, header, layout.cell, at)?;
            }
            for (r, row) in self.rows.iter().enumerate() {
                let (_, y) = layout.cell_origin(r, 0);
                let (label, size) = text::fit(&row.label, LABEL_PX, layout.cell, text::font);
                let cx = (MARGIN + (LABEL_PX * 0.8) as u32) as i32;
                text::draw_vertical(
                    root,
                    &label,
                    text::font(size),
                    TEXT,
                    (cx, (y + layout.cell / 2) as i32),
                    true,
                )?;
            }
            for (x, y) in &missing {
                let (x, y) = (*x as i32, *y as i32);
                let c = layout.cell as i32;
                root.draw(&Rectangle::new(
                    [(x, y), (x + c, y + c)],
                    RGBColor(235, 235, 235).filled(),
                ))?;
                text::draw(
                    root,
                    "no map",
                    text::font(TICK_PX),
                    MUTED_TEXT,
                    (x + c / 2, y + c / 2),
                    Anchor::Centre,
                )?;
            }
            let styles = self.styles();
            let step = KEY_W + 150;
            let total = styles.len() as u32 * step;
            let mut kx = (layout.size.0.saturating_sub(total)) / 2 + 130;
            for style in styles {
                let label = if style.scale == crate::map_style::MapScale::MinMax {
                    "each map:"
                } else {
                    "signed maps:"
                };
                draw_relative_key(root, style, (kx as i32, layout.key_y as i32), KEY_W, label)?;
                kx += step;
            }
            Ok(())
        })
    }
}
