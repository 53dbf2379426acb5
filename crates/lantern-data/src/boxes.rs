//! Object boxes for the pointing games: a CSV `image,x0,y0,x1,y1` (one row per box, several
//! boxes of an image form their union) in the ORIGINAL image's pixel coordinates, mapped to the
//! model input through each image's preprocessing [`Geometry`] (resize, then centre crop).

use crate::dataset::DatasetError;
use crate::preprocess::Geometry;
use std::collections::HashMap;
use std::path::Path;

/// A box `[x0, y0, x1, y1)` in pixels (half-open).
pub type PixelBox = [f64; 4];

/// Reads the boxes CSV with polars; the `image` column matches a sample id or its file name.
/// A missing column or a value that is not a number is an error naming the file, row and column.
pub fn load_boxes(csv: &Path) -> Result<HashMap<String, Vec<PixelBox>>, DatasetError> {
    let frame = crate::dataset::read_csv_as_text(csv)?;
    let column = |name: &str| {
        frame
            .column(name)
            .map_err(|_| DatasetError::MissingColumns {
                path: csv.to_path_buf(),
                missing: vec![name.to_string()],
                found: frame
                    .get_column_names()
                    .iter()
                    .map(|c| c.to_string())
                    .collect(),
            })
    };
    let image = column("image")?
        .str()
        .map_err(|e| DatasetError::Csv {
            path: csv.to_path_buf(),
            source: e,
        })?
        .clone();
    let mut coords = Vec::new();
    for name in ["x0", "y0", "x1", "y1"] {
        coords.push(
            column(name)?
                .str()
                .map_err(|e| DatasetError::Csv {
                    path: csv.to_path_buf(),
                    source: e,
                })?
                .clone(),
        );
    }
    let mut out: HashMap<String, Vec<PixelBox>> = HashMap::new();
    for row in 0..frame.height() {
        let id = image.get(row).unwrap_or("").trim().to_string();
        let mut b = [0.0; 4];
        for (k, (c, name)) in coords.iter().zip(["x0", "y0", "x1", "y1"]).enumerate() {
            let text = c.get(row).unwrap_or("").trim();
            b[k] = text.parse().map_err(|_| DatasetError::BadBox {
                path: csv.to_path_buf(),
                row: row + 2,
                message: format!("column {name} holds {text:?}, not a number"),
            })?;
        }
        if b[2] <= b[0] || b[3] <= b[1] {
            return Err(DatasetError::BadBox {
                path: csv.to_path_buf(),
                row: row + 2,
                message: format!("empty box {b:?} (need x1 > x0 and y1 > y0)"),
            });
        }
        out.entry(id).or_default().push(b);
    }
    Ok(out)
}

/// A box in original-image pixels → model-input pixels (integer, clamped to the input), or
/// `None` when it lies outside the crop.
pub fn box_to_input(b: &PixelBox, g: &Geometry, width: usize, height: usize) -> Option<[usize; 4]> {
    let sx = g.resized_size.0 as f64 / g.source_size.0.max(1) as f64;
    let sy = g.resized_size.1 as f64 / g.source_size.1.max(1) as f64;
    let (ox, oy) = (g.crop_offset.0 as f64, g.crop_offset.1 as f64);
    let clamp = |v: f64, hi: usize| v.round().clamp(0.0, hi as f64) as usize;
    let x0 = clamp(b[0] * sx - ox, width);
    let y0 = clamp(b[1] * sy - oy, height);
    let x1 = clamp(b[2] * sx - ox, width);
    let y1 = clamp(b[3] * sy - oy, height);
    (x1 > x0 && y1 > y0).then_some([x0, y0, x1, y1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_follow_resize_and_crop() {
        // 448×448 source → 256×256 → crop 224 at (16,16).
        let g = Geometry {
            source_size: (448, 448),
            resized_size: (256, 256),
            crop_offset: (16, 16),
        };
        assert_eq!(
            box_to_input(&[0.0, 0.0, 224.0, 224.0], &g, 224, 224),
            Some([0, 0, 112, 112])
        );
        assert_eq!(box_to_input(&[0.0, 0.0, 20.0, 20.0], &g, 224, 224), None);
    }

    #[test]
    fn a_bad_box_names_the_row_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("boxes.csv");
        std::fs::write(
            &csv,
            "image,x0,y0,x1,y1\na.png,1,2,30,40\na.png,5,5,six,9\n",
        )
        .unwrap();
        let err = load_boxes(&csv).unwrap_err().to_string();
        assert!(
            err.contains("boxes.csv") && err.contains("row 3") && err.contains("x1"),
            "{err}"
        );
        std::fs::write(
            &csv,
            "image,x0,y0,x1,y1\na.png,1,2,30,40\na.png,5,5,60,90\n",
        )
        .unwrap();
        assert_eq!(load_boxes(&csv).unwrap()["a.png"].len(), 2);
    }
}
