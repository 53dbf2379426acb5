//! A Keras-style NHWC model end to end (`tools/make_nhwc_fixture.py`: input `[N,24,40,3]`, a
//! Transpose to NCHW in front of the first Conv, as tf2onnx writes it): `lantern explain` gives
//! saliency, Grad-CAM and occlusion maps of the image's size, equal to those of the same network
//! taking NCHW; an NHWC-shaped `--input-npy` is refused with a message that says NCHW. Needs ONNX
//! Runtime, no assets.

mod common;

use common::{
    experiment, experiment_header, lantern_in, occlusion_with_deletion, read_npy, rel_err, stderr,
};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A 24×40 input tensor, NCHW `[1,3,24,40]` (what `--input-npy` takes) or NHWC `[1,24,40,3]`.
fn write_input(dir: &Path, name: &str, nhwc: bool) -> PathBuf {
    let nchw = ndarray::Array4::from_shape_fn((1, 3, 24, 40), |(_, c, y, x)| {
        ((c * 7 + y * 3 + x * 5) % 17) as f32 / 17.0 - 0.4
    });
    let array = if nhwc {
        nchw.permuted_axes([0, 2, 3, 1])
            .as_standard_layout()
            .to_owned()
    } else {
        nchw
    };
    let path = dir.join(name);
    lantern_data::write_npy(&path, &array).unwrap();
    path
}

fn explain(
    dir: &Path,
    model: &str,
    input: &[&str],
    method: &str,
    out: &str,
) -> std::process::Output {
    let model = fixture(model);
    let mut args = vec!["explain", "--model", model.to_str().unwrap()];
    args.extend_from_slice(input);
    args.extend_from_slice(&["--method", method, "--target", "0", "--out", out]);
    lantern_in(dir, &args)
}

#[test]
fn an_nhwc_model_is_explained_like_its_nchw_twin() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path(), "x.npy", false);
    let input = ["--input-npy", input.to_str().unwrap()];
    for method in ["saliency", "gradcam", "occlusion"] {
        let mut maps = Vec::new();
        for (model, out) in [
            ("nhwc-tiny.onnx", "nhwc"),
            ("nhwc-tiny-nchw-twin.onnx", "nchw"),
        ] {
            let o = explain(dir.path(), model, &input, method, out);
            assert!(o.status.success(), "{method} on {model}: {}", stderr(&o));
            maps.push(read_npy(
                &dir.path().join(out).join(format!("x.{method}.npy")),
            ));
        }
        assert_eq!(
            maps[0].shape(),
            [24, 40],
            "{method}: the map has the image's H×W"
        );
        assert!(maps[0].iter().all(|v| v.is_finite()), "{method}: finite");
        // (Class 0, as Grad-CAM's ReLU zeroes class 1's whole map for this input.)
        assert!(maps[0].iter().any(|v| *v != 0.0), "{method}: not all zero");
        let err = rel_err(&maps[0], &maps[1]);
        assert!(err < 1e-4, "{method}: NHWC and NCHW maps differ by {err}");
    }
}

#[test]
fn an_image_is_explained_through_the_nhwc_model() {
    let dir = tempfile::tempdir().unwrap();
    let photo = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8])
    });
    photo.save(dir.path().join("photo.png")).unwrap();
    for method in ["saliency", "gradcam", "occlusion"] {
        let o = explain(
            dir.path(),
            "nhwc-tiny.onnx",
            &["--image", "photo.png"],
            method,
            "out",
        );
        assert!(o.status.success(), "{method}: {}", stderr(&o));
        let map = read_npy(&dir.path().join(format!("out/photo.{method}.npy")));
        assert_eq!(map.shape(), [24, 40], "{method}");
        assert!(dir.path().join(format!("out/photo.{method}.png")).is_file());
    }
}

#[test]
fn an_nhwc_input_npy_is_refused_with_a_message_that_says_nchw() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path(), "x.npy", true);
    let o = explain(
        dir.path(),
        "nhwc-tiny.onnx",
        &["--input-npy", input.to_str().unwrap()],
        "saliency",
        "out",
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("[1, 24, 40, 3]"), "{err}");
    assert!(err.contains("always NCHW: [1,3,24,40]"), "{err}");
    assert!(err.contains("transpose(0, 3, 1, 2)"), "{err}");
}

#[test]
fn a_run_with_svg_figures_writes_svg_and_inlines_it_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let photo = image::RgbImage::from_fn(40, 24, |x, y| {
        image::Rgb([(x * 6) as u8, (y * 9) as u8, 80])
    });
    photo.save(dir.path().join("a.png")).unwrap();
    let toml = format!(
        r#"{header}preprocess = "raw"

[data]
kind = "list"
images = ["a.png"]

[methods.saliency]
{occlusion}
[output]
format = "svg"
"#,
        header = experiment_header("svg", &fixture("nhwc-tiny.onnx")),
        occlusion = occlusion_with_deletion(8),
    );
    experiment(dir.path(), "svg", &toml);
    let o = lantern_in(dir.path(), &["run", "svg.toml", "--out", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let all: Vec<PathBuf> = std::fs::read_dir(dir.path().join("out/figures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let figures: Vec<PathBuf> = all
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .cloned()
        .collect();
    // One per image × method, and the summary figures (mean deletion curves, the ranking,
    // the methods grid) in the same format: no PNG anywhere.
    assert!(figures.len() >= 4, "{all:?}");
    assert!(
        all.iter()
            .all(|p| p.extension().is_some_and(|e| e == "svg")),
        "{all:?}"
    );
    let figures: Vec<PathBuf> = figures
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("a."))
        .collect();
    assert_eq!(figures.len(), 2, "one SVG figure per image × method");
    let svg = std::fs::read_to_string(&figures[0]).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{}",
        &svg[..80]
    );
    assert!(svg.contains("<text") && svg.contains("data:image/png;base64,"));
    let html = std::fs::read_to_string(dir.path().join("out/index.html")).unwrap();
    assert!(
        html.contains("data:image/svg+xml;base64,"),
        "the report inlines the SVG"
    );
}
