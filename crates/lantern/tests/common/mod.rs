//! Shared helpers for the binary's end-to-end tests: where the assets are, running `lantern`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root (two levels above this crate).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// `LANTERN_ASSETS`, else `../shared/assets` beside the checkout. Missing assets fail loudly.
pub fn assets() -> PathBuf {
    let dir = std::env::var_os("LANTERN_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/assets"));
    assert!(
        dir.join("models").is_dir(),
        "assets not found at {} (set LANTERN_ASSETS)",
        dir.display()
    );
    dir
}

pub fn reference() -> PathBuf {
    let dir = assets().join("../reference");
    assert!(
        dir.is_dir(),
        "reference outputs not found at {}",
        dir.display()
    );
    dir
}

pub fn mobilenet() -> PathBuf {
    assets().join("models/mobilenetv2-12-float.onnx")
}

/// The photo of a bull mastiff and a tabby most tests explain.
pub fn cat_dog() -> PathBuf {
    assets().join("photos/cat_dog.png")
}

/// The assets' files `names` (`photos/…`, `imagenet/samples/…`).
pub fn photos(names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|n| assets().join(n)).collect()
}

/// Runs the `lantern` binary from the workspace root (where `data/` links the assets).
pub fn lantern(args: &[&str]) -> Output {
    lantern_in(&root(), args)
}

pub fn lantern_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lantern"))
        .args(args)
        .current_dir(dir)
        .env("LANTERN_HOME", root())
        .output()
        .expect("lantern runs")
}

/// Runs `lantern explain --model MODEL FLAG PATH --out OUT ARGS…`, where `input` is the input's
/// flag and path (`--image` a file or folder, `--input-npy` a tensor).
pub fn explain(model: &Path, input: (&str, &Path), out: &Path, args: &[&str]) -> Output {
    let (flag, path) = input;
    let mut all = vec![
        "explain",
        "--model",
        model.to_str().unwrap(),
        flag,
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    lantern(&all)
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn read_npy(path: &Path) -> ndarray::ArrayD<f32> {
    lantern_data::read_npy::<f32>(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// max |a − b| / max |b|.
pub fn rel_err(a: &ndarray::ArrayD<f32>, b: &ndarray::ArrayD<f32>) -> f32 {
    assert_eq!(a.shape(), b.shape());
    let diff = a
        .iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    let scale = b.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
    diff / scale
}

/// Writes `contents` into the file `name` in `dir` and returns its path.
pub fn write_file(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Writes an experiment file into `dir` and returns its path.
pub fn experiment(dir: &Path, name: &str, body: &str) -> PathBuf {
    write_file(dir, &format!("{name}.toml"), body)
}

/// The tables every test experiment starts with: `[experiment]` `name` with seed 0 and
/// `[model]` at `model` (more `[model]` keys may follow), after a blank first line.
pub fn experiment_header(name: &str, model: &Path) -> String {
    format!(
        "\n[experiment]\nname = \"{name}\"\nseed = 0\n\n[model]\npath = {:?}\n",
        model.display().to_string()
    )
}

/// A `[data]` table listing `images`.
pub fn list_data(images: &[PathBuf]) -> String {
    let list = images
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect::<Vec<_>>()
        .join(", ");
    format!("[data]\nkind = \"list\"\nimages = [{list}]\n")
}

/// Coarse occlusion (one `window`×`window` patch per step) scored by deletion in quarter steps.
pub fn occlusion_with_deletion(window: usize) -> String {
    format!(
        "[methods.occlusion]\nwindow = {window}\nstride = {window}\n\n\
         [metrics]\nlist = [\"deletion\"]\n\n[metrics.deletion]\nstep = 0.25\n"
    )
}

/// A small, fast experiment `name` on MobileNetV2 written into `dir`: coarse occlusion (4
/// windows) on `images` with deletion scores; `runtime` is the body of its `[runtime]` table
/// and `extra` goes at the end.
pub fn quick_experiment(
    dir: &Path,
    name: &str,
    images: &[PathBuf],
    runtime: &str,
    extra: &str,
) -> PathBuf {
    let body = format!(
        "{header}labels = {labels:?}\n\n[runtime]\n{runtime}\n\n{data}\n{methods}{extra}\n",
        header = experiment_header(name, &mobilenet()),
        data = list_data(images),
        labels = assets()
            .join("imagenet/labels/imagenet_class_index.tsv")
            .display()
            .to_string(),
        methods = occlusion_with_deletion(112),
    );
    experiment(dir, name, &body)
}

/// Runs `lantern run EXP --out OUT EXTRA…`.
pub fn run(exp: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["run", exp.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    lantern(&args)
}

/// Runs `lantern run EXP --out OUT EXTRA…` and asserts that it succeeded.
pub fn run_ok(exp: &Path, out: &Path, extra: &[&str]) -> Output {
    let o = run(exp, out, extra);
    assert!(o.status.success(), "{}", stderr(&o));
    o
}

/// Asserts that the command failed and that its stderr contains each of `needles`.
pub fn assert_refused(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert!(!o.status.success(), "the command should fail: {err}");
    for needle in needles {
        assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    }
}
