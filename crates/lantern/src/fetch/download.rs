//! One verified download: stream the body into a temporary file beside the destination while
//! hashing it, and rename it into place only when size and sha256 match. A wrong checksum, an
//! HTTP error or a dropped connection leaves no file behind (the temporary file is removed when
//! it is dropped), so a half-written file can never pass for a finished one.

use anyhow::{Context as _, Result, bail};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// What a download found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The file was already there with the right checksum; nothing was requested.
    Present,
    Downloaded,
}

/// The HTTP client every download shares (keep-alive connections, rustls with the Mozilla roots).
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_body(Some(Duration::from_secs(300)))
        .user_agent(concat!("lantern/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// The sha256 of a file as lowercase hex, `None` if it cannot be read.
pub fn file_sha256(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).ok()?;
    Some(hex(&hasher.finalize()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Downloads `url` to `dest` unless `dest` already holds the expected bytes.
/// `on_bytes` is told of every chunk written (for a progress bar).
pub fn fetch_file(
    agent: &ureq::Agent,
    url: &str,
    dest: &Path,
    sha256: &str,
    size: u64,
    on_bytes: &dyn Fn(u64),
) -> Result<Outcome> {
    if file_sha256(dest).as_deref() == Some(sha256) {
        on_bytes(size);
        return Ok(Outcome::Present);
    }
    let folder = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => anyhow::anyhow!("{url}: HTTP {code}"),
        other => anyhow::anyhow!("{url}: {other}"),
    })?;
    let mut body = response.into_body().into_reader();
    let mut temp = tempfile::Builder::new()
        .prefix(".lantern-fetch-")
        .suffix(".part")
        .tempfile_in(folder)
        .with_context(|| format!("cannot write in {}", folder.display()))?;
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = body
            .read(&mut buffer)
            .with_context(|| format!("{url}: the download broke off after {written} bytes"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        temp.write_all(&buffer[..n])
            .with_context(|| format!("cannot write {}", dest.display()))?;
        written += n as u64;
        on_bytes(n as u64);
    }
    let actual = hex(&hasher.finalize());
    if actual != sha256 || written != size {
        bail!(
            "{url}: checksum mismatch: expected sha256 {sha256} ({size} bytes), got {actual} \
             ({written} bytes); nothing was written to {} (the upstream file changed, or a proxy \
             altered it)",
            dest.display()
        );
    }
    temp.as_file().sync_all()?;
    temp.persist(dest)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot move the download into {}", dest.display()))?;
    Ok(Outcome::Downloaded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::test_server::TestServer;

    fn sha(bytes: &[u8]) -> String {
        hex(&Sha256::digest(bytes))
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn downloads_verifies_and_then_skips_a_present_file() {
        let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let served = body.clone();
        let server = TestServer::start(move |path| (path == "/a/b.bin").then(|| served.clone()));
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x/b.bin");
        let url = format!("{}/a/b.bin", server.url());
        let total = std::sync::atomic::AtomicU64::new(0);
        let count = |n| {
            total.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        };
        let fetch = |on_bytes: &dyn Fn(u64)| {
            fetch_file(
                &agent(),
                &url,
                &dest,
                &sha(&body),
                body.len() as u64,
                on_bytes,
            )
        };
        let outcome = fetch(&count);
        assert_eq!(outcome.unwrap(), Outcome::Downloaded);
        assert_eq!(std::fs::read(&dest).unwrap(), body);
        assert_eq!(total.into_inner(), body.len() as u64);
        assert_eq!(server.requests(), 1);
        let again = fetch(&|_| {});
        assert_eq!(again.unwrap(), Outcome::Present);
        assert_eq!(
            server.requests(),
            1,
            "a present file is not requested again"
        );
        assert_eq!(leftovers(&dir.path().join("x")), vec!["b.bin".to_string()]);
    }

    #[test]
    fn a_wrong_checksum_is_a_clear_error_and_leaves_no_file() {
        let server = TestServer::start(|_| Some(b"tampered bytes".to_vec()));
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("model.onnx");
        let expected = sha(b"the real bytes");
        let url = format!("{}/model.onnx", server.url());
        let err = fetch_file(&agent(), &url, &dest, &expected, 14, &|_| {}).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("checksum mismatch"), "{message}");
        assert!(message.contains(&expected), "{message}");
        assert!(message.contains(&sha(b"tampered bytes")), "{message}");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }

    #[test]
    fn a_stale_file_is_replaced_only_by_verified_bytes() {
        let server = TestServer::start(|_| Some(b"new".to_vec()));
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.txt");
        std::fs::write(&dest, b"old").unwrap();
        let url = format!("{}/f.txt", server.url());
        // The server's bytes do not match either: the old file stays as it was.
        assert!(fetch_file(&agent(), &url, &dest, &sha(b"other"), 5, &|_| {}).is_err());
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");
        let ok = fetch_file(&agent(), &url, &dest, &sha(b"new"), 3, &|_| {}).unwrap();
        assert_eq!(ok, Outcome::Downloaded);
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        assert_eq!(leftovers(dir.path()), vec!["f.txt".to_string()]);
    }

    #[test]
    fn a_404_names_the_url_and_writes_nothing() {
        let server = TestServer::start(|_| None);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("missing.jpg");
        let url = format!("{}/nowhere/missing.jpg", server.url());
        let err = fetch_file(&agent(), &url, &dest, &"0".repeat(64), 1, &|_| {}).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("HTTP 404"), "{message}");
        assert!(message.contains("/nowhere/missing.jpg"), "{message}");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_refused_connection_is_an_error_not_a_hang() {
        // Bind and drop a listener: nothing listens on that port afterwards.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("http://127.0.0.1:{port}/x");
        let err = fetch_file(
            &agent(),
            &url,
            &dir.path().join("x"),
            &"0".repeat(64),
            1,
            &|_| {},
        );
        assert!(err.unwrap_err().to_string().contains("127.0.0.1"));
        assert!(leftovers(dir.path()).is_empty());
    }
}
