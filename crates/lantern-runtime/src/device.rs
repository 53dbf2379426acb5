use crate::error::RuntimeError;
use std::fmt;
use std::str::FromStr;

/// Which execution provider runs the model. `Auto` tries CUDA and falls back to CPU; the
/// provider that actually ran is what [`crate::Model::device_used`] reports (and the manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    #[default]
    Cpu,
    #[serde(alias = "gpu")]
    Cuda,
    Auto,
}

impl FromStr for Device {
    type Err = RuntimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda),
            "auto" => Ok(Device::Auto),
            other => Err(RuntimeError::UnknownDevice(other.to_string())),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
            Device::Auto => "auto",
        })
    }
}

impl Device {
    /// The provider every session runs on, when that is known before building one (not for
    /// `auto`, which finds out by trying CUDA).
    pub fn fixed_provider(self) -> Option<&'static str> {
        match self {
            Device::Cpu => Some("cpu"),
            Device::Cuda => Some("cuda"),
            Device::Auto => None,
        }
    }
}
