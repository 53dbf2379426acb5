//! Lantern outside the team's setup (issue 15): a fresh clone with no assets and no network runs
//! `just test`, which exits 0 and names what it skipped; an installed `lantern` works from any
//! folder with ONNX Runtime found through a Python `onnxruntime`, without seeing the checkout.
//!
//! Both reuse this build's target folder (`CARGO_TARGET_DIR`), so nothing is compiled again: the
//! clone's files are dated back, and cargo's fingerprints (paths relative to the workspace) find
//! the clone's crates up to date. Needs `git` and `just` for the clone, ONNX Runtime, no assets.
//! The cheap clone test runs one crate's tests; the whole suite in a clone is `#[ignore]`d (it
//! doubles the suite's time): `cargo test --release -p lantern --test everywhere -- --ignored`.

mod common;

use common::{root, stderr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The target folder this test binary was built into (`<target>/release/deps/everywhere-…`), if
/// it is a release build.
fn release_target_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile = exe.parent()?.parent()?;
    (profile.file_name()? == "release").then(|| profile.parent().map(Path::to_path_buf))?
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(cmd: &mut Command) -> Output {
    let o = cmd.output().expect("command starts");
    assert!(
        o.status.success() || o.status.code().is_some(),
        "{cmd:?} was killed"
    );
    o
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(o))
}

/// The ONNX Runtime library the tests use (ORT_DYLIB_PATH or the checkout's install).
fn ort_library() -> PathBuf {
    lantern_runtime::library::find_library(None, false).expect("ONNX Runtime (run `just setup`)")
}

/// A clone of the checkout's HEAD in `dir`, every file dated 2000-01-01 (older than the shared
/// build outputs, so cargo rebuilds nothing).
fn fresh_clone(dir: &Path) -> PathBuf {
    let clone = dir.join("lantern");
    let o = run(Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(root())
        .arg(&clone));
    assert!(o.status.success(), "git clone: {}", text(&o));
    let o = run(Command::new("find").arg(&clone).args([
        "-path",
        "*/.git",
        "-prune",
        "-o",
        "-exec",
        "touch",
        "-h",
        "-d",
        "2000-01-01",
        "{}",
        "+",
    ]));
    assert!(o.status.success(), "touch: {}", text(&o));
    clone
}

