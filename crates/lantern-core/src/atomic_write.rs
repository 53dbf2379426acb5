//! Atomic file replacement, the one implementation every crate uses: write everything to a
//! uniquely named temporary file in the destination's own folder, flush it to disk, then rename
//! it over the destination.
//!
//! A reader (or a crashed run resumed later) therefore sees either the old file or the complete
//! new one, never a half-written file. The temporary file lives in the same folder because
//! `rename` is only atomic within one file system; `tempfile` picks a name no concurrent writer
//! (another rayon worker, another process) can hold, and removes the file if anything fails.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::Path;

/// Whether the new file reaches the disk before it replaces the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Flushed first: after a power loss the destination holds the old or the new file (results).
    Synced,
    /// Not flushed: after a power loss the destination may be cut short. For files that detect
    /// that themselves and can be rebuilt (the runtime's cache), where a flush would cost more
    /// than the work it saves.
    Unsynced,
}

/// Replaces `path` with `bytes` atomically. The folder must exist. On failure the temporary file
/// is removed and the destination is left as it was.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_parts_atomically(path, &[bytes], Durability::Synced)
}

/// [`write_atomically`] of the concatenation of `parts` (no copy into one buffer), flushed to
/// disk or not as `durability` says.
pub fn write_parts_atomically(
    path: &Path,
    parts: &[&[u8]],
    durability: Durability,
) -> io::Result<()> {
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        )
    })?;
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    // `.name.XXXXXX.tmp`: hidden, and recognisable if a crash leaves it behind.
    let mut prefix = OsString::from(".");
    prefix.push(file_name);
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // The mode a plain `File::create` gives (0o666 less the umask), not tempfile's private 0o600:
    // outputs stay as readable as they were before they were written atomically.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temp = builder.tempfile_in(folder)?;
    for part in parts {
        temp.write_all(part)?;
    }
    // Without sync a power loss after the rename could leave an empty file under the final name.
    if durability == Durability::Synced {
        temp.as_file().sync_all()?;
    }
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn replaces_existing_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a b ü.bin");
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary file left behind: {names:?}");
    }

    #[test]
    fn failure_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-folder").join("x.bin");
        assert!(write_atomically(&path, b"x").is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn files_get_the_ordinary_mode_not_a_private_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (plain, atomic) = (dir.path().join("plain"), dir.path().join("atomic"));
        fs::write(&plain, b"x").unwrap();
        write_atomically(&atomic, b"x").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&atomic), mode(&plain));
    }

    #[test]
    fn concurrent_writers_of_one_folder_do_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        std::thread::scope(|s| {
            for i in 0..8 {
                let path = dir.path().join("same.bin");
                s.spawn(move || write_atomically(&path, &[i; 1000]).unwrap());
            }
        });
        let bytes = fs::read(dir.path().join("same.bin")).unwrap();
        assert!(bytes.len() == 1000 && bytes.iter().all(|&b| b == bytes[0]));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
