//! Shared test helpers: where the shared assets and reference outputs live, and loading them.
#![allow(dead_code)]

use lantern_runtime::{Model, Runtime};
use ndarray::{Array2, Array3, ArrayD, Ix2, Ix3, Ix4};
use std::path::Path;

#[allow(unused_imports, reason = "each test binary uses a different subset")]
pub use lantern_core::test_data::{assets_dir, reference_dir};

pub fn load_model(path: &Path) -> Model {
    let runtime = Runtime::get_or_default().expect("ONNX Runtime (run `just setup`)");
    Model::load(runtime, path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn npy(path: &Path) -> ArrayD<f32> {
    lantern_data::read_npy::<f32>(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn npy2(path: &Path) -> Array2<f32> {
    npy(path).into_dimensionality::<Ix2>().expect("2-D array")
}

/// A `[1,C,H,W]` or `[C,H,W]` array as `[C,H,W]`.
pub fn npy_image(path: &Path) -> Array3<f32> {
    let a = npy(path);
    match a.ndim() {
        4 => a
            .into_dimensionality::<Ix4>()
            .unwrap()
            .index_axis_move(ndarray::Axis(0), 0),
        _ => a.into_dimensionality::<Ix3>().expect("3-D or 4-D array"),
    }
}

pub fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}
