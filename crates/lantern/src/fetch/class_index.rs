//! `imagenet/labels/imagenet_class_index.tsv`, the class table every ImageNet experiment names,
//! is derived rather than downloaded: index and WordNet id from `synset_squeeze-labels.txt`
//! (sorted wnid order), the simple label from `imagenet-simple-labels.json`, and the sample file
//! of each class from the file names of the ImageNet sample repository (`imagenet_samples.txt`).
//! The result must hash to [`CLASS_INDEX_SHA256`], the table the assets hold.

use anyhow::{Result, bail};

/// The 1000 file names of EliSchwartz/imagenet-sample-images (`<wnid>_<name>.JPEG`).
pub const SAMPLE_NAMES: &str = include_str!("imagenet_samples.txt");

/// sha256 of the assets' `imagenet_class_index.tsv`.
pub const CLASS_INDEX_SHA256: &str =
    "f04abac7ef96151f3b6b795f0d6e63e543db8e70c9477d0eff9dc2a2a73cbda6";

/// Builds the table from the two downloaded label files and the sample names.
pub fn class_index_tsv(
    synsets: &str,
    simple_labels_json: &str,
    sample_names: &str,
) -> Result<String> {
    let wnids: Vec<&str> = synsets
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    let labels: Vec<String> = serde_json::from_str(simple_labels_json)
        .map_err(|e| anyhow::anyhow!("imagenet-simple-labels.json: {e}"))?;
    let samples: Vec<&str> = sample_names.lines().filter(|l| !l.is_empty()).collect();
    if wnids.len() != 1000 || labels.len() != 1000 || samples.len() != 1000 {
        bail!(
            "ImageNet label files: expected 1000 classes each, found {} synsets, {} simple labels, {} sample names",
            wnids.len(),
            labels.len(),
            samples.len()
        );
    }
    let mut out = String::from("index\twnid\tsample_file_name\tsimple_label\tsample_file\n");
    for (i, (wnid, label)) in wnids.iter().zip(&labels).enumerate() {
        let prefix = format!("{wnid}_");
        let Some(file) = samples.iter().find(|s| s.starts_with(&prefix)) else {
            bail!("no ImageNet sample file for class {i} ({wnid})");
        };
        let name = file[prefix.len()..].trim_end_matches(".JPEG");
        out.push_str(&format!(
            "{i}\t{wnid}\t{name}\t{label}\timages/imagenet_samples/{file}\n"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::download::hex;
    use sha2::{Digest, Sha256};

    #[test]
    fn the_sample_names_cover_every_class() {
        assert_eq!(SAMPLE_NAMES.lines().count(), 1000);
    }

    #[test]
    fn with_assets_the_derived_table_is_the_assets_table() {
        let labels = crate::fetch::tests::assets_dir().join("imagenet/labels");
        let read = |name: &str| std::fs::read_to_string(labels.join(name)).unwrap();
        let tsv = class_index_tsv(
            &read("synset_squeeze-labels.txt"),
            &read("imagenet-simple-labels.json"),
            SAMPLE_NAMES,
        )
        .unwrap();
        assert_eq!(hex(&Sha256::digest(tsv.as_bytes())), CLASS_INDEX_SHA256);
    }

    #[test]
    fn a_short_label_file_is_an_error() {
        let err = class_index_tsv("n01440764 tench\n", "[\"tench\"]", SAMPLE_NAMES).unwrap_err();
        assert!(err.to_string().contains("expected 1000"), "{err}");
    }
}
