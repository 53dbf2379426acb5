//! Where Lantern keeps what belongs to the user rather than to one checkout (the ONNX Runtime
//! library `lantern setup` installs, the derived-graph cache, fonts): `~/.lantern`, or the
//! platform's data folder (`$XDG_DATA_HOME/lantern` or `~/.local/share/lantern` on Linux,
//! `~/Library/Application Support/lantern` on macOS, `%APPDATA%\lantern` on Windows).

use std::path::PathBuf;

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// The platform's data folder for Lantern.
pub fn platform_data_dir() -> Option<PathBuf> {
    if cfg!(target_os = "macos") {
        return home().map(|h| h.join("Library/Application Support/lantern"));
    }
    if cfg!(windows) {
        return std::env::var_os("APPDATA").map(|d| PathBuf::from(d).join("lantern"));
    }
    std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".local/share")))
        .map(|d| d.join("lantern"))
}

/// The user's folders, in the order they are searched: `~/.lantern`, then the platform's.
pub fn user_dirs() -> Vec<PathBuf> {
    home()
        .map(|h| h.join(".lantern"))
        .into_iter()
        .chain(platform_data_dir())
        .collect()
}

/// The folder to write into: the first of [`user_dirs`] that exists, else `~/.lantern`.
pub fn user_dir() -> Option<PathBuf> {
    let dirs = user_dirs();
    dirs.iter().find(|d| d.is_dir()).or(dirs.first()).cloned()
}
