//! The on-disk cache for derived artefacts (probe shapes, gradient graphs, ONNX Runtime's
//! optimised graphs, model facts), keyed by the model's content hash so a changed model never
//! reuses a stale graph; its files are written and checked by `cache_file`. Lives under
//! `LANTERN_CACHE`, the checkout's `.lantern/cache` (git-ignored), or outside a checkout the
//! user's folder (`~/.lantern/cache`, see [`lantern_core::dirs`]).

use sha2::{Digest, Sha256};
use std::path::PathBuf;

pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("LANTERN_CACHE") {
        return PathBuf::from(dir);
    }
    match crate::library::project_root() {
        Some(root) => root.join(".lantern").join("cache"),
        None => lantern_core::dirs::user_dir()
            .map(|d| d.join("cache"))
            .unwrap_or_else(|| std::env::temp_dir().join("lantern-cache")),
    }
}

/// The cache folder of one model.
/// (A key longer than 16 characters is cut: whatever tells keys apart must come first.)
pub fn model_dir(model_hash: &str) -> PathBuf {
    cache_root().join(&model_hash[..model_hash.len().min(16)])
}

/// The first 16 hex digits of the SHA-256 of `parts`, each ended by a newline.
pub fn digest<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(b"\n");
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A short stable key for a gradient spec (its Debug form hashed) and the revision of the graph
/// builder, so graphs cached by an older builder are never reused.
pub fn spec_key(spec: &lantern_graph::GradientSpec) -> String {
    let text = format!("{spec:?}|rev{}", lantern_graph::autodiff::GRAPH_REVISION);
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
