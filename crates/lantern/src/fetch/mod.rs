//! `lantern fetch`: the models, images and label files every shipped experiment reads, from the
//! public sources `../shared/assets/PROVENANCE.md` names, each pinned to an upstream commit and
//! checked by sha256 (`sources.tsv`, written by `tools/make_sources.py`). Files already there
//! with the right checksum are not requested again, so a rerun finishes what a broken one left.
//! The ImageNet class table is derived from the downloaded label files ([`class_index`]); the
//! full Kaggle competition comes through the `kaggle` CLI ([`kaggle`]).

mod class_index;
mod download;
pub mod kaggle;
mod manifest;
#[cfg(test)]
mod test_server;

use anyhow::{Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};
use manifest::Entry;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The groups of files `--only` selects: the first folder of each destination under `data/`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchSet {
    /// MobileNetV2 (the ONNX Model Zoo's float export, and its int8 version).
    Models,
    /// 502 ImageNet sample photos and the class-name files (the class table is derived).
    Imagenet,
    /// The study's photos (cat_dog.png, …).
    Photos,
    /// Four MNIST digits.
    Mnist,
    /// The Plant Pathology 2020 sample leaves in the Kaggle layout (the full set: --kaggle).
    PlantPathology2020,
    /// Plant Pathology 2021 samples.
    PlantPathology2021,
    /// 1175 PlantVillage apple leaves, one folder per class (the plant head's training data).
    PlantvillageApple,
}

impl FetchSet {
    fn folder(self) -> &'static str {
        match self {
            FetchSet::Models => "models",
            FetchSet::Imagenet => "imagenet",
            FetchSet::Photos => "photos",
            FetchSet::Mnist => "mnist",
            FetchSet::PlantPathology2020 => "plant-pathology-2020",
            FetchSet::PlantPathology2021 => "plant-pathology-2021",
            FetchSet::PlantvillageApple => "plantvillage-apple",
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct FetchArgs {
    /// The folder to fill; experiments read `data/…` from the project folder.
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// Only these sets (comma-separated; default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<FetchSet>,
    /// Also download the whole Kaggle Plant Pathology 2020 competition into
    /// DATA/plant-pathology-2020-fgvc7 (needs the `kaggle` CLI and your Kaggle credentials).
    #[arg(long)]
    pub kaggle: bool,
    /// Download from a mirror that lays files out as <mirror>/<source>/<path> instead of the
    /// upstream URLs (also the environment variable LANTERN_FETCH_MIRROR).
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
    /// Parallel downloads.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
}

pub fn fetch(args: &FetchArgs) -> Result<ExitCode> {
    let entries = manifest::parse(manifest::SOURCES)?;
    let wanted: Vec<Entry> = entries
        .into_iter()
        .filter(|e| args.only.is_empty() || args.only.iter().any(|s| s.folder() == e.set()))
        .collect();
    let mirror = args
        .mirror
        .clone()
        .or_else(|| std::env::var("LANTERN_FETCH_MIRROR").ok());
    let failures = download_all(&wanted, &args.data, mirror.as_deref(), args.jobs.max(1));
    let mut failed = failures.len();
    for (dest, error) in &failures {
        eprintln!("fetch: {dest}: {error:#}");
    }
    if args.only.is_empty() || args.only.contains(&FetchSet::Imagenet) {
        if let Err(e) = write_class_index(&args.data) {
            eprintln!("fetch: {e:#}");
            failed += 1;
        }
    }
    if args.kaggle {
        kaggle::fetch_competition(&args.data.join(kaggle::COMPETITION))?;
    } else if args.only.is_empty() || args.only.contains(&FetchSet::PlantPathology2020) {
        println!(
            "fetch: data/plant-pathology-2020 holds the 5 sample leaves; {}",
            kaggle::how_to()
        );
    }
    if failed > 0 {
        eprintln!(
            "fetch: {failed} of {} files failed; rerun `lantern fetch` to retry them (finished files are kept)",
            wanted.len()
        );
        return Ok(ExitCode::from(crate::exit::SOME_FAILED));
    }
    println!(
        "fetch: {} files in {}, each checked by sha256",
        wanted.len(),
        args.data.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Downloads every entry with `jobs` workers; returns the failures (destination, error).
fn download_all(
    entries: &[Entry],
    data: &Path,
    mirror: Option<&str>,
    jobs: usize,
) -> Vec<(String, anyhow::Error)> {
    let total: u64 = entries.iter().map(|e| e.size).sum();
    let progress = ProgressBar::new(total);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} fetch {bytes}/{total_bytes} [{wide_bar}] {binary_bytes_per_sec} eta {eta}",
        )
        .expect("valid template"),
    );
    if crate::logging::quiet() {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let agent = download::agent();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(entries.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(entry) = entries.get(i) else { break };
                    let dest = data.join(&entry.dest);
                    let url = entry.url(mirror);
                    let result = download::fetch_file(
                        &agent,
                        &url,
                        &dest,
                        &entry.sha256,
                        entry.size,
                        &|n| progress.inc(n),
                    );
                    if let Err(e) = result {
                        failures.lock().unwrap().push((entry.dest.clone(), e));
                    }
                }
            });
        }
    });
    progress.finish_and_clear();
    let mut failures = failures.into_inner().unwrap();
    failures.sort_by(|a, b| a.0.cmp(&b.0));
    failures
}

