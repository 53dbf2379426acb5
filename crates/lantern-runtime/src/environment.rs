//! The one ONNX Runtime environment of the process. `ort` loads the dynamic library once per
//! process, so the first [`Runtime::init`] wins and later calls return the same runtime.

use crate::device::Device;
use crate::error::{Result, RuntimeError};
use crate::library;
pub(crate) use crate::session_cache::Optimise;
use ort::session::Session;
use std::path::PathBuf;
use std::sync::OnceLock;

#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    pub device: Device,
    /// Intra-op threads per session; `None` lets ONNX Runtime use every core.
    pub threads: Option<usize>,
    /// A library path from the config (after `ORT_DYLIB_PATH`, before the project install).
    pub library: Option<PathBuf>,
}

pub struct Runtime {
    env: ort::environment::Environment,
    pub options: RuntimeOptions,
    pub library: PathBuf,
    pub ort_version: String,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
static INIT_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Runtime {
    /// Loads ONNX Runtime (once) and returns the process-wide runtime.
    pub fn init(options: RuntimeOptions) -> Result<&'static Runtime> {
        if let Some(rt) = RUNTIME.get() {
            return Ok(rt);
        }
        let _guard = INIT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(rt) = RUNTIME.get() {
            return Ok(rt);
        }
        let prefer_gpu = options.device != Device::Cpu;
        let library = library::find_library(options.library.as_deref(), prefer_gpu)?;
        let load_error = |message: String| RuntimeError::LibraryLoad {
            path: library.clone(),
            message,
        };
        let env = ort::init_from(&library)
            .map_err(|e| load_error(e.to_string()))?
            .with_name("lantern")
            .with_logger(std::sync::Arc::new(crate::log::forward))
            .build()
            .map_err(|e| load_error(e.to_string()))?;
        env.set_log_level(crate::log::level_for(
            tracing::level_filters::LevelFilter::current(),
        ));
        let ort_version = library::version_from_path(&library);
        Ok(RUNTIME.get_or_init(|| Runtime {
            env,
            options,
            library,
            ort_version,
        }))
    }

    /// The runtime with default options (CPU, all cores) unless one was initialised already.
    pub fn get_or_default() -> Result<&'static Runtime> {
        Self::init(RuntimeOptions::default())
    }

    /// Builds a session for `bytes` on the configured device; returns it and the provider that
    /// actually runs it (`"cpu"` or `"cuda"`). Asking for CUDA where it cannot start is an error,
    /// never a silent CPU run.
    pub fn session(&self, bytes: &[u8], label: &str) -> Result<(Session, &'static str)> {
        self.session_with(bytes, label, true)
    }

    /// [`Runtime::session`] with the idle intra-op threads' spinning chosen: derived graphs
    /// that run back to back turn it off (see `subgraph`).
    pub(crate) fn session_with(
        &self,
        bytes: &[u8],
        label: &str,
        spinning: bool,
    ) -> Result<(Session, &'static str)> {
        self.on_device(|cuda| self.build_session(bytes, label, cuda, spinning, Optimise::Full))
    }

    /// Runs `build` for the configured device (`true`: with the CUDA provider) and names the
    /// provider that runs the session.
    pub(crate) fn on_device(
        &self,
        mut build: impl FnMut(bool) -> Result<Session>,
    ) -> Result<(Session, &'static str)> {
        match self.options.device {
            Device::Cpu => Ok((build(false)?, "cpu")),
            Device::Cuda => {
                build(true)
                    .map(|s| (s, "cuda"))
                    .map_err(|e| RuntimeError::CudaUnavailable {
                        message: e.to_string().trim_end_matches('.').to_string(),
                    })
            }
            Device::Auto => match build(true) {
                Ok(s) => Ok((s, "cuda")),
                Err(_) => Ok((build(false)?, "cpu")),
            },
        }
    }

    pub(crate) fn build_session(
        &self,
        bytes: &[u8],
        label: &str,
        cuda: bool,
        spinning: bool,
        optimise: Optimise,
    ) -> Result<Session> {
        let err = |message: String| RuntimeError::Model {
            path: PathBuf::from(label),
            message,
        };
        let mut builder = Session::builder(&self.env)
            .map_err(|e| err(e.to_string()))?
            .with_optimization_level(optimise.level())
            .map_err(|e| err(e.to_string()))?;
        builder = optimise
            .configure(builder)
            .map_err(|e| err(e.to_string()))?;
        if !spinning {
            builder = builder
                .with_intra_op_spinning(false)
                .map_err(|e| err(e.to_string()))?;
        }
        if let Some(threads) = self.options.threads {
            builder = builder
                .with_intra_threads(threads)
                .map_err(|e| err(e.to_string()))?
                .with_inter_threads(1)
                .map_err(|e| err(e.to_string()))?;
        }
        if cuda {
            builder = builder
                .with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()])
                .map_err(|e| err(e.to_string()))?;
        }
        builder
            .commit_from_memory(bytes)
            .map_err(|e| err(e.to_string()))
    }
}
