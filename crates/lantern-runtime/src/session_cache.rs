//! ONNX Runtime's optimised graphs, kept on disk. Building a session spends most of its time in
//! graph optimisation (fusions, constant folding, the NCHWc layout pass); for a 22 MB gradient
//! graph that is tens of milliseconds on every `lantern explain`. The first session of a graph
//! asks ONNX Runtime to save what it optimised (`optimized_model_filepath`); later processes load
//! that file with optimisation off. (Saved as ONNX: ONNX Runtime 1.32 built sessions from its
//! own ORT format more slowly here — 69 against 41 ms for MobileNetV2's forward graph.)
//!
//! An entry lives in the model's cache folder ([`crate::cache::model_dir`], keyed by the model's
//! content hash) as `ort-<graph>-<key>.onnx.lc`, where the key digests everything else that
//! changes the optimised graph: the ONNX Runtime build (`ort::info()`: version and git commit),
//! the execution provider, the optimisation level, the CPU's instruction sets (the NCHWc pass
//! picks block sizes for them) and this file's format revision. Entries are checked files
//! ([`crate::cache_file`]); one that is damaged, or that ONNX Runtime rejects, is reported, removed
//! and rebuilt.

use crate::cache;
use crate::cache_file;
use crate::environment::Runtime;
use crate::error::Result;
use ort::session::Session;
use ort::session::builder::{BuilderResult, GraphOptimizationLevel, SessionBuilder};
use std::borrow::Cow;
use std::cell::OnceCell;
use std::path::{Path, PathBuf};

/// Bump when what is saved, or how it is loaded, changes.
const FORMAT_REVISION: u32 = 2;

/// What ONNX Runtime does with the graph it is given.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Optimise<'a> {
    /// Every optimisation (what Lantern has always used).
    Full,
    /// Every optimisation, and the result saved (as ONNX) at the path.
    FullSavingTo(&'a Path),
    /// A graph ONNX Runtime saved optimised: loaded with optimisation off.
    AlreadyDone,
}

impl Optimise<'_> {
    pub(crate) fn level(self) -> GraphOptimizationLevel {
        match self {
            Optimise::Full | Optimise::FullSavingTo(_) => GraphOptimizationLevel::All,
            Optimise::AlreadyDone => GraphOptimizationLevel::Disable,
        }
    }

    pub(crate) fn configure(self, builder: SessionBuilder) -> BuilderResult {
        match self {
            Optimise::Full => Ok(builder),
            Optimise::FullSavingTo(path) => builder
                .with_config_entry("session.save_model_format", "ONNX")?
                .with_optimized_model_path(path),
            Optimise::AlreadyDone => Ok(builder),
        }
    }
}

/// A graph whose optimised form is cached: the model's cache folder, a name for the graph
/// within it (`forward`, `grad-<spec key>`), and how to get the graph itself on a miss (called
/// at most once; borrowed where the caller holds it already, as a model file's bytes).
pub(crate) struct CachedGraph<'a> {
    pub dir: PathBuf,
    pub name: String,
    pub source: &'a dyn Fn() -> Result<Cow<'a, [u8]>>,
}

impl Runtime {
    /// A session for `graph` on the configured device (idle threads spinning, as
    /// [`Runtime::session`]), from the cached optimised graph when there is one, else optimising
    /// the source and saving the result for next time.
    pub(crate) fn cached_session<'a>(
        &self,
        graph: &CachedGraph<'a>,
        label: &str,
    ) -> Result<(Session, &'static str)> {
        let source: OnceCell<Cow<'a, [u8]>> = OnceCell::new();
        self.on_device(|cuda| {
            let path = graph.dir.join(format!(
                "ort-{}-{}.onnx.lc",
                graph.name,
                optimised_key(cuda)
            ));
            let what = format!("ONNX Runtime's optimised {} graph", graph.name);
            if let Some(bytes) = cache_file::read_or_warn(&path, &what) {
                match self.build_session(&bytes, label, cuda, true, Optimise::AlreadyDone) {
                    Ok(session) => return Ok(session),
                    Err(e) => cache_file::warn_damaged(
                        &path,
                        &what,
                        &format!("ONNX Runtime cannot load it ({e})"),
                    ),
                }
            }
            let bytes = match source.get() {
                Some(bytes) => bytes,
                None => {
                    let bytes = (graph.source)()?;
                    source.get_or_init(|| bytes)
                }
            };
            self.optimise_and_save(bytes, &path, label, cuda)
        })
    }

    /// Optimises `bytes` into a session, saving the optimised graph to `path` on the way.
    fn optimise_and_save(
        &self,
        bytes: &[u8],
        path: &Path,
        label: &str,
        cuda: bool,
    ) -> Result<Session> {
        let build = |optimise| self.build_session(bytes, label, cuda, true, optimise);
        // ONNX Runtime writes the file itself, not atomically: into a name of this process's
        // own, sealed with the cache trailer and moved into place after.
        let scratch = cache_file::scratch_beside(path);
        if scratch.parent().is_none_or(|dir| !dir.is_dir()) {
            // No cache folder: a session as before, nothing saved.
            return build(Optimise::Full);
        }
        let saving = Optimise::FullSavingTo(&scratch);
        let session = match build(saving) {
            Ok(session) => session,
            Err(saving_error) => {
                let _ = std::fs::remove_file(&scratch);
                tracing::debug!(target: "lantern::cache", "optimising while saving failed: {saving_error}");
                return build(Optimise::Full);
            }
        };
        // A cache that cannot be written only costs the optimisation next time.
        let _ = cache_file::seal(&scratch, path);
        Ok(session)
    }
}

/// The part of a cached optimised graph's name that is not the model or the graph.
fn optimised_key(cuda: bool) -> String {
    let ort_build = ort::info();
    let revision = FORMAT_REVISION.to_string();
    let cpu = cpu_features();
    cache::digest(
        [
            ort_build,
            if cuda { "cuda" } else { "cpu" },
            "level=all",
            &cpu,
            &revision,
        ]
        .into_iter(),
    )
}

/// The instruction sets ONNX Runtime's CPU kernels and layout passes choose between.
fn cpu_features() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        let mut found = vec![std::env::consts::ARCH];
        macro_rules! detect {
            ($($f:tt),*) => {$(
                if std::arch::is_x86_feature_detected!($f) {
                    found.push($f);
                }
            )*};
        }
        detect!(
            "sse4.1",
            "avx",
            "avx2",
            "fma",
            "f16c",
            "avx512f",
            "avx512bw",
            "avx512vl",
            "avx512vnni"
        );
        found.join(",")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::env::consts::ARCH.to_string()
    }
}
