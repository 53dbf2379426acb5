//! `lantern run` end to end: failures recorded and the run goes on, reruns are byte-identical,
//! a killed run resumes to the same tables, shards merge into what one run gives, config errors
//! name file and line.

mod common;
use common::*;
use std::path::{Path, PathBuf};

/// A small, fast experiment on `images` (see [`common::quick_experiment`]).
fn quick_experiment(dir: &Path, images: &[PathBuf], extra: &str) -> PathBuf {
    common::quick_experiment(dir, "quick", images, "batch = 16", extra)
}

/// [`quick_experiment`] on `photos/cat_dog.png` alone.
fn cat_dog_experiment(dir: &Path, extra: &str) -> PathBuf {
    quick_experiment(dir, &[cat_dog()], extra)
}

/// Four photos of different classes, for runs split into shards or killed part-way.
const FOUR_PHOTOS: [&str; 4] = [
    "photos/cat_dog.png",
    "imagenet/samples/n02676566_acoustic_guitar.JPEG",
    "imagenet/samples/n02104029_kuvasz.JPEG",
    "photos/snake.png",
];

/// scores.csv without the columns that hold timings.
fn scores_without_timings(dir: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(dir.join("scores.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let keep: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.contains("seconds"))
        .map(|(i, _)| i)
        .collect();
    text.lines()
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            keep.iter()
                .map(|&i| cells.get(i).copied().unwrap_or("").to_string())
                .collect()
        })
        .collect()
}

#[test]
fn a_corrupt_image_is_recorded_and_the_run_goes_on() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let bad = write_file(dir.path(), "broken photo ü.jpg", b"not a jpeg");
    let exp = quick_experiment(dir.path(), &[cat_dog(), bad], "");
    let out = dir.path().join("out");
    let o = run(&exp, &out, &[]);
    assert!(
        !o.status.success(),
        "a failed item must make the exit code non-zero"
    );
    assert!(stderr(&o).contains("1 failed"), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("scores.csv")).unwrap();
    assert!(
        csv.contains("failed") && csv.contains("broken photo ü.jpg"),
        "{csv}"
    );
    assert!(
        csv.lines().filter(|l| l.contains(",ok,")).count() == 1,
        "{csv}"
    );
    assert!(
        out.join("index.html").is_file()
            && out.join("manifest.json").is_file()
            && out.join("scores.parquet").is_file()
    );
}

#[test]
fn the_same_command_twice_gives_identical_maps_and_scores() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let exp = quick_experiment(dir.path(), &photos(&FOUR_PHOTOS[..2]), "");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        run_ok(&exp, out, &[]);
    }
    for entry in std::fs::read_dir(a.join("maps")).unwrap() {
        let name = entry.unwrap().file_name();
        assert_eq!(
            std::fs::read(a.join("maps").join(&name)).unwrap(),
            std::fs::read(b.join("maps").join(&name)).unwrap(),
            "{name:?}"
        );
    }
    assert_eq!(scores_without_timings(&a), scores_without_timings(&b));
    let hash = |d: &Path| -> String {
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap();
        m["config_hash"].as_str().unwrap().to_string()
    };
    assert_eq!(hash(&a), hash(&b));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["execution_provider"], "cpu");
    assert!(
        manifest["onnxruntime"]["version"]
            .as_str()
            .unwrap()
            .starts_with("1.")
    );
    assert!(manifest["peak_rss_mb"].as_f64().unwrap() > 10.0);
    assert!(manifest["timings_seconds"]["run"].as_f64().is_some());
}

#[test]
fn settings_that_change_results_change_the_config_hash() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let exp = cat_dog_experiment(dir.path(), "");
    let hash = |extra: &[&str]| -> String {
        let out = tempfile::tempdir().unwrap();
        run_ok(&exp, out.path(), extra);
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.path().join("manifest.json")).unwrap())
                .unwrap();
        m["config_hash"].as_str().unwrap().to_string()
    };
    let base = hash(&[]);
    assert_eq!(
        base,
        hash(&["--set", "output.figures=false"]),
        "display-only settings keep the hash"
    );
    assert_ne!(base, hash(&["--set", "methods.occlusion.stride=56"]));
}

#[test]
fn shards_merged_equal_one_run() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let exp = quick_experiment(dir.path(), &photos(&FOUR_PHOTOS), "");
    let single = dir.path().join("single");
    run_ok(&exp, &single, &[]);
    let sharded = dir.path().join("sharded");
    for i in 1..=3 {
        run_ok(&exp, &sharded, &["--shard", &format!("{i}/3")]);
    }
    let o = lantern(&["merge", sharded.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        scores_without_timings(&single),
        scores_without_timings(&sharded)
    );
    assert!(sharded.join("index.html").is_file());
}

