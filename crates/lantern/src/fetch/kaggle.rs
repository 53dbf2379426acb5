//! The full Plant Pathology 2020 competition data (Kaggle FGVC7, 1821 labelled leaves) is behind
//! a Kaggle account and the competition's rules, so it comes through the `kaggle` CLI with the
//! user's own credentials, or not at all: then a message says what to do, and where.

use anyhow::{Context as _, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const COMPETITION: &str = "plant-pathology-2020-fgvc7";
pub const RULES_URL: &str = "https://www.kaggle.com/competitions/plant-pathology-2020-fgvc7/rules";

/// What the user has to do before `lantern fetch --kaggle` can work.
pub fn how_to() -> String {
    format!(
        "the full Plant Pathology 2020 data needs a Kaggle account: accept the competition rules at \
         {RULES_URL}, save your API token (kaggle.com → Settings → API → Create New Token) as \
         ~/.kaggle/kaggle.json (or set KAGGLE_USERNAME and KAGGLE_KEY), `pip install kaggle`, then \
         run `lantern fetch --kaggle`"
    )
}

/// Where the Kaggle CLI looks for credentials, if any are there.
pub fn credentials() -> Option<String> {
    if std::env::var_os("KAGGLE_USERNAME").is_some() && std::env::var_os("KAGGLE_KEY").is_some() {
        return Some("KAGGLE_USERNAME/KAGGLE_KEY".into());
    }
    let dir = std::env::var_os("KAGGLE_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kaggle")))?;
    let file = dir.join("kaggle.json");
    file.is_file().then(|| file.display().to_string())
}

/// Downloads and unpacks the competition into `dest` (`train.csv`, `images/`: the layout
/// `kind = "plant-pathology-2020"` reads). Already unpacked → nothing to do.
pub fn fetch_competition(dest: &Path) -> Result<()> {
    if dest.join("train.csv").is_file() && dest.join("images").is_dir() {
        println!("fetch: {} is already there", dest.display());
        return Ok(());
    }
    if credentials().is_none() {
        bail!("no Kaggle credentials found: {}", how_to());
    }
    std::fs::create_dir_all(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    let status = Command::new("kaggle")
        .args(["competitions", "download", "-c", COMPETITION, "-p"])
        .arg(dest)
        .status();
    match status {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("the `kaggle` command is not installed: {}", how_to())
        }
        Err(e) => bail!("cannot run `kaggle`: {e}"),
        Ok(s) if !s.success() => bail!(
            "`kaggle competitions download -c {COMPETITION}` failed ({s}); if it says 403, accept \
             the rules at {RULES_URL} first"
        ),
        Ok(_) => {}
    }
    let zip = dest.join(format!("{COMPETITION}.zip"));
    // The Kaggle CLI is a Python program, so Python's zipfile is there to unpack its download.
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let unzip = Command::new(&python)
        .args(["-m", "zipfile", "-e"])
        .arg(&zip)
        .arg(dest)
        .status()
        .with_context(|| format!("cannot run {python} to unpack {}", zip.display()))?;
    if !unzip.success() {
        bail!("unpacking {} failed ({unzip})", zip.display());
    }
    std::fs::remove_file(&zip).ok();
    println!(
        "fetch: Plant Pathology 2020 in {}; use it with --set data.root={}",
        dest.display(),
        dest.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_says_where_to_accept_the_rules() {
        let text = how_to();
        assert!(text.contains(RULES_URL));
        assert!(text.contains("kaggle.json"));
    }
}
