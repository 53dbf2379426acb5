//! The plan: images × sweep points × methods × target slots, each a work item with a stable id
//! (the same config always yields the same ids in the same order, so reruns, shards and merges
//! agree on what each item is).

use crate::config::SweepPoint;
use crate::files::safe_name;
use lantern_data::Sample;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkItem {
    pub id: String,
    /// The image's file stem (also the prefix of `id`).
    pub stem: String,
    pub image: usize,
    pub point: usize,
    pub method: String,
    /// Which of the image's targets (0 unless targets.mode = "top-k").
    pub slot: usize,
}

/// The file stem of an image id (`a/b/photo.JPEG` → `photo`), made file-name safe; with
/// `full`, the whole id without its extension (`a_b_photo`).
fn stem_of(id: &str, full: bool) -> String {
    let without_ext = match id.rsplit_once('.') {
        Some((stem, ext)) if ext.len() <= 4 && !stem.is_empty() && !ext.contains('/') => stem,
        _ => id,
    };
    let part = if full {
        without_ext
    } else {
        without_ext.rsplit('/').next().unwrap_or(without_ext)
    };
    safe_name(part)
}

/// File stems for every sample: the file name's stem, or the whole id where two file names
/// would collide (e.g. the same name in two class folders).
pub fn image_stems(samples: &[Sample]) -> Vec<String> {
    let short: Vec<String> = samples.iter().map(|s| stem_of(&s.id, false)).collect();
    let mut count = std::collections::HashMap::new();
    for s in &short {
        *count.entry(s.as_str()).or_insert(0) += 1;
    }
    samples
        .iter()
        .zip(&short)
        .map(|(sample, s)| {
            if count[s.as_str()] > 1 {
                stem_of(&sample.id, true)
            } else {
                s.clone()
            }
        })
        .collect()
}

/// `<image>.<method>[.<sweep point>][.k<slot>]`: also the stem of the item's map and figure.
pub fn item_id(stem: &str, method: &str, point: &SweepPoint, slot: usize, slots: usize) -> String {
    let mut id = format!("{stem}.{method}");
    let slug = point.slug();
    if !slug.is_empty() {
        id.push('.');
        id.push_str(&safe_name(&slug));
    }
    if slots > 1 {
        id.push_str(&format!(".k{slot}"));
    }
    id
}

pub fn plan(
    samples: &[Sample],
    points: &[SweepPoint],
    methods: &[Vec<String>],
    slots: usize,
) -> Vec<WorkItem> {
    let mut items = Vec::new();
    for (i, stem) in image_stems(samples).into_iter().enumerate() {
        for (p, point) in points.iter().enumerate() {
            for method in &methods[p] {
                for slot in 0..slots {
                    items.push(WorkItem {
                        id: item_id(&stem, method, point, slot, slots),
                        stem: stem.clone(),
                        image: i,
                        point: p,
                        method: method.clone(),
                        slot,
                    });
                }
            }
        }
    }
    items
}

/// `--shard I/N`: a deterministic 1/N of the images (whole images, so each clean forward pass
/// runs in exactly one shard).
pub fn parse_shard(text: &str) -> anyhow::Result<(usize, usize)> {
    let (i, n) = text
        .split_once('/')
        .ok_or_else(|| anyhow::anyhow!("--shard {text:?}: expected I/N, e.g. --shard 1/3"))?;
    let (i, n): (usize, usize) = (i.trim().parse()?, n.trim().parse()?);
    if n == 0 || i == 0 || i > n {
        anyhow::bail!("--shard {text:?}: need 1 ≤ I ≤ N");
    }
    Ok((i, n))
}

pub fn in_shard(item: &WorkItem, shard: Option<(usize, usize)>) -> bool {
    match shard {
        None => true,
        Some((i, n)) => item.image % n == i - 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn sample(id: &str) -> Sample {
        Sample {
            id: id.into(),
            path: PathBuf::from(id),
            label: None,
            error: None,
        }
    }

    #[test]
    fn ids_are_stable_and_unique() {
        let samples = vec![sample("a b.JPEG"), sample("c.png")];
        let points = vec![
            SweepPoint {
                values: vec![("occlusion.window".into(), toml::Value::Integer(16))],
            },
            SweepPoint {
                values: vec![("occlusion.window".into(), toml::Value::Integer(32))],
            },
        ];
        let methods = vec![vec!["occlusion".to_string()], vec!["occlusion".to_string()]];
        let items = plan(&samples, &points, &methods, 1);
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].id, "a_b.occlusion.window=16");
        let twins = image_stems(&[
            sample("x/leaf.JPG"),
            sample("y/leaf.JPG"),
            sample("z/other.png"),
        ]);
        assert_eq!(twins, vec!["x_leaf", "y_leaf", "other"]);
        let mut ids: Vec<_> = items.iter().map(|i| i.id.clone()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 4);
        assert_eq!(items, plan(&samples, &points, &methods, 1));
    }

    #[test]
    fn shards_partition_the_items() {
        let samples: Vec<_> = (0..7).map(|i| sample(&format!("{i}.png"))).collect();
        let items = plan(
            &samples,
            &[SweepPoint::default()],
            &[vec!["occlusion".into()]],
            2,
        );
        let total: usize = (1..=3)
            .map(|i| items.iter().filter(|it| in_shard(it, Some((i, 3)))).count())
            .sum();
        assert_eq!(total, items.len());
        assert!(parse_shard("0/3").is_err() && parse_shard("4/3").is_err());
    }
}
