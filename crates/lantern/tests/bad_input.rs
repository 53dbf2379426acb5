//! Bad input, end to end: every broken image, dataset row, config, model and output folder is
//! refused with a message that names it, a failed item is a row of `scores.csv` with its error
//! while the rest of the run completes, and the exit code and stderr summary say how many failed.
//! Images that only need a conversion (grayscale, RGBA, 16-bit, CMYK) succeed with a note.
//!
//! Settings are small (occlusion window 112, stride 112: 4 forward passes per image on
//! MobileNetV2; no figures) so the suite stays fast.

mod bad_input_support;
mod common;

#[path = "../../lantern-data/src/testing/cmyk_jpeg.rs"]
mod cmyk_jpeg;

use bad_input_support::*;
use common::*;
use lantern_graph::ir::{make_node, tensor_f32};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

// ---------------------------------------------------------------------------------------------
// Broken and unusual image files: one run over all of them

struct ImagesRun {
    _dir: tempfile::TempDir,
    out: PathBuf,
    output: Output,
    rows: Vec<BTreeMap<String, String>>,
}

/// Writes every bad/unusual image into one folder and runs one experiment over them (plus a
/// plain photo), so each test below checks its own row of the same run.
fn images_run() -> &'static ImagesRun {
    static RUN: OnceLock<ImagesRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut images = vec![cat_dog()];

        let jpeg = std::fs::read(assets().join("imagenet/samples/n01440764_tench.JPEG")).unwrap();
        images.push(write_file(d, "truncated.jpg", &jpeg[..jpeg.len() / 2]));
        images.push(write_file(d, "empty.jpg", b""));
        images.push(write_file(d, "notes.jpg", "shopping list: eggs, flour\n"));

        let deep = d.join("deep16.png");
        image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 1000) as u16, (y * 1300) as u16, 40_000])
        })
        .save(&deep)
        .unwrap();
        images.push(deep);

        let blocks: Vec<[u8; 4]> = (0..8)
            .map(|i| [30 * i as u8, 200, 255 - 20 * i as u8, 220])
            .collect();
        let cmyk = cmyk_jpeg::flat_cmyk_jpeg(&blocks);
        images.push(write_file(d, "cmyk.jpg", cmyk));

        let gray = d.join("gray.png");
        image::GrayImage::from_fn(80, 60, |x, y| image::Luma([(x * 3 + y) as u8]))
            .save(&gray)
            .unwrap();
        images.push(gray);

        let rgba = d.join("rgba.png");
        image::RgbaImage::from_fn(80, 60, |x, y| {
            image::Rgba([x as u8 * 3, y as u8 * 4, 90, if x < 40 { 255 } else { 128 }])
        })
        .save(&rgba)
        .unwrap();
        images.push(rgba);

        images.push(huge_png(d));

        let odd_dir = d.join("dossier été 猫");
        std::fs::create_dir_all(&odd_dir).unwrap();
        let odd = odd_dir.join("chat et chien ü.png");
        std::fs::copy(cat_dog(), &odd).unwrap();
        images.push(odd);

        let exp = experiment(
            d,
            "images",
            &experiment_text(&mobilenet(), &list_data(&images), OCCLUSION, ""),
        );
        let out = d.join("out");
        let output = run(&exp, &out, &[]);
        let rows = scores(&out);
        ImagesRun {
            _dir: dir,
            out,
            output,
            rows,
        }
    })
}

/// A real 10000×10000 grayscale PNG (100 Mpx), cheap because it is constant: ~100 KB.
fn huge_png(dir: &Path) -> PathBuf {
    use image::ImageEncoder as _;
    let path = dir.join("huge.png");
    let (w, h) = (10_000u32, 10_000u32);
    let pixels = vec![128u8; (w * h) as usize];
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    image::codecs::png::PngEncoder::new_with_quality(
        file,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::NoFilter,
    )
    .write_image(&pixels, w, h, image::ExtendedColorType::L8)
    .unwrap();
    path
}

