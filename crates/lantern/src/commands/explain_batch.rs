//! `lantern explain` over many images: which files `--image` names (files, folders, glob
//! patterns), how stored maps are normalised (`--normalize`), the per-image rows of
//! `DIR/scores.csv`, and the stacked `DIR/<method>.npz` (`--format npz`: `a_batch` `[N,H,W]` or
//! `[N,C,H,W]` with `ids` and `targets`, the layout Quantus and Xplique take).

use anyhow::{Context as _, Result, bail};
use ndarray::{ArrayD, Axis};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How maps are stored.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MapFormat {
    /// One `<stem>.<method>.npy` per image (and target).
    #[default]
    Npy,
    /// One `<method>.npz` for the whole batch: `a_batch`, `ids`, `targets`.
    Npz,
}

/// The normalisation of the stored map (figures are always scaled for display).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Normalize {
    /// The raw map.
    #[default]
    None,
    /// (m − min) / (max − min) over the whole map, in [0, 1] (pytorch-grad-cam's convention).
    Minmax,
    /// m / max |m|, in [−1, 1]: keeps the sign and zero.
    AbsMax,
}

impl Normalize {
    /// The normalised map; a constant (or all-zero) map gives zeros.
    pub fn apply(self, map: &ArrayD<f32>) -> ArrayD<f32> {
        match self {
            Normalize::None => map.clone(),
            Normalize::Minmax => {
                let lo = map.iter().copied().fold(f32::INFINITY, f32::min);
                let hi = map.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let span = hi - lo;
                if !span.is_finite() || span <= 0.0 {
                    return ArrayD::zeros(map.raw_dim());
                }
                map.mapv(|v| (v - lo) / span)
            }
            Normalize::AbsMax => {
                let top = map.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                if !top.is_finite() || top <= 0.0 {
                    return ArrayD::zeros(map.raw_dim());
                }
                map.mapv(|v| v / top)
            }
        }
    }
}

/// The image files `--image` names: each file as given, each folder's images (sorted, not
/// recursive), each glob pattern's matches (sorted). Nothing found is an error.
pub fn expand_images(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut images = Vec::new();
    for arg in args {
        if arg.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(arg)
                .with_context(|| format!("cannot read folder {}", arg.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && lantern_data::has_image_extension(p))
                .collect();
            found.sort();
            if found.is_empty() {
                bail!(
                    "{}: no images ({}) in this folder",
                    arg.display(),
                    lantern_data::IMAGE_EXTENSIONS.join(", ")
                );
            }
            images.extend(found);
        } else if arg.exists() {
            images.push(arg.clone());
        } else {
            let pattern = arg.to_string_lossy();
            let mut found: Vec<PathBuf> = glob::glob(&pattern)
                .with_context(|| format!("--image {pattern}: not a file, folder or glob pattern"))?
                .filter_map(|p| p.ok())
                .filter(|p| p.is_file())
                .collect();
            found.sort();
            if found.is_empty() {
                bail!("--image {pattern}: no such file, and no file matches it as a pattern");
            }
            images.extend(found);
        }
    }
    Ok(images)
}

/// File stems that stay apart: a second `x.jpg` (from another folder) becomes `x-2`.
pub fn unique_stems(paths: &[PathBuf]) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    paths
        .iter()
        .map(|p| {
            let stem = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("image")
                .to_string();
            let n = seen.entry(stem.clone()).or_insert(0);
            *n += 1;
            if *n == 1 { stem } else { format!("{stem}-{n}") }
        })
        .collect()
}

/// One row of `scores.csv`: one image and target (or one image that failed).
#[derive(Debug, Default, Clone)]
pub struct Row {
    pub id: String,
    pub image: String,
    pub method: String,
    pub target: Option<usize>,
    pub class: String,
    pub probability: Option<f32>,
    pub seconds: f64,
    pub forward_passes: usize,
    pub backward_passes: usize,
    pub map_file: String,
    pub error: Option<String>,
    pub metrics: BTreeMap<String, f64>,
}

fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// `scores.csv`: fixed columns, then every metric column any row has (empty where missing).
pub fn scores_csv(rows: &[Row]) -> String {
    let metric_names: std::collections::BTreeSet<&String> =
        rows.iter().flat_map(|r| r.metrics.keys()).collect();
    let mut out = String::from(
        "id,image,method,target,class,probability,seconds,forward_passes,backward_passes,map_file,status,error",
    );
    for m in &metric_names {
        out.push(',');
        out.push_str(&csv_cell(m));
    }
    out.push('\n');
    for r in rows {
        let cells = [
            csv_cell(&r.id),
            csv_cell(&r.image),
            csv_cell(&r.method),
            r.target.map(|t| t.to_string()).unwrap_or_default(),
            csv_cell(&r.class),
            r.probability.map(|p| format!("{p}")).unwrap_or_default(),
            format!("{:.4}", r.seconds),
            r.forward_passes.to_string(),
            r.backward_passes.to_string(),
            csv_cell(&r.map_file),
            if r.error.is_some() { "failed" } else { "ok" }.to_string(),
            csv_cell(r.error.as_deref().unwrap_or("")),
        ];
        out.push_str(&cells.join(","));
        for m in &metric_names {
            out.push(',');
            if let Some(v) = r.metrics.get(*m) {
                out.push_str(&format!("{v}"));
            }
        }
        out.push('\n');
    }
    out
}

/// Writes `DIR/<method>.npz`: `a_batch` (the maps stacked on a new first axis), `ids` (image
/// stems, `.t<class>` appended where an image has several targets) and `targets` (int64).
pub fn write_npz(
    path: &Path,
    maps: &[ArrayD<f32>],
    ids: &[String],
    targets: &[usize],
) -> Result<()> {
    let views: Vec<_> = maps.iter().map(|m| m.view()).collect();
    let a_batch = ndarray::stack(Axis(0), &views).map_err(|_| {
        let shapes: std::collections::BTreeSet<_> =
            maps.iter().map(|m| format!("{:?}", m.shape())).collect();
        anyhow::anyhow!(
            "--format npz stacks maps of one shape, found {}",
            shapes.into_iter().collect::<Vec<_>>().join(", ")
        )
    })?;
    let targets = ndarray::Array1::from_iter(targets.iter().map(|&t| t as i64));
    let bytes = crate::npz::npz_bytes(&[
        ("a_batch", lantern_data::write_npy_bytes(&a_batch)),
        ("ids", crate::npz::npy_strings(ids)),
        ("targets", lantern_data::write_npy_bytes(&targets)),
    ]);
    crate::files::write_bytes(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn normalisations() {
        let m = array![[-2.0f32, 0.0], [1.0, 2.0]].into_dyn();
        assert_eq!(Normalize::None.apply(&m), m);
        assert_eq!(
            Normalize::Minmax.apply(&m),
            array![[0.0f32, 0.5], [0.75, 1.0]].into_dyn()
        );
        assert_eq!(
            Normalize::AbsMax.apply(&m),
            array![[-1.0f32, 0.0], [0.5, 1.0]].into_dyn()
        );
        let flat = ArrayD::from_elem(vec![2, 2], 3.0f32);
        assert!(Normalize::Minmax.apply(&flat).iter().all(|v| *v == 0.0));
    }

    #[test]
    fn folders_globs_and_files_expand_sorted_and_stems_stay_apart() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        for f in ["a/2.png", "a/1.JPG", "a/notes.txt", "b/1.jpg", "b/3.jpeg"] {
            std::fs::write(dir.path().join(f), b"").unwrap();
        }
        let found = expand_images(&[a.clone(), b.join("*.jp*g")]).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|p| {
                p.strip_prefix(dir.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["a/1.JPG", "a/2.png", "b/1.jpg", "b/3.jpeg"]);
        assert_eq!(unique_stems(&found), ["1", "2", "1-2", "3"]);
        assert!(expand_images(&[dir.path().join("nothing*.png")]).is_err());
        assert!(
            expand_images(&[dir.path().to_path_buf()]).is_err(),
            "no images at the top"
        );
    }

    #[test]
    fn csv_quotes_and_metric_columns() {
        let mut ok = Row {
            id: "x".into(),
            image: "a,b.png".into(),
            method: "saliency".into(),
            target: Some(3),
            ..Default::default()
        };
        ok.metrics.insert("deletion_auc".into(), 0.25);
        let failed = Row {
            id: "y".into(),
            error: Some("bad \"file\"".into()),
            ..Default::default()
        };
        let csv = scores_csv(&[ok, failed]);
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].ends_with(",status,error,deletion_auc"));
        assert!(lines[1].contains("\"a,b.png\""));
        assert!(lines[1].ends_with(",ok,,0.25"));
        assert!(lines[2].ends_with(",failed,\"bad \"\"file\"\"\","));
    }
}
