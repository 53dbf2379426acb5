//! Lantern outside the team's setup (issue 15): a fresh clone with no assets and no network runs
//! the whole `just test`, which exits 0 and names what it skipped; an installed `lantern` works
//! from any folder with ONNX Runtime found through a Python `onnxruntime`, without seeing the
//! checkout.
//!
//! The clone builds into a target folder of its own, seeded from this build's so that nothing
//! but what changed is compiled again: the clone's files are dated back, and cargo's fingerprints
//! (paths relative to the workspace) find its crates up to date. Sharing this build's folder
//! instead would let the clone's rebuilt test binaries replace the ones this run has yet to start
//! (pointing into a clone that is gone by then). Inside the clone (`LANTERN_IN_FRESH_CLONE` set)
//! the clone test steps aside, so the clone does not clone again. Needs `git` and `just` for the
//! clone, ONNX Runtime, no assets.

mod common;

use common::{root, stderr};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// The clone and the install test both run cargo against this build's outputs: one at a time, so
/// the clone test's check that the outer build stayed untouched sees only its own effects.
static CARGO_RUNS: Mutex<()> = Mutex::new(());

/// Set in the clone's environment: the clone's own run of the clone test steps aside.
const IN_FRESH_CLONE: &str = "LANTERN_IN_FRESH_CLONE";

/// `cmd` without the variables cargo sets for a test process (package name, manifest folder,
/// binary paths, …): a nested cargo would hand them to build scripts that watch them and so
/// rebuild crates this build already has.
fn without_cargo_test_env(cmd: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let set_by_cargo_test = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
            || matches!(
                name,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "CARGO_RUSTC_CURRENT_DIR"
                    | "OUT_DIR"
            );
        if set_by_cargo_test {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Seeds `into/release` from `outer/release` for a build of its own. Compiled artifacts (rlibs,
/// metadata, shared objects, executables) are hard-linked where the file system allows (copied
/// elsewhere): rustc and the linker replace such a file rather than write into it, so a rebuild in the clone gives it a new file and leaves this
/// build's alone. Everything cargo rewrites in place (fingerprints, dep-info, build-script
/// outputs) is copied. Incremental caches are left out: keyed to the source paths, the clone
/// could not use them.
fn seed_target(outer: &Path, into: &Path) {
    fn walk(from: &Path, to: &Path, in_build_scripts: bool) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let (src, dst) = (entry.path(), to.join(entry.file_name()));
            let kind = entry.file_type().unwrap();
            let name = entry.file_name();
            if kind.is_dir() {
                if name != "incremental" {
                    walk(&src, &dst, in_build_scripts || name == "build");
                }
            } else if kind.is_file() {
                let meta = entry.metadata().unwrap();
                let name = name.to_string_lossy();
                let compiled = [".rlib", ".rmeta", ".so"].iter().any(|e| name.ends_with(e))
                    || (meta.mode() & 0o111 != 0 && !in_build_scripts);
                // A link needs the same file system; elsewhere a copy does the same job.
                if compiled && std::fs::hard_link(&src, &dst).is_ok() {
                    Ok(())
                } else {
                    // Cargo judges freshness by modification times: a copy keeps the original's.
                    std::fs::copy(&src, &dst).and_then(|_| {
                        std::fs::File::options()
                            .write(true)
                            .open(&dst)?
                            .set_modified(meta.modified()?)
                    })
                }
                .unwrap_or_else(|e| panic!("seeding {}: {e}", dst.display()));
            } else if kind.is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
            }
        }
    }
    walk(&outer.join("release"), &into.join("release"), false);
}

/// Every file of a build (incremental caches aside) with its inode, size and modification time:
/// two snapshots differ when anything was written into or replaced.
fn snapshot(target: &Path) -> BTreeMap<PathBuf, (u64, u64, i64, i64)> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, (u64, u64, i64, i64)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && entry.file_name() != "incremental" {
                walk(&path, out);
            } else if kind.is_file()
                && let Ok(m) = entry.metadata()
            {
                out.insert(path, (m.ino(), m.len(), m.mtime(), m.mtime_nsec()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&target.join("release"), &mut out);
    out
}

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

/// A clone of the checkout's HEAD in `dir`, every file dated 2000-01-01 (older than the build
/// outputs its target folder is seeded with, so cargo finds unchanged crates up to date), by its
/// real path: cargo names the crates it compiles by their path with links resolved.
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
    clone.canonicalize().unwrap()
}

