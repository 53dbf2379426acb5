//! Atomic file writes: everything a run produces goes through lantern-core's
//! [`lantern_core::write_atomically`] (a temp file in the same folder, fsync, rename), so `kill -9` at any moment leaves either the old file or the new one.

use anyhow::{Context as _, Result};
use std::path::Path;

pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create folder {}", dir.display()))?;
    }
    lantern_core::write_atomically(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A name safe for a file: keeps letters, digits, `-`, `_`, `.`, `=` and `,`; the rest becomes `_`.
pub fn safe_name(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.=,+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