/// `just test ARGS` in a fresh clone with no assets, no reference outputs, no network (cargo
/// offline, pip without an index, proxies to a closed port); ONNX Runtime and the onnx package's
/// models are given by path, as `just setup` leaves them.
fn just_test_in_a_fresh_clone(args: &[&str]) -> Option<String> {
    let Some(target) = release_target_dir() else {
        eprintln!("skipped: the fresh-clone test reuses a release build (cargo test --release)");
        return None;
    };
    if !have("git") || !have("just") {
        eprintln!("skipped: the fresh-clone test needs git and just");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let clone = fresh_clone(dir.path());
    let mut cmd = Command::new("just");
    cmd.arg("test").args(args).current_dir(&clone);
    for var in [
        "LANTERN_REFERENCE",
        "LANTERN_SHARED",
        "LANTERN_HOME",
        "LANTERN_ASSETS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("LANTERN_ASSETS", dir.path().join("no-assets"))
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_NET_OFFLINE", "true")
        .env("PIP_NO_INDEX", "1")
        .env("http_proxy", "http://127.0.0.1:9")
        .env("https_proxy", "http://127.0.0.1:9")
        // The fetch tests' mirror on 127.0.0.1 must not go through the walled-off proxy.
        .env("no_proxy", "127.0.0.1,localhost")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("ORT_DYLIB_PATH", ort_library());
    if std::env::var_os("LANTERN_ONNX_LIGHT").is_none() {
        cmd.env(
            "LANTERN_ONNX_LIGHT",
            root().join(".lantern/py/onnx/backend/test/data/light"),
        );
    }
    let o = run(&mut cmd);
    let out = text(&o);
    assert!(
        o.status.success(),
        "`just test` in a fresh clone failed:\n{out}"
    );
    // The binary crate itself may rebuild (its build script embeds the clone's git revision);
    // nothing below it may.
    let rebuilt: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("Compiling ") && !l.contains("Compiling lantern v"))
        .collect();
    assert!(rebuilt.is_empty(), "the clone rebuilt {rebuilt:?}:\n{out}");
    assert!(out.contains("test: no assets at"), "{out}");
    assert!(out.contains("SKIPPED for want of data:"), "{out}");
    assert!(out.contains("run `just fetch`"), "{out}");
    Some(out)
}

#[test]
fn just_test_in_a_fresh_clone_without_assets_skips_and_names_what_it_skipped() {
    // One module keeps it cheap: lantern-data's decode tests, most of which read the assets
    // (`--workspace`, as the suite builds it: another feature set would recompile).
    let Some(out) = just_test_in_a_fresh_clone(&["--workspace", "--lib", "--", "decode::tests"])
    else {
        return;
    };
    assert!(out.contains("lantern-data: needs the assets"), "{out}");
    assert!(
        out.contains("decode::tests::decodes_every_shared_photo"),
        "{out}"
    );
    assert!(out.contains("test result: ok"), "{out}");
}

#[test]
#[ignore = "runs the whole suite a second time, in a clone"]
fn the_whole_just_test_in_a_fresh_clone_without_assets_exits_0() {
    let Some(out) = just_test_in_a_fresh_clone(&[]) else {
        return;
    };
    for krate in [
        "lantern-graph",
        "lantern-explain",
        "lantern-metrics",
        "lantern",
    ] {
        assert!(
            out.contains(&format!("  {krate}: needs the")),
            "{krate} skipped nothing?\n{out}"
        );
    }
}

/// `cargo install --path crates/lantern --root <tmp>` (offline, this build's target folder), then
/// `lantern explain` in an unrelated folder, with a HOME of its own: ONNX Runtime is found only
/// through the Python `onnxruntime` that `just setup` installs (`.lantern/ort` on PYTHONPATH).
#[test]
fn an_installed_lantern_explains_from_any_folder_with_pythons_onnxruntime() {
    let Some(target) = release_target_dir() else {
        eprintln!("skipped: the install test reuses a release build (cargo test --release)");
        return;
    };
    let python_ort = root().join(".lantern/ort");
    if !python_ort.join("onnxruntime").is_dir() {
        eprintln!("skipped: no .lantern/ort (run `just setup`)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("prefix");
    let o = run(Command::new(env!("CARGO"))
        .args(["install", "--offline", "--locked", "--quiet", "--path"])
        .arg(root().join("crates/lantern"))
        .arg("--root")
        .arg(&prefix)
        .env("CARGO_TARGET_DIR", &target));
    assert!(o.status.success(), "cargo install: {}", text(&o));
    let lantern = prefix.join("bin/lantern");
    assert!(lantern.is_file());

    // An unrelated folder: a model and an image, no justfile, no .lantern anywhere above it.
    let work = dir.path().join("elsewhere");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nhwc-tiny.onnx");
    std::fs::copy(fixture, work.join("model.onnx")).unwrap();
    image::RgbImage::from_fn(40, 24, |x, y| {
        image::Rgb([(x * 6) as u8, (y * 9) as u8, 70])
    })
    .save(work.join("leaf.png"))
    .unwrap();
    let explain = |python_path: Option<&Path>| {
        let mut cmd = Command::new(&lantern);
        cmd.args(["explain", "--model", "model.onnx", "--image", "leaf.png"])
            .args(["--method", "saliency", "--out", "maps"])
            .current_dir(&work)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home);
        if let Some(p) = python_path {
            cmd.env("PYTHONPATH", p);
        }
        run(&mut cmd)
    };

    // Without the Python package nothing is found: the checkout's .lantern/ort stays unseen.
    let o = explain(None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stderr(&o).contains("lantern setup"),
        "names the command: {}",
        stderr(&o)
    );
    let checkout_install = root().join(".lantern/ort");
    assert!(
        !stderr(&o).contains(checkout_install.to_str().unwrap()),
        "an installed lantern looked into the checkout: {}",
        stderr(&o)
    );

    let o = explain(Some(&python_ort));
    assert!(o.status.success(), "{}", text(&o));
    assert!(work.join("maps/leaf.saliency.npy").is_file());
}
