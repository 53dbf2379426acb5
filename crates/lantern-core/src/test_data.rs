//! Where the tests find the team's data, and how a test without it steps aside. The assets
//! (models, images: `just fetch` links or downloads them) and the reference outputs (Captum /
//! pytorch-grad-cam arrays, kept beside the assets) are not in the repository; a test that needs
//! them starts with [`skip_without_assets!`](crate::skip_without_assets) or
//! [`skip_without_reference!`](crate::skip_without_reference), which return early after writing
//! one [`SKIP_MARK`] line naming the test and the command that provides the data. The line goes
//! straight to stderr (libtest captures only `print!`/`eprint!`), so `just test` can list every
//! skipped test. With the data present the macros do nothing.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The start of every skip line.
pub const SKIP_MARK: &str = "lantern-test: SKIPPED";

/// `LANTERN_ASSETS` when set (then a missing folder means no assets: no fallback hides a wrong
/// setting); else `../shared/assets` beside the workspace; else the workspace's `data/` once
/// `lantern fetch --data data` filled it. An assets folder holds `models/`.
pub fn find_assets_dir(workspace: &Path) -> Option<PathBuf> {
    let has_models = |d: &PathBuf| d.join("models").is_dir();
    match std::env::var_os("LANTERN_ASSETS") {
        Some(dir) => Some(PathBuf::from(dir)).filter(has_models),
        None => [workspace.join("../shared/assets"), workspace.join("data")]
            .into_iter()
            .find(has_models),
    }
}

/// `LANTERN_REFERENCE` when set; else `reference/` beside the assets, or `../shared/reference`
/// beside the workspace.
pub fn find_reference_dir(workspace: &Path) -> Option<PathBuf> {
    match std::env::var_os("LANTERN_REFERENCE") {
        Some(dir) => Some(PathBuf::from(dir)).filter(|d| d.is_dir()),
        None => find_assets_dir(workspace)
            .map(|a| a.join("../reference"))
            .into_iter()
            .chain([workspace.join("../shared/reference")])
            .find(|d| d.is_dir()),
    }
}

/// The workspace of a crate (two levels above its manifest folder).
pub fn workspace_of(manifest_dir: &str) -> PathBuf {
    Path::new(manifest_dir).join("../..")
}

/// The assets folder for a test that cannot run without it (see [`find_assets_dir`]); panics
/// with what to do when it is missing. Tests that can step aside use [`skip_without_assets!`].
pub fn assets_dir() -> PathBuf {
    find_assets_dir(&workspace_of(env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|| panic!("{NO_ASSETS}"))
}

/// The reference outputs for a test that cannot run without them (see [`find_reference_dir`]).
pub fn reference_dir() -> PathBuf {
    find_reference_dir(&workspace_of(env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|| panic!("{NO_REFERENCE}"))
}

/// Writes the skip line for the running test: `lantern-test: SKIPPED <crate> <test>: <why>`.
pub fn report_skip(krate: &str, module: &str, why: &str) {
    let thread = std::thread::current();
    let test = thread.name().filter(|n| *n != "main").unwrap_or(module);
    let _ = writeln!(std::io::stderr(), "{SKIP_MARK} {krate} {test}: {why}");
}

/// Why a test without the assets was skipped, and what provides them.
pub const NO_ASSETS: &str = "needs the assets (LANTERN_ASSETS, ../shared/assets or data/): \
                             run `just fetch` (or `lantern fetch --data data`)";
/// Why a test without the reference outputs was skipped, and where they come from.
pub const NO_REFERENCE: &str = "needs the reference outputs (LANTERN_REFERENCE or \
                                ../shared/reference, made with tools/ from the PyTorch libraries)";

/// The folder `$find` finds from the calling crate's workspace; else a skip line saying `$why`
/// and a return from the calling test. The body of the `skip_without_*` macros.
#[doc(hidden)]
#[macro_export]
macro_rules! folder_or_skip {
    ($find:ident, $why:ident) => {
        match $crate::test_data::$find(&$crate::test_data::workspace_of(env!("CARGO_MANIFEST_DIR")))
        {
            Some(dir) => dir,
            None => {
                $crate::test_data::report_skip(
                    env!("CARGO_PKG_NAME"),
                    module_path!(),
                    $crate::test_data::$why,
                );
                return;
            }
        }
    };
}

/// Returns from the calling test (after a skip line) when the assets are missing; else gives
/// their folder.
#[macro_export]
macro_rules! skip_without_assets {
    () => {
        $crate::folder_or_skip!(find_assets_dir, NO_ASSETS)
    };
}

/// Returns from the calling test (after a skip line) when the assets or the reference outputs
/// are missing; else gives the reference folder.
#[macro_export]
macro_rules! skip_without_reference {
    () => {{
        let _ = $crate::skip_without_assets!();
        $crate::folder_or_skip!(find_reference_dir, NO_REFERENCE)
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guarded(ran: &mut bool) {
        let _assets = crate::skip_without_assets!();
        *ran = true;
    }

    /// Without assets the guarded body does not run; with them it does. (One test: the
    /// environment is process-wide.)
    #[test]
    fn a_missing_assets_folder_skips_and_an_existing_one_runs() {
        let empty = std::env::temp_dir().join(format!("lantern-no-assets-{}", std::process::id()));
        let full = empty.join("assets");
        std::fs::create_dir_all(full.join("models")).unwrap();
        let saved = std::env::var_os("LANTERN_ASSETS");
        let mut ran = false;
        // SAFETY: no other test in this crate reads the environment.
        unsafe { std::env::set_var("LANTERN_ASSETS", empty.join("missing")) };
        guarded(&mut ran);
        assert!(!ran, "skipped without assets");
        unsafe { std::env::set_var("LANTERN_ASSETS", &full) };
        guarded(&mut ran);
        assert!(ran, "runs with assets");
        assert_eq!(find_assets_dir(Path::new("/nowhere")), Some(full));
        match saved {
            Some(v) => unsafe { std::env::set_var("LANTERN_ASSETS", v) },
            None => unsafe { std::env::remove_var("LANTERN_ASSETS") },
        }
        std::fs::remove_dir_all(&empty).unwrap();
    }
}