#[test]
fn the_image_run_records_every_failure_and_completes() {
    lantern_core::skip_without_assets!();
    let r = images_run();
    assert_eq!(r.rows.len(), 10, "one row per image: {:#?}", r.rows);
    assert_summary(&r.output, 6, 4);
    assert_completed(&r.out);
    let ok = row_for(&r.rows, "photos/cat_dog.png");
    assert_eq!(ok["status"], "ok");
    assert!(
        ok["notes"].is_empty(),
        "plain 8-bit RGB needs no note: {ok:#?}"
    );
    // Failed items are listed in the report and the Markdown summary too.
    let html = std::fs::read_to_string(r.out.join("index.html")).unwrap();
    let md = std::fs::read_to_string(r.out.join("summary.md")).unwrap();
    for row in r.rows.iter().filter(|r| r["status"] == "failed") {
        assert!(
            html.contains(&row["item"]),
            "index.html lacks {}",
            row["item"]
        );
        assert!(
            md.contains(&row["item"]),
            "summary.md lacks {}",
            row["item"]
        );
    }
}

#[test]
fn broken_image_files_are_refused_naming_the_file_and_the_fault() {
    lantern_core::skip_without_assets!();
    let cases: [(&str, &[&str]); 4] = [
        ("truncated.jpg", &["truncated JPEG"]),
        ("empty.jpg", &["empty (0 bytes)"]),
        ("notes.jpg", &["not an image", "shopping list"]),
        // Refused before decoding.
        (
            "huge.png",
            &["10000×10000", "100000000 pixels", "limit of 64000000"],
        ),
    ];
    for (file, faults) in cases {
        let row = row_for(&images_run().rows, file);
        assert_failed_with(row, &[&[file][..], faults].concat());
    }
}

#[test]
fn images_that_need_a_conversion_succeed_with_a_note() {
    lantern_core::skip_without_assets!();
    for (file, note) in [
        ("deep16.png", "16-bit reduced to 8-bit"),
        ("cmyk.jpg", "CMYK JPEG converted to RGB"),
        ("gray.png", "grayscale expanded to RGB"),
        ("rgba.png", "converted from RGBA to RGB"),
    ] {
        assert_ok_with_note(row_for(&images_run().rows, file), note);
    }
    let rgba = row_for(&images_run().rows, "rgba.png");
    assert!(rgba["notes"].contains("2400 of 4800 pixels"), "{rgba:#?}");
}

#[test]
fn a_path_with_spaces_and_non_ascii_characters_works() {
    lantern_core::skip_without_assets!();
    let r = images_run();
    let row = row_for(&r.rows, "dossier été 猫/chat et chien ü.png");
    assert_eq!(row["status"], "ok", "{row:#?}");
    let map = r.out.join(&row["map_file"]);
    assert!(map.is_file(), "{}", map.display());
    // Same pixels as the plain copy, so the same map.
    let plain = row_for(&r.rows, "photos/cat_dog.png");
    assert_eq!(
        std::fs::read(map).unwrap(),
        std::fs::read(r.out.join(&plain["map_file"])).unwrap()
    );
    assert_ne!(row["item"], plain["item"], "distinct item ids");
}

// ---------------------------------------------------------------------------------------------
// Plant Pathology 2020 CSV

/// An experiment `plant` in `dir` on a Plant Pathology root there with `train.csv` = `csv` and
/// three real leaf images.
fn plant_experiment(dir: &Path, csv: &str) -> PathBuf {
    let root = dir.join("plant");
    std::fs::create_dir_all(root.join("images")).unwrap();
    for id in ["Train_0", "Train_1", "Train_2"] {
        std::fs::copy(
            assets().join(format!("plant-pathology-2020/images/{id}.jpg")),
            root.join(format!("images/{id}.jpg")),
        )
        .unwrap();
    }
    std::fs::write(root.join("train.csv"), csv).unwrap();
    let data = format!(
        "[data]\nkind = \"plant-pathology-2020\"\nroot = {:?}\n",
        root.display().to_string()
    );
    experiment(
        dir,
        "plant",
        &experiment_text(&mobilenet(), &data, OCCLUSION, ""),
    )
}

#[test]
fn plant_csv_rows_with_an_unknown_image_or_two_labels_fail_alone() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let csv = "image_id,healthy,multiple_diseases,rust,scab\n\
               Train_0,0,0,0,1\n\
               Train_404,1,0,0,0\n\
               Train_1,0,1,0,0\n\
               Train_2,1,0,1,0\n";
    let exp = plant_experiment(dir.path(), csv);
    let out = dir.path().join("out");
    let o = run(&exp, &out, &[]);
    assert_summary(&o, 2, 2);
    assert_completed(&out);
    let rows = scores(&out);
    assert_eq!(rows.len(), 4, "no CSV row may be dropped: {rows:#?}");
    let unknown = row_for(&rows, "Train_404.jpg");
    assert_failed_with(
        unknown,
        &["train.csv line 3", "Train_404.jpg does not exist"],
    );
    let two = row_for(&rows, "Train_2.jpg");
    assert_failed_with(
        two,
        &["train.csv line 5", "2 label columns are 1 (healthy, rust)"],
    );
    for ok in ["Train_0.jpg", "Train_1.jpg"] {
        assert_eq!(row_for(&rows, ok)["status"], "ok");
    }
    assert_eq!(
        row_for(&rows, "Train_1.jpg")["label_name"],
        "multiple_diseases"
    );
}