#[test]
fn a_killed_run_resumes_to_the_same_tables() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let images = photos(&[&FOUR_PHOTOS[..], &["photos/spider.png", "photos/horse.png"]].concat());
    // Finer occlusion so the run lasts long enough to be killed part-way.
    let exp = quick_experiment(dir.path(), &images, "");
    let text = std::fs::read_to_string(&exp)
        .unwrap()
        .replace("window = 112\nstride = 112", "window = 32\nstride = 32");
    std::fs::write(&exp, text).unwrap();
    let whole = dir.path().join("whole");
    run_ok(&exp, &whole, &[]);

    let killed = dir.path().join("killed");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lantern"))
        .args([
            "run",
            exp.to_str().unwrap(),
            "--out",
            killed.to_str().unwrap(),
        ])
        .current_dir(root())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let items = killed.join("items");
    // Finished items only: a kill during a write leaves the hidden temporary file beside them.
    let finished_rows = || {
        std::fs::read_dir(&items)
            .map(|d| {
                d.filter(|e| {
                    let name = e.as_ref().unwrap().file_name();
                    let name = name.to_string_lossy();
                    name.ends_with(".json") && !name.starts_with('.')
                })
                .count()
            })
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let n = finished_rows();
        if n >= 2 || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let finished = finished_rows();
    assert!(
        finished >= 2 && finished < images.len(),
        "kill landed after {finished} items"
    );

    let o = run_ok(&exp, &killed, &[]);
    assert!(
        stderr(&o).contains(&format!("{finished} already finished")),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        scores_without_timings(&whole),
        scores_without_timings(&killed)
    );
}

/// A rerun into the same folder reuses only rows computed from the same configuration: after
/// a method parameter changes, every item is recomputed (never an old map under a new setting).
#[test]
fn a_rerun_with_a_changed_setting_recomputes_instead_of_reusing() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let exp = cat_dog_experiment(dir.path(), "");
    let out = dir.path().join("out");
    let map = |out: &Path| -> Vec<u8> {
        let scores = std::fs::read_to_string(out.join("scores.csv")).unwrap();
        assert!(scores.lines().count() >= 2, "{scores}");
        let dir = out.join("maps");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        std::fs::read(&files[0]).unwrap()
    };
    run_ok(&exp, &out, &[]);
    let coarse = map(&out);
    let o = run(&exp, &out, &[]);
    assert!(
        stderr(&o).contains("1 already finished, 0 to run"),
        "{}",
        stderr(&o)
    );
    let o = run_ok(
        &exp,
        &out,
        &[
            "--set",
            "methods.occlusion.window=56",
            "--set",
            "methods.occlusion.stride=56",
        ],
    );
    assert!(
        stderr(&o).contains("0 already finished, 1 to run"),
        "{}",
        stderr(&o)
    );
    assert_ne!(
        map(&out),
        coarse,
        "the map must be recomputed with the new window"
    );
}

/// Each bad setting (a misspelled metric setting too) stops the run before any work.
#[test]
fn config_errors_name_the_file_and_line() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let exp = cat_dog_experiment(dir.path(), "");
    let text = std::fs::read_to_string(&exp).unwrap();
    let cases = [
        (
            text.replace("seed = 0", "seed = 0\ncolour = \"red\""),
            "quick.toml:5",
            "colour",
        ),
        (
            text.replace("batch = 16", "batch = \"sixteen\""),
            "quick.toml:11",
            "batch",
        ),
        (
            format!("{text}\n[sweep]\n\"runtime.batchsize\" = [1, 2]\n"),
            "quick.toml",
            "batchsize",
        ),
        (
            format!("{text}\n[sweep]\n\"occlusion.windw\" = [1, 2]\n"),
            "quick.toml",
            "windw",
        ),
        (
            text.replace("step = 0.25", "stepp = 0.25"),
            "quick.toml:",
            "stepp",
        ),
    ];
    let out = dir.path().join("o");
    for (body, place, key) in cases {
        std::fs::write(&exp, body).unwrap();
        let o = run(&exp, &out, &[]);
        assert_refused(&o, &[place, key]);
        assert!(
            !out.join("items").exists(),
            "no work may start with a bad setting ({key})"
        );
    }
}

#[test]
fn a_sweep_expands_and_draws_its_plot() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let exp = cat_dog_experiment(dir.path(), "\n[sweep]\n\"occlusion.window\" = [112, 224]\n");
    let out = dir.path().join("out");
    run_ok(&exp, &out, &[]);
    let csv = std::fs::read_to_string(out.join("scores.csv")).unwrap();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains("param.occlusion.window"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(out.join("figures/sweep-window-seconds.png").is_file());
    assert!(out.join("figures/sweep-window-deletion_auc.png").is_file());
}

