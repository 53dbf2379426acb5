//! The download manifest (`sources.tsv`, written by `tools/make_sources.py`): every file
//! `lantern fetch` downloads, with its public URL at a pinned upstream commit, size and sha256.

use anyhow::{Result, bail};

/// The manifest compiled into the binary.
pub const SOURCES: &str = include_str!("sources.tsv");

/// One downloadable file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The upstream source's short name (a mirror lays files out as `<source>/<path>`).
    pub source: String,
    /// The source's base URL (ends with `/`).
    pub base_url: String,
    /// The path under the base URL.
    pub path: String,
    /// Where it lands, relative to the data folder (`/`-separated).
    pub dest: String,
    pub sha256: String,
    pub size: u64,
}

impl Entry {
    /// The set a file belongs to: the first folder of its destination (`models`, `imagenet`, …).
    pub fn set(&self) -> &str {
        self.dest.split('/').next().unwrap_or("")
    }

    /// The upstream URL, or the file's place on a mirror (`<mirror>/<source>/<path>`).
    pub fn url(&self, mirror: Option<&str>) -> String {
        match mirror {
            Some(m) => format!(
                "{}/{}/{}",
                m.trim_end_matches('/'),
                self.source,
                percent_encode(&self.path)
            ),
            None => format!("{}{}", self.base_url, percent_encode(&self.path)),
        }
    }
}

/// Escapes everything but unreserved characters and `/` (PlantVillage names hold spaces).
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parses the manifest format (see the header of `sources.tsv`).
pub fn parse(text: &str) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut source: Option<(String, String, String, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = line.split('\t').collect();
        if cells[0] == "@" {
            let [_, name, base, strip, dest_prefix] = cells[..] else {
                bail!("sources.tsv:{line_no}: a source line has 5 tab-separated cells");
            };
            source = Some((name.into(), base.into(), strip.into(), dest_prefix.into()));
            continue;
        }
        let Some((name, base, strip, dest_prefix)) = &source else {
            bail!("sources.tsv:{line_no}: a file before any source line");
        };
        let [sha256, size, path, dest] = cells[..] else {
            bail!("sources.tsv:{line_no}: a file line has 4 tab-separated cells");
        };
        let dest = if dest.is_empty() {
            match path.strip_prefix(strip.as_str()) {
                Some(rest) => format!("{dest_prefix}{rest}"),
                None => bail!("sources.tsv:{line_no}: {path} is not under {strip}"),
            }
        } else {
            dest.to_string()
        };
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("sources.tsv:{line_no}: {sha256:?} is not a sha256");
        }
        entries.push(Entry {
            source: name.clone(),
            base_url: base.clone(),
            path: path.to_string(),
            dest,
            sha256: sha256.to_ascii_lowercase(),
            size: size.parse()?,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_manifest_covers_what_the_experiments_read() {
        let entries = parse(SOURCES).unwrap();
        let has = |dest: &str| entries.iter().any(|e| e.dest == dest);
        for dest in [
            "models/mobilenetv2-12-float.onnx",
            "photos/cat_dog.png",
            "imagenet/samples/n02676566_acoustic_guitar.JPEG",
            "imagenet/labels/synset_squeeze-labels.txt",
            "imagenet/labels/imagenet-simple-labels.json",
            "plant-pathology-2020/train.csv",
            "plant-pathology-2020/images/Train_0.jpg",
        ] {
            assert!(has(dest), "{dest} missing from sources.tsv");
        }
        let leaves = entries
            .iter()
            .filter(|e| e.set() == "plantvillage-apple")
            .count();
        assert_eq!(leaves, 1175);
        let samples = entries.iter().filter(|e| e.set() == "imagenet").count();
        assert_eq!(samples, 502 + 3);
        // Every URL is pinned to a full commit.
        for e in &entries {
            assert!(
                e.base_url
                    .split('/')
                    .any(|part| part.len() == 40 && part.bytes().all(|b| b.is_ascii_hexdigit())),
                "{} is not pinned",
                e.base_url
            );
        }
    }

    #[test]
    fn urls_escape_spaces_and_mirrors_use_the_source_name() {
        let e = Entry {
            source: "plantvillage-apple".into(),
            base_url: "https://example.org/repo/abc/".into(),
            path: "Apple/Apple___healthy/a b (1).JPG".into(),
            dest: "plantvillage-apple/Apple___healthy/a b (1).JPG".into(),
            sha256: "0".repeat(64),
            size: 1,
        };
        assert_eq!(
            e.url(None),
            "https://example.org/repo/abc/Apple/Apple___healthy/a%20b%20%281%29.JPG"
        );
        assert_eq!(
            e.url(Some("http://127.0.0.1:80/")),
            "http://127.0.0.1:80/plantvillage-apple/Apple/Apple___healthy/a%20b%20%281%29.JPG"
        );
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let err = parse("@\ta\thttps://x/\t\t\nnothex\t1\tp\t\n").unwrap_err();
        assert!(err.to_string().contains("sources.tsv:2"), "{err}");
        let err = parse(&format!("{}\t1\tp\t\n", "a".repeat(64))).unwrap_err();
        assert!(err.to_string().contains("before any source"), "{err}");
    }
}
