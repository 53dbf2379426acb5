//! The command line lists its own choices and batches from the command line: a bogus method is
//! a usage error (exit 2) naming every method; `lantern methods` and `completions` work without
//! a model; a folder of 10 images gives 10 rows in scores.csv and a 10-map `a_batch` in the npz.

mod common;

use common::*;

#[test]
fn a_bogus_method_lists_the_valid_ones_and_exits_2() {
    let out = lantern(&[
        "explain", "--model", "m.onnx", "--image", "x.png", "--method", "bogus", "--out", "o",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for name in lantern_explain::method_names() {
        assert!(err.contains(name), "{name} not listed: {err}");
    }
    assert!(lantern_explain::method_names().len() >= 18);
}

#[test]
fn methods_and_completions_need_no_model() {
    let out = lantern(&["methods"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("occlusion") && text.contains("(default 14)"),
        "{text}"
    );
    for shell in ["bash", "zsh", "fish"] {
        let out = lantern(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("explain"));
    }
    let out = lantern(&["grad", "m.onnx", "--rule", "nope", "-o", "x.onnx"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("deconvnet"));
}

/// The member `name.npy` of an uncompressed `.npz`.
fn npz_member(zip: &[u8], name: &str) -> Vec<u8> {
    let file = format!("{name}.npy");
    let at = zip
        .windows(file.len())
        .position(|w| w == file.as_bytes())
        .expect("member");
    let header = at - 30;
    assert_eq!(&zip[header..header + 4], b"PK\x03\x04");
    let size = u32::from_le_bytes(zip[header + 18..header + 22].try_into().unwrap()) as usize;
    zip[at + file.len()..at + file.len() + size].to_vec()
}

#[test]
fn a_folder_of_ten_images_gives_ten_rows_and_a_ten_map_npz() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    let mut samples: Vec<_> = std::fs::read_dir(assets().join("imagenet/samples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    samples.sort();
    for s in samples.iter().take(10) {
        std::fs::copy(s, images.join(s.file_name().unwrap())).unwrap();
    }
    let out_dir = dir.path().join("out");
    let out = explain(
        &mobilenet(),
        ("--image", &images),
        &out_dir,
        &[
            "--method",
            "gradcam",
            "--format",
            "npz",
            "--normalize",
            "minmax",
            "--threads",
            "2",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = std::fs::read_to_string(out_dir.join("scores.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 10, "{csv}");
    assert_eq!(csv.lines().filter(|l| l.contains(",ok,")).count(), 10);
    let zip = std::fs::read(out_dir.join("gradcam.npz")).unwrap();
    let a_batch =
        lantern_data::parse_npy_bytes(&npz_member(&zip, "a_batch"), "a_batch".as_ref()).unwrap();
    let lantern_data::NpyArray::F32(a_batch) = a_batch else {
        panic!("a_batch is not float32")
    };
    assert_eq!(a_batch.shape(), &[10, 224, 224]);
    assert!(a_batch.iter().all(|v| (0.0..=1.0).contains(v)));
    let ids = npz_member(&zip, "ids");
    assert!(String::from_utf8_lossy(&ids).contains("'<U"));
}
