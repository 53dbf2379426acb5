//! The `[data]` section → a dataset (lantern-data loaders) with the selection applied.

use crate::config::{Config, DataKind, DataSection};
use anyhow::{Result, anyhow, bail};
use lantern_data::Dataset;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Object boxes per image path (original-image pixels), for the pointing games.
pub type Boxes = HashMap<PathBuf, Vec<lantern_data::PixelBox>>;

pub fn load(config: &Config, config_path: &Path) -> Result<(Dataset, Boxes)> {
    let mut boxes = Boxes::new();
    let mut dataset = load_section(&config.data, config, config_path)?;
    attach_boxes(&config.data, &dataset, &mut boxes)?;
    for extra in &config.data.extra {
        let more = load_section(extra, config, config_path)?;
        attach_boxes(extra, &more, &mut boxes)?;
        dataset = concatenate(dataset, more);
    }
    if dataset.samples.is_empty() {
        bail!(
            "{}: the dataset is empty after selection",
            config_path.display()
        );
    }
    Ok((dataset, boxes))
}

/// Boxes of a section's `boxes` CSV, matched to its samples by id or file name.
fn attach_boxes(d: &DataSection, dataset: &Dataset, boxes: &mut Boxes) -> Result<()> {
    let Some(csv) = &d.boxes else { return Ok(()) };
    let table = lantern_data::load_boxes(csv)?;
    for s in &dataset.samples {
        let file = s
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(b) = table.get(&s.id).or_else(|| table.get(file)) {
            boxes.insert(s.path.clone(), b.clone());
        }
    }
    Ok(())
}

/// Appends `b` to `a`, merging class lists by name and remapping `b`'s labels.
fn concatenate(mut a: Dataset, b: Dataset) -> Dataset {
    let mut map = Vec::with_capacity(b.classes.len());
    for name in &b.classes {
        let index = match a.classes.iter().position(|c| c == name) {
            Some(i) => i,
            None => {
                a.classes.push(name.clone());
                a.classes.len() - 1
            }
        };
        map.push(index);
    }
    for mut s in b.samples {
        s.label = s.label.map(|l| map[l]);
        a.samples.push(s);
    }
    a.notes.extend(b.notes);
    a
}

fn load_section(d: &DataSection, config: &Config, config_path: &Path) -> Result<Dataset> {
    let root = || {
        d.root.clone().ok_or_else(|| {
            anyhow!(
                "{}: data.kind = {:?} needs data.root",
                config_path.display(),
                d.kind.name()
            )
        })
    };
    let missing = |p: &Path| {
        anyhow!(
            "{}: data folder {} does not exist{}",
            config_path.display(),
            p.display(),
            if p.starts_with("data") {
                " (run `just fetch`)"
            } else {
                ""
            }
        )
    };
    let mut dataset = match d.kind {
        DataKind::List => {
            if d.images.is_empty() {
                bail!(
                    "{}: data.kind = \"list\" needs data.images = [\"path\", …]",
                    config_path.display()
                );
            }
            Dataset::from_paths(config.experiment.name.clone(), d.images.iter().cloned())
        }
        DataKind::Folder => {
            let root = root()?;
            if !root.is_dir() {
                return Err(missing(&root));
            }
            Dataset::folder_of_images(&root)?
        }
        DataKind::ImageFolder => {
            let root = root()?;
            if !root.is_dir() {
                return Err(missing(&root));
            }
            let all = Dataset::image_folder(&root)?;
            match d.split.as_deref() {
                None => all,
                Some(part @ ("train" | "validation")) => {
                    let head = config.model.head.as_ref().ok_or_else(|| {
                        anyhow!("{}: data.split needs [model.head] (the split is the head's train/validation split)", config_path.display())
                    })?;
                    let split = all.stratified_split(head.validation, config.experiment.seed)?;
                    if part == "train" {
                        split.train
                    } else {
                        split.validation
                    }
                }
                Some(other) => bail!(
                    "{}: data.split = {other:?}: expected \"train\" or \"validation\"",
                    config_path.display()
                ),
            }
        }
        DataKind::PlantPathology2020 => {
            let root = root()?;
            if !root.is_dir() {
                return Err(missing(&root));
            }
            match &d.csv {
                Some(csv) => Dataset::plant_pathology_2020_from(csv, root.join("images"))?,
                None => Dataset::plant_pathology_2020(&root)?,
            }
        }
    };
    if let Some(n) = d.per_class {
        dataset = dataset.per_class(n);
    }
    if let Some(n) = d.limit {
        dataset = dataset.limit(n);
    }
    Ok(dataset)
}
