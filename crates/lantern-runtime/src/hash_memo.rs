//! A model file's SHA-256 (its identity in caches and manifests) without hashing it on every
//! start: about 12 ms for MobileNetV2's 14 MB, 0.4 s for VGG16's 528 MB. The hash is remembered
//! per file under the cache root (`hashes/<digest of the canonical path>.lc`, a checked file)
//! with the file's identity when it was hashed: size, modification and status-change times to
//! the nanosecond, inode and device. It is reused only while all of these are unchanged.
//!
//! File times tick coarsely (a few ms on Linux, 2 s on FAT), so a file rewritten within the tick
//! it was hashed in can keep its times. As git does for its index ("racy clean" entries), a hash
//! is therefore only remembered for a file last changed more than [`SETTLED`] before: any later
//! rewrite gets later times. (The status-change time cannot be set back by `touch` either.)

use crate::cache;
use crate::cache_file;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How long a file must have been left alone before its hash is remembered.
const SETTLED: Duration = Duration::from_secs(2);

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    len: u64,
    /// Modification and status-change times, ns since the epoch (the latter 0 where the
    /// platform has none).
    modified: i128,
    changed: i128,
    inode: u64,
    device: u64,
}

impl Stamp {
    pub fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ns = |s: i64, n: i64| s as i128 * 1_000_000_000 + n as i128;
            Some(Stamp {
                len: meta.len(),
                modified: ns(meta.mtime(), meta.mtime_nsec()),
                changed: ns(meta.ctime(), meta.ctime_nsec()),
                inode: meta.ino(),
                device: meta.dev(),
            })
        }
        #[cfg(not(unix))]
        {
            let modified = meta
                .modified()
                .ok()?
                .duration_since(SystemTime::UNIX_EPOCH)
                .ok()?;
            Some(Stamp {
                len: meta.len(),
                modified: modified.as_nanos() as i128,
                changed: 0,
                inode: 0,
                device: 0,
            })
        }
    }

    fn line(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.len, self.modified, self.changed, self.inode, self.device
        )
    }

    /// Whether the file was last changed more than [`SETTLED`] before `now`.
    fn settled(&self, now: SystemTime) -> bool {
        let now = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        now - self.modified.max(self.changed) > SETTLED.as_nanos() as i128
    }
}

/// The SHA-256 of the file at `path`, whose bytes are `bytes`, read after taking `before`.
pub(crate) fn file_hash(path: &Path, bytes: &[u8], before: Option<Stamp>) -> String {
    file_hash_in(
        &cache::cache_root().join("hashes"),
        path,
        bytes,
        before,
        SystemTime::now(),
    )
    .0
}

/// [`file_hash`] with the memo folder and the time given; also says whether the memo served.
fn file_hash_in(
    dir: &Path,
    path: &Path,
    bytes: &[u8],
    before: Option<Stamp>,
    now: SystemTime,
) -> (String, bool) {
    let hash = || lantern_graph::model_hash(bytes);
    // The file changed while it was read: its stamp says nothing about these bytes.
    let Some(stamp) = before.filter(|b| Stamp::of(path).as_ref() == Some(b)) else {
        return (hash(), false);
    };
    let Ok(canonical) = path.canonicalize() else {
        return (hash(), false);
    };
    let memo = dir.join(format!(
        "{}.lc",
        cache::digest(std::iter::once(canonical.to_string_lossy().as_ref()))
    ));
    let expected = stamp.line();
    if let Some(text) = cache_file::read_or_warn(&memo, "model file hash")
        && let Ok(text) = String::from_utf8(text)
        && let Some((line, sha)) = text.split_once('\n')
        && line == expected
        && sha.len() == 64
    {
        return (sha.to_string(), true);
    }
    let sha = hash();
    if stamp.settled(now) {
        // A memo that cannot be written only costs the hash next time.
        let _ = cache_file::write(&memo, format!("{expected}\n{sha}").as_bytes());
    }
    (sha, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_now(dir: &Path, file: &Path, now: SystemTime) -> (String, bool) {
        let before = Stamp::of(file);
        let bytes = std::fs::read(file).unwrap();
        file_hash_in(dir, file, &bytes, before, now)
    }

    /// An empty memo folder, and a folder holding `model.onnx` with `bytes`.
    fn memo_and_model(bytes: &[u8]) -> (tempfile::TempDir, tempfile::TempDir, std::path::PathBuf) {
        let memo = tempfile::tempdir().unwrap();
        let files = tempfile::tempdir().unwrap();
        let file = files.path().join("model.onnx");
        std::fs::write(&file, bytes).unwrap();
        (memo, files, file)
    }

    #[test]
    fn a_settled_file_is_hashed_once_and_a_rewritten_one_again() {
        let (memo, _files, file) = memo_and_model(b"first version");
        // As if the file had been left alone for a while.
        let later = SystemTime::now() + Duration::from_secs(10);
        let first = lantern_graph::model_hash(b"first version");
        assert_eq!(hash_now(memo.path(), &file, later), (first.clone(), false));
        assert_eq!(hash_now(memo.path(), &file, later), (first, true));

        // Same size, other bytes, same path: the times differ, so the memo does not serve.
        std::thread::sleep(Duration::from_millis(50));
        std::fs::write(&file, b"other version").unwrap();
        let other = lantern_graph::model_hash(b"other version");
        assert_eq!(hash_now(memo.path(), &file, later), (other.clone(), false));
        assert_eq!(hash_now(memo.path(), &file, later), (other, true));
    }

    #[test]
    fn a_file_changed_just_now_is_not_remembered() {
        let (memo, _files, file) = memo_and_model(b"fresh");
        let now = SystemTime::now();
        assert!(!hash_now(memo.path(), &file, now).1);
        assert!(!hash_now(memo.path(), &file, now).1);
        assert_eq!(std::fs::read_dir(memo.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_damaged_memo_is_not_believed() {
        let (memo, _files, file) = memo_and_model(b"weights");
        let later = SystemTime::now() + Duration::from_secs(10);
        hash_now(memo.path(), &file, later);
        let entry = std::fs::read_dir(memo.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let mut bytes = std::fs::read(entry.path()).unwrap();
        // Swap one hex digit of the remembered hash.
        let at = bytes.len() - 30;
        bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
        std::fs::write(entry.path(), bytes).unwrap();
        assert_eq!(
            hash_now(memo.path(), &file, later),
            (lantern_graph::model_hash(b"weights"), false)
        );
    }
}
