//! Cache files that tell when they are damaged. Every file Lantern keeps in its cache ends in a
//! 20-byte trailer — CRC-32 and length of the payload, then a magic tag — and is named `*.lc`.
//! A truncated, overwritten or half-copied file fails the check, is reported once with a warning
//! and rebuilt; it never reaches ONNX Runtime or the graph decoder (a protobuf cut at a field
//! boundary can still decode, into a graph with nodes missing). CRC-32 runs at memory speed
//! (about 2 ms for a 22 MB gradient graph), where SHA-256 would cost a tenth of the start-up.

use crate::error::{Result, RuntimeError};
use lantern_core::{Durability, write_parts_atomically};
use std::io::Write as _;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"LNTCACHE";
const TRAILER: usize = 4 + 8 + MAGIC.len();

/// What a cache lookup found.
#[derive(Debug)]
pub enum Lookup {
    /// The payload, checked.
    Hit(Vec<u8>),
    Missing,
    /// The file exists but fails the check (the reason says how).
    Corrupt(String),
}

/// Reads and checks `path`.
pub fn read(path: &Path) -> Lookup {
    let mut bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Missing,
        Err(e) => return Lookup::Corrupt(format!("cannot read it: {e}")),
    };
    match check(&bytes) {
        Ok(len) => {
            bytes.truncate(len);
            Lookup::Hit(bytes)
        }
        Err(reason) => Lookup::Corrupt(reason),
    }
}

/// The payload length when `bytes` is a whole, undamaged cache file.
fn check(bytes: &[u8]) -> std::result::Result<usize, String> {
    let n = bytes.len();
    if n < TRAILER || &bytes[n - MAGIC.len()..] != MAGIC {
        return Err(format!(
            "it is truncated or not a Lantern cache file ({n} bytes, no end marker)"
        ));
    }
    let field = |at: usize, len: usize| &bytes[n - TRAILER + at..n - TRAILER + at + len];
    let crc = u32::from_le_bytes(field(0, 4).try_into().expect("4 bytes"));
    let len = u64::from_le_bytes(field(4, 8).try_into().expect("8 bytes"));
    if len != (n - TRAILER) as u64 {
        return Err(format!(
            "its length is {} bytes where its trailer says {len}",
            n - TRAILER
        ));
    }
    let payload = &bytes[..n - TRAILER];
    if crc32fast::hash(payload) != crc {
        return Err("its checksum does not match its contents".into());
    }
    Ok(payload.len())
}

/// Writes `payload` and its trailer atomically (a reader — another process sharing the cache —
/// never sees half a file; the folder is created). Not flushed to disk first, unlike results:
/// after a crash a cache file may be cut short, which the trailer reveals, and it is rebuilt.
pub fn write(path: &Path, payload: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .and_then(|()| {
            write_parts_atomically(path, &[payload, &trailer(payload)], Durability::Unsynced)
        })
        .map_err(|e| cache_error(path, e))
}

/// Makes the file at `scratch` (written by someone else: ONNX Runtime) a cache file at `path`:
/// its trailer appended, then renamed into place.
pub fn seal(scratch: &Path, path: &Path) -> Result<()> {
    let sealed = (|| {
        let payload = std::fs::read(scratch)?;
        let mut file = std::fs::OpenOptions::new().append(true).open(scratch)?;
        file.write_all(&trailer(&payload))
    })();
    finish(sealed, scratch, path)
}

/// A name for a file on its way to `path`, in the same folder (a rename within one file
/// system is atomic), unique to this process and moment; the folder is created.
pub fn scratch_beside(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let _ = std::fs::create_dir_all(dir);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    dir.join(format!(
        ".{}.{}.{nanos}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("cache"),
        std::process::id()
    ))
}

fn trailer(payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(TRAILER);
    bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(MAGIC);
    bytes
}

fn finish(written: std::io::Result<()>, scratch: &Path, path: &Path) -> Result<()> {
    let renamed = written.and_then(|()| std::fs::rename(scratch, path));
    renamed.map_err(|e| {
        let _ = std::fs::remove_file(scratch);
        cache_error(path, e)
    })
}

fn cache_error(path: &Path, e: std::io::Error) -> RuntimeError {
    RuntimeError::Cache {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Reads `path`; a damaged file is reported (with `what` it holds), removed and treated as
/// missing, so the caller rebuilds it.
pub fn read_or_warn(path: &Path, what: &str) -> Option<Vec<u8>> {
    match read(path) {
        Lookup::Hit(bytes) => {
            tracing::debug!(target: "lantern::cache", path = %path.display(), "cache hit: {what}");
            Some(bytes)
        }
        Lookup::Missing => {
            tracing::debug!(target: "lantern::cache", path = %path.display(), "cache miss: {what}");
            None
        }
        Lookup::Corrupt(reason) => {
            warn_damaged(path, what, &reason);
            None
        }
    }
}

/// [`read_or_warn`] of a JSON cache file, parsed; one that does not parse is damaged too.
pub fn read_json_or_warn<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Option<T> {
    let bytes = read_or_warn(path, what)?;
    match serde_json::from_slice(&bytes) {
        Ok(value) => Some(value),
        Err(e) => {
            warn_damaged(path, what, &e.to_string());
            None
        }
    }
}

/// The one warning for a cache entry that cannot be used; the entry is removed.
pub fn warn_damaged(path: &Path, what: &str, reason: &str) {
    tracing::warn!(
        "cache file {} ({what}) is damaged: {reason}; rebuilding it",
        path.display()
    );
    let _ = std::fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_file_reads_back_and_any_damage_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lc");
        assert!(matches!(read(&path), Lookup::Missing));
        let payload: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        write(&path, &payload).unwrap();
        match read(&path) {
            Lookup::Hit(bytes) => assert_eq!(bytes, payload),
            other => panic!("{other:?}"),
        }
        let whole = std::fs::read(&path).unwrap();
        // Truncated anywhere, a byte flipped anywhere, or empty: never a hit.
        for cut in [0, 1, TRAILER - 1, whole.len() / 2, whole.len() - 1] {
            std::fs::write(&path, &whole[..cut]).unwrap();
            assert!(matches!(read(&path), Lookup::Corrupt(_)), "cut at {cut}");
        }
        for at in [
            0,
            5000,
            whole.len() - TRAILER,
            whole.len() - 10,
            whole.len() - 1,
        ] {
            let mut bad = whole.clone();
            bad[at] ^= 0x40;
            std::fs::write(&path, &bad).unwrap();
            assert!(matches!(read(&path), Lookup::Corrupt(_)), "flip at {at}");
        }
        // A payload that happens to end like a trailer is still only the payload.
        write(&path, &whole).unwrap();
        match read(&path) {
            Lookup::Hit(bytes) => assert_eq!(bytes, whole),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_damaged_file_is_removed_so_it_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("y.lc");
        std::fs::write(&path, b"not a cache file").unwrap();
        assert!(read_or_warn(&path, "test").is_none());
        assert!(!path.exists());
    }
}
