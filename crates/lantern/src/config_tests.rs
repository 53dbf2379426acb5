//! Tests of `config.rs`.
use super::*;

const BASE: &str = r#"
[experiment]
name = "t"

[model]
path = "m.onnx"

[data]
kind = "list"
images = ["a.png"]

[methods.occlusion]
window = 32
"#;

fn file(text: &str) -> ExperimentFile {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exp.toml");
    std::fs::write(&path, text).unwrap();
    let f = ExperimentFile::load(&path).unwrap();
    std::mem::forget(dir);
    f
}

#[test]
fn unknown_key_names_file_and_line() {
    let f = file(&BASE.replace("name = \"t\"", "name = \"t\"\ncolour = 3"));
    let err = f.typed(&SweepPoint::default()).unwrap_err().to_string();
    assert!(err.contains("exp.toml:4"), "{err}");
    assert!(err.contains("colour"), "{err}");
}

#[test]
fn wrong_type_names_the_line() {
    let f = file(&BASE.replace("kind = \"list\"", "kind = \"list\"\nlimit = \"ten\""));
    let err = f.typed(&SweepPoint::default()).unwrap_err().to_string();
    assert!(err.contains("exp.toml:10"), "{err}");
}

#[test]
fn sweep_expands_to_the_cartesian_product() {
    let f = file(&format!(
        "{BASE}\n[sweep]\n\"occlusion.window\" = [16, 32, 48]\n\"occlusion.stride\" = [8, 14]\n"
    ));
    let points = f.sweep_points().unwrap();
    assert_eq!(points.len(), 6);
    let c = f.typed(&points[0]).unwrap();
    assert_eq!(c.methods["occlusion"]["stride"].as_integer(), Some(8));
    assert_eq!(
        c.methods.keys().next().map(String::as_str),
        Some("occlusion")
    );
    assert_eq!(points[0].slug(), "stride=8,window=16");
}

#[test]
fn sweep_over_a_missing_key_is_an_error() {
    let f = file(&format!(
        "{BASE}\n[sweep]\n\"runtime.batchsize\" = [1, 2]\n"
    ));
    let err = f.sweep_points().unwrap_err().to_string();
    assert!(err.contains("batchsize"), "{err}");
}

#[test]
fn set_overrides_and_checks() {
    let mut f = file(BASE);
    f.apply_set("runtime.batch=8").unwrap();
    assert_eq!(
        f.typed(&SweepPoint::default()).unwrap().runtime.batch,
        BatchSize::Fixed(8)
    );
    f.apply_set("runtime.batch=\"auto\"").unwrap();
    assert!(matches!(
        f.typed(&SweepPoint::default()).unwrap().runtime.batch,
        BatchSize::Auto(_)
    ));
    assert!(f.apply_set("runtime.batch=\"big\"").is_err());
    assert!(f.apply_set("runtime.batchy=8").is_err());
}