#[test]
fn a_plant_csv_without_a_label_column_is_refused() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let csv = "image_id,healthy,multiple_diseases,scab\nTrain_0,0,0,1\nTrain_1,0,1,0\n";
    let exp = plant_experiment(dir.path(), csv);
    let o = run(&exp, &dir.path().join("out"), &[]);
    // The message names the file, the missing column and the columns found.
    assert_refused(&o, &["train.csv", "rust", "image_id, healthy"]);
}

// ---------------------------------------------------------------------------------------------
// Config files (unknown key, wrong type and sweeps over missing keys are in run_cli.rs)

#[test]
fn more_config_errors_name_the_file_line_and_key() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let base = cat_dog_text(&mobilenet());
    let line_of =
        |text: &str, needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    // (file text, the text on the line the message must name if it names one, what else the
    // message must contain)
    let cases: [(String, Option<&str>, &[&str]); 7] = [
        // A TOML syntax error: an unterminated string.
        (
            base.replace("name = \"bad-input\"", "name = \"bad-input"),
            Some("name = \"bad-input"),
            &[],
        ),
        // An unknown key in a nested table.
        (
            base.replace("threads = 1", "threads = 1\nthreds = 2"),
            Some("threds"),
            &["threds"],
        ),
        // A wrong type in [data].
        (
            base.replace("kind = \"list\"", "kind = \"list\"\nlimit = -3"),
            Some("limit"),
            &["limit"],
        ),
        // A sweep entry that is not a list.
        (
            format!("{base}\n[sweep]\n\"occlusion.window\" = 16\n"),
            Some("\"occlusion.window\" = 16"),
            &["must be a list"],
        ),
        // A sweep value of the wrong type for a typed key.
        (
            format!("{base}\n[sweep]\n\"runtime.batch\" = [8, \"many\"]\n"),
            None,
            &["batch"],
        ),
        // An unknown method.
        (
            base.replace("[methods.occlusion]", "[methods.occlusoin]"),
            None,
            &["occlusoin"],
        ),
        // A bad method parameter.
        (
            base.replace("stride = 112", "stride = 112\nwindw = 3"),
            None,
            &["windw"],
        ),
    ];
    for (text, line, keys) in cases {
        let place = match line {
            Some(on_line) => format!("cfg.toml:{}", line_of(&text, on_line)),
            None => "cfg.toml".to_string(),
        };
        let needles = [&[place.as_str()][..], keys].concat();
        let exp = experiment(dir.path(), "cfg", &text);
        let o = run(&exp, &dir.path().join("out"), &[]);
        assert!(!o.status.success(), "accepted:\n{text}");
        let err = stderr(&o);
        for n in &needles {
            assert!(err.contains(n), "expected {n:?} in: {err}\nfor:\n{text}");
        }
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn an_override_of_a_key_that_does_not_exist_is_refused() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let exp = cat_dog_experiment(dir.path(), "cfg", &mobilenet());
    let o = run(
        &exp,
        &dir.path().join("out"),
        &["--set", "runtime.batchsize=4"],
    );
    assert_refused(&o, &["--set runtime.batchsize=4", "batchsize"]);
}

// ---------------------------------------------------------------------------------------------
// Models

#[test]
fn a_file_that_is_not_onnx_is_refused_by_layers_and_run() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake model.onnx");
    std::fs::write(&fake, "I am a text file, not a network.\n").unwrap();
    let exp = cat_dog_experiment(dir.path(), "fake", &fake);
    for o in [
        lantern(&["layers", fake.to_str().unwrap()]),
        run(&exp, &dir.path().join("out"), &[]),
    ] {
        assert_refused(&o, &["fake model.onnx", "not an ONNX model"]);
    }
}