#[test]
fn the_randomisation_sanity_check_shows_similarity_falling() {
    lantern_core::skip_without_reference!();
    let dir = tempfile::tempdir().unwrap();
    let reference = reference();
    let exp = experiment(
        dir.path(),
        "sanity",
        &format!(
            r#"
[experiment]
name = "sanity"
[model]
path = {model:?}
preprocess = "imagenet-squash"
[data]
kind = "folder"
root = {images:?}
[methods.saliency]
[methods.gradcam]
[output]
figures = false
[sanity]
methods = ["saliency", "gradcam"]
images = 2
layers_step = 2
"#,
            model = reference.join("tinycnn/model.onnx").display().to_string(),
            images = reference.join("tinycnn/images").display().to_string(),
        ),
    );
    let out = dir.path().join("out");
    run_ok(&exp, &out, &[]);
    let csv = std::fs::read_to_string(out.join("sanity.csv")).unwrap();
    // Mean Spearman of |saliency| over the two images, first step vs last step.
    let mut by_step: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
    for line in csv.lines().skip(1).filter(|l| l.starts_with("saliency,")) {
        let cells: Vec<&str> = line.split(',').collect();
        by_step
            .entry(cells[2].parse().unwrap())
            .or_default()
            .push(cells[5].parse().unwrap());
    }
    let mean = |v: &Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    let (first, last) = (
        mean(by_step.values().next().unwrap()),
        mean(by_step.values().last().unwrap()),
    );
    // Seen: 0.33 after the top two layers, 0.16 with every layer random.
    assert!(
        first < 0.9 && last < first,
        "Spearman first {first}, last {last}"
    );
    assert!(
        out.join("figures/sanity-spearman.png").is_file()
            && out.join("figures/sanity-ssim.png").is_file()
    );
}

#[test]
fn the_pointing_games_use_boxes_mapped_through_preprocessing() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    // The bull mastiff's box in cat_dog.png's own 224×224 pixels (upscaled to 256 and cropped
    // at 16,16 by the imagenet preset).
    let csv = "image,x0,y0,x1,y1\ncat_dog.png,60,0,180,150\n";
    let boxes = write_file(dir.path(), "boxes.csv", csv);
    let exp = experiment(
        dir.path(),
        "pointing",
        &format!(
            r#"
[experiment]
name = "pointing"
[model]
path = {model:?}
[data]
kind = "list"
images = [{image:?}, {other:?}]
boxes = {boxes:?}
[targets]
mode = "class"
class = 243
[methods.gradcam]
[metrics]
list = ["pointing-game", "energy-pointing-game"]
[output]
figures = false
"#,
            model = mobilenet().display().to_string(),
            image = cat_dog().display().to_string(),
            other = assets().join("photos/snake.png").display().to_string(),
            boxes = boxes.display().to_string(),
        ),
    );
    let out = dir.path().join("out");
    run_ok(&exp, &out, &[]);
    let csv = std::fs::read_to_string(out.join("scores.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no {name} in {header:?}"))
    };
    let dog = csv
        .lines()
        .find(|l| l.contains("cat_dog"))
        .unwrap()
        .split(',')
        .collect::<Vec<_>>();
    assert_eq!(dog[col("pointing_game")], "1.0", "{csv}");
    let energy: f64 = dog[col("energy_pointing_game")].parse().unwrap();
    assert!(energy > 0.5, "energy inside the dog's box {energy}");
    // No box for the snake: the value is missing, not invented.
    let snake = csv
        .lines()
        .find(|l| l.contains("snake"))
        .unwrap()
        .split(',')
        .collect::<Vec<_>>();
    assert!(
        snake[col("pointing_game")].is_empty() || snake[col("pointing_game")] == "NaN",
        "{csv}"
    );
}

#[test]
fn maps_are_identical_across_thread_counts() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let exp = cat_dog_experiment(dir.path(), "\n[methods.saliency]\n[methods.gradcam]\n");
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    for (out, threads) in [(&one, "1"), (&two, "2")] {
        run_ok(&exp, out, &["--threads", threads]);
    }
    for entry in std::fs::read_dir(one.join("maps")).unwrap() {
        let name = entry.unwrap().file_name();
        let (a, b) = (
            std::fs::read(one.join("maps").join(&name)).unwrap(),
            std::fs::read(two.join("maps").join(&name)).unwrap(),
        );
        assert!(a == b, "{name:?} differs between 1 and 2 threads");
    }
    assert_eq!(scores_without_timings(&one), scores_without_timings(&two));
}
