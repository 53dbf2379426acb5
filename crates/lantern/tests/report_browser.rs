//! The HTML report in a real browser: after a quick `lantern run`, headless Chromium renders
//! `index.html` to a screenshot, which must show the report's text and its inlined figures
//! (colourful heatmaps), not a blank page. Chromium comes from `just setup` (Debian's
//! `chromium`); `LANTERN_CHROMIUM` names another binary. A missing browser fails the test.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `LANTERN_CHROMIUM`, else the first of chromium / chromium-browser / google-chrome on PATH.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("LANTERN_CHROMIUM") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "chromium not found on PATH: run `just setup` (it installs Debian's chromium), \
         or set LANTERN_CHROMIUM=/path/to/chromium"
    );
}

/// Renders `page` to a PNG screenshot of `width`×`height` with headless Chromium.
fn screenshot(page: &Path, png: &Path, width: u32, height: u32) {
    let profile = tempfile::tempdir().unwrap();
    let browser = chromium();
    let mut child = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e} (run `just setup`)", browser.display()));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("{} did not finish within 120 s", browser.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut log = String::new();
    if let Some(mut err) = child.stderr.take() {
        use std::io::Read as _;
        err.read_to_string(&mut log).ok();
    }
    assert!(
        status.success() && png.is_file(),
        "{} failed ({status}) without a screenshot:\n{log}",
        browser.display()
    );
}

#[test]
fn the_report_renders_in_a_headless_browser() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let images = [
        cat_dog(),
        assets().join("imagenet/samples/n02676566_acoustic_guitar.JPEG"),
    ];
    let exp = quick_experiment(dir.path(), "browser", &images, "threads = 1\nbatch = 8", "");
    let out = dir.path().join("out");
    run_ok(&exp, &out, &[]);
    let page = out.join("index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    let figures = html.matches("<img src=\"data:image/png;base64,").count();
    assert!(
        figures >= 2,
        "the report inlines its figures ({figures} found)"
    );

    // Kept after the test for a look: target/tmp/report-browser.png.
    let png = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-browser.png");
    std::fs::remove_file(&png).ok();
    let (width, height) = (1200, 2000);
    screenshot(&page, &png, width, height);
    let shot = image::open(&png)
        .unwrap_or_else(|e| panic!("{}: {e}", png.display()))
        .to_rgb8();
    assert_eq!(shot.dimensions(), (width, height));

    let total = (width * height) as usize;
    let non_white = shot
        .pixels()
        .filter(|p| p.0.iter().any(|&c| c < 240))
        .count();
    // Saturated pixels: heatmaps, overlays and plot lines, only there if the figures decoded.
    let colourful = shot
        .pixels()
        .filter(|p| {
            let (max, min) = (p.0.iter().max().unwrap(), p.0.iter().min().unwrap());
            max - min > 80
        })
        .count();
    let mut colours: Vec<[u8; 3]> = shot.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    // Text at the top: the title and the counts line.
    let top_ink = shot
        .enumerate_pixels()
        .filter(|(_, y, p)| *y < 150 && p.0.iter().any(|&c| c < 128))
        .count();
    let summary = format!(
        "{} of {total} pixels non-white, {colourful} colourful, {} colours, {top_ink} dark pixels in the top 150 rows (screenshot {})",
        non_white,
        colours.len(),
        png.display()
    );
    eprintln!("{summary}");
    assert!(non_white > total / 20, "mostly blank: {summary}");
    assert!(colourful > total / 100, "no figures drawn: {summary}");
    assert!(
        colours.len() > 500,
        "too few colours for heatmaps: {summary}"
    );
    assert!(top_ink > 500, "no title text: {summary}");
}