#[test]
fn a_model_whose_input_is_not_an_image_is_refused() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let weights: Vec<f32> = (0..30).map(|i| i as f32 * 0.01).collect();
    let model = write_file(
        dir.path(),
        "tabular.onnx",
        onnx_model(
            vec![make_node(
                "Gemm",
                &["features", "w", "b"],
                &["scores"],
                "gemm",
                vec![],
            )],
            vec![
                tensor_f32("w", &[10, 3], &weights),
                tensor_f32("b", &[3], &[0.0; 3]),
            ],
            ("features", &[None, Some(10)]),
            "scores",
        ),
    );
    let check = |o: &Output| {
        assert_refused(o, &["tabular.onnx", "\"features\"", "image"]);
    };
    check(&lantern(&["layers", model.to_str().unwrap()]));
    let exp = cat_dog_experiment(dir.path(), "tabular", &model);
    check(&run(&exp, &dir.path().join("out"), &[]));
}

#[test]
fn an_op_without_a_gradient_rule_fails_gradient_methods_only() {
    lantern_core::skip_without_assets!();
    let op = op_without_gradient_rule();
    let dir = tempfile::tempdir().unwrap();
    let node = make_node(op, &["image"], &["wavy"], "wavy_node", vec![]);
    let model = write_file(
        dir.path(),
        "wavy.onnx",
        tiny_classifier(vec![node], vec![], vec![]),
    );
    let images = photos(&CAT_DOG_AND_TENCH);
    let methods = format!("[methods.saliency]\n\n{OCCLUSION}");
    let exp = experiment(
        dir.path(),
        "wavy",
        &experiment_text(&model, &list_data(&images), &methods, ""),
    );
    let out = dir.path().join("out");
    let o = run(&exp, &out, &[]);
    assert_summary(&o, 2, 2);
    assert_completed(&out);
    let rows = scores(&out);
    assert_eq!(rows.len(), 4);
    for r in &rows {
        match r["method"].as_str() {
            "saliency" => assert_failed_with(r, &[&format!("op {op}"), "wavy_node"]),
            "occlusion" => {
                assert_eq!(r["status"], "ok", "{r:#?}");
                assert!(out.join(&r["map_file"]).is_file());
            }
            other => panic!("unexpected method {other}"),
        }
    }
}

#[test]
fn a_model_output_with_nan_or_inf_fails_the_item_naming_the_image() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let div = make_node(
        "Div",
        &["gemm", "zero"],
        &["logits"],
        "divide_by_zero",
        vec![],
    );
    let model = write_file(
        dir.path(),
        "broken.onnx",
        tiny_classifier(vec![], vec![div], vec![tensor_f32("zero", &[1], &[0.0])]),
    );
    let images = [cat_dog()];
    let exp = experiment(
        dir.path(),
        "broken",
        &experiment_text(&model, &list_data(&images), OCCLUSION, ""),
    );
    let out = dir.path().join("out");
    let o = run(&exp, &out, &[]);
    assert_summary(&o, 0, 1);
    assert_completed(&out);
    let rows = scores(&out);
    assert_failed_with(&rows[0], &["cat_dog.png", "model output", "inf"]);
}

// ---------------------------------------------------------------------------------------------
// Targets and output

#[test]
fn a_target_class_out_of_range_fails_each_item() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let images = photos(&CAT_DOG_AND_TENCH);
    let exp = experiment(
        dir.path(),
        "far",
        &experiment_text(
            &mobilenet(),
            &list_data(&images),
            OCCLUSION,
            "\n[targets]\nmode = \"class\"\nclass = 5000\n",
        ),
    );
    let out = dir.path().join("out");
    let o = run(&exp, &out, &[]);
    assert_summary(&o, 0, 2);
    assert_completed(&out);
    for r in scores(&out) {
        assert_failed_with(&r, &["target class 5000", "1000 classes"]);
    }
}

#[test]
fn an_unwritable_output_folder_is_refused_naming_it() {
    lantern_core::skip_without_assets!();
    let dir = tempfile::tempdir().unwrap();
    let exp = cat_dog_experiment(dir.path(), "nowhere", &mobilenet());
    // Root ignores permission bits, so make the parent a regular file instead.
    let blocker = write_file(dir.path(), "a file", "not a folder");
    let out = blocker.join("reports");
    let o = run(&exp, &out, &[]);
    assert_refused(&o, &[&out.display().to_string(), "output folder"]);
    // /proc refuses new folders whoever asks.
    let o = run(&exp, Path::new("/proc/lantern-reports"), &[]);
    assert_refused(&o, &["/proc/lantern-reports"]);
}