/// Derives `imagenet/labels/imagenet_class_index.tsv` and checks it against the assets' table.
fn write_class_index(data: &Path) -> Result<()> {
    let labels = data.join("imagenet/labels");
    let read = |name: &str| {
        std::fs::read_to_string(labels.join(name))
            .with_context(|| format!("cannot read {}", labels.join(name).display()))
    };
    let tsv = class_index::class_index_tsv(
        &read("synset_squeeze-labels.txt")?,
        &read("imagenet-simple-labels.json")?,
        class_index::SAMPLE_NAMES,
    )?;
    let digest = download::hex(&<sha2::Sha256 as sha2::Digest>::digest(tsv.as_bytes()));
    let path = labels.join("imagenet_class_index.tsv");
    if digest != class_index::CLASS_INDEX_SHA256 {
        anyhow::bail!(
            "{}: the derived table hashes to {digest}, not {}; not written",
            path.display(),
            class_index::CLASS_INDEX_SHA256
        );
    }
    crate::files::write_bytes(&path, tsv.as_bytes())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use test_server::TestServer;

    /// The shared assets: `LANTERN_ASSETS`, else `../shared/assets` beside the checkout.
    pub fn assets_dir() -> PathBuf {
        let dir = std::env::var_os("LANTERN_ASSETS")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/assets")
            });
        assert!(
            dir.join("models").is_dir(),
            "test assets not found at {} (set LANTERN_ASSETS)",
            dir.display()
        );
        dir
    }

    /// A mirror of the upstream sources on 127.0.0.1, serving `<source>/<path>` from the assets.
    fn asset_mirror() -> TestServer {
        let assets = assets_dir();
        let entries = manifest::parse(manifest::SOURCES).unwrap();
        TestServer::start(move |path| {
            let e = entries
                .iter()
                .find(|e| format!("/{}", e.url(Some("")).trim_start_matches('/')) == path)?;
            std::fs::read(assets.join(&e.dest)).ok()
        })
    }

    #[test]
    fn with_assets_fetch_fills_a_data_folder_from_a_mirror() {
        let server = asset_mirror();
        let dir = tempfile::tempdir().unwrap();
        let args = FetchArgs {
            data: dir.path().to_path_buf(),
            only: vec![
                FetchSet::Imagenet,
                FetchSet::Photos,
                FetchSet::PlantPathology2020,
            ],
            kaggle: false,
            mirror: Some(server.url()),
            jobs: 4,
        };
        assert_eq!(fetch(&args).unwrap(), ExitCode::SUCCESS);
        let assets = assets_dir();
        for file in [
            "photos/cat_dog.png",
            "photos/pytorch_hub_dog.jpg",
            "imagenet/samples/n02676566_acoustic_guitar.JPEG",
            "imagenet/labels/imagenet_class_index.tsv",
            "plant-pathology-2020/train.csv",
            "plant-pathology-2020/images/Train_3.jpg",
        ] {
            assert_eq!(
                std::fs::read(dir.path().join(file)).unwrap(),
                std::fs::read(assets.join(file)).unwrap(),
                "{file}"
            );
        }
        let samples = std::fs::read_dir(dir.path().join("imagenet/samples"))
            .unwrap()
            .count();
        assert_eq!(samples, 502);
        // A rerun requests nothing: every file is there with its checksum.
        let before = server.requests();
        assert_eq!(fetch(&args).unwrap(), ExitCode::SUCCESS);
        assert_eq!(server.requests(), before);
    }

    #[test]
    fn missing_files_on_the_server_are_counted_and_exit_1() {
        let server = TestServer::start(|_| None);
        let dir = tempfile::tempdir().unwrap();
        let args = FetchArgs {
            data: dir.path().to_path_buf(),
            only: vec![FetchSet::Mnist],
            kaggle: false,
            mirror: Some(server.url()),
            jobs: 2,
        };
        assert_eq!(
            fetch(&args).unwrap(),
            ExitCode::from(crate::exit::SOME_FAILED)
        );
        assert_eq!(server.requests(), 4);
        let left: Vec<_> = walk(dir.path());
        assert!(left.is_empty(), "{left:?}");
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                files.extend(walk(&p));
            } else {
                files.push(p);
            }
        }
        files
    }
}