/// The whole `just test` in a fresh clone with no assets, no reference outputs, no network (cargo
/// offline, pip without an index, proxies to a closed port); ONNX Runtime and the onnx package's
/// models are given by path, as `just setup` leaves them. Returns its output.
fn just_test_in_a_fresh_clone() -> Option<String> {
    if std::env::var_os(IN_FRESH_CLONE).is_some() {
        eprintln!("skipped: already inside the fresh clone this test made");
        return None;
    }
    let Some(outer_target) = release_target_dir() else {
        eprintln!("skipped: the fresh-clone test reuses a release build (cargo test --release)");
        return None;
    };
    if !have("git") || !have("just") {
        eprintln!("skipped: the fresh-clone test needs git and just");
        return None;
    }
    let _one_cargo = CARGO_RUNS.lock().unwrap_or_else(|e| e.into_inner());
    // Under the build's own tmp folder: the same file system as its outputs, so the seeded
    // target folder can hard-link them.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let clone = fresh_clone(dir.path());
    let target = dir.path().join("target");
    seed_target(&outer_target, &target);
    let outer_before = snapshot(&outer_target);

    let mut cmd = Command::new("just");
    cmd.arg("test").current_dir(&clone);
    without_cargo_test_env(&mut cmd);
    for var in [
        "LANTERN_REFERENCE",
        "LANTERN_SHARED",
        "LANTERN_HOME",
        "LANTERN_ASSETS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env(IN_FRESH_CLONE, "1")
        .env("LANTERN_ASSETS", dir.path().join("no-assets"))
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
    // What the clone compiled went into its own folder: not one file of this build was written
    // into, replaced or removed (this run's test binaries that have yet to start among them).
    let outer_after = snapshot(&outer_target);
    let touched: Vec<_> = outer_before
        .iter()
        .filter(|(path, stat)| outer_after.get(*path) != Some(stat))
        .map(|(path, _)| path)
        .take(10)
        .collect();
    assert!(
        touched.is_empty(),
        "the clone's build changed this build's files: {touched:?}"
    );
    // Only the workspace's own crates may compile again; every dependency is reused.
    let rebuilt: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("Compiling ") && !l.contains(&format!("{}", clone.display())))
        .collect();
    assert!(rebuilt.is_empty(), "the clone rebuilt {rebuilt:?}:\n{out}");
    Some(out)
}

#[test]
fn the_whole_just_test_in_a_fresh_clone_without_assets_exits_0_and_names_what_it_skipped() {
    let Some(out) = just_test_in_a_fresh_clone() else {
        return;
    };
    assert!(out.contains("test: no assets at"), "{out}");
    assert!(out.contains("SKIPPED for want of data:"), "{out}");
    assert!(out.contains("run `just fetch`"), "{out}");
    // lantern-data's decode tests read the shared photos: each is skipped and named.
    assert!(out.contains("lantern-data: needs the assets"), "{out}");
    assert!(
        out.contains("decode::tests::decodes_every_shared_photo"),
        "{out}"
    );
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
    assert!(out.contains("test result: ok"), "{out}");
    assert!(!out.contains("test result: FAILED"), "{out}");
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
    let one_cargo = CARGO_RUNS.lock().unwrap_or_else(|e| e.into_inner());
    let o = run(without_cargo_test_env(&mut Command::new(env!("CARGO")))
        .args(["install", "--offline", "--locked", "--quiet", "--path"])
        .arg(root().join("crates/lantern"))
        .arg("--root")
        .arg(&prefix)
        .env("CARGO_TARGET_DIR", &target));
    drop(one_cargo);
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
