//! `lantern setup`: what an installed `lantern` needs outside a checkout, in the user's folder
//! (`~/.lantern`, see `lantern_core::dirs`): the ONNX Runtime library from the PyPI
//! `onnxruntime` wheel (`onnxruntime-gpu` with `--gpu`), installed with the active Python's pip.

use anyhow::{Context as _, Result, bail};
use lantern_runtime::library;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

#[derive(clap::Args, Debug)]
pub struct SetupArgs {
    /// Install the CUDA build (onnxruntime-gpu) into ort-gpu instead.
    #[arg(long)]
    pub gpu: bool,
    /// The folder to install into (default: ~/.lantern, or the platform's data folder if that
    /// one exists already).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

pub fn setup(args: &SetupArgs) -> Result<ExitCode> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            lantern_core::dirs::user_dir().context("no home folder (HOME is unset): give --dir")?
        }
    };
    let (folder, package) = if args.gpu {
        ("ort-gpu", "onnxruntime-gpu")
    } else {
        ("ort", "onnxruntime")
    };
    let target = dir.join(folder);
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let spec = format!("{package}=={}", library::ORT_VERSION);
    println!("setup: installing {spec} into {}", target.display());
    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]);
    if !args.gpu {
        // The CPU wheel's library needs nothing else; the GPU wheel brings its CUDA libraries.
        pip.arg("--no-deps");
    }
    let status = pip
        .arg("--target")
        .arg(&target)
        .arg(&spec)
        .status()
        .with_context(|| format!("cannot run {python} -m pip (install Python 3 and pip)"))?;
    if !status.success() {
        bail!("{python} -m pip install {spec} failed ({status})");
    }
    let found = library::find_library(None, args.gpu)?;
    println!("setup: ONNX Runtime is {}", found.display());
    if lantern_plot::ensure_font().is_err() {
        println!(
            "setup: no font for figure text: install DejaVu Sans (Debian: fonts-dejavu-core), put a \
             .ttf into {}, or set LANTERN_FONT",
            dir.join("fonts").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
