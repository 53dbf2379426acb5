//! `[model.head]` fitted from any data source with a class map, and scored on field leaves:
//! a Plant Pathology 2020 source (the five sample leaves) and an ImageFolder one (PlantVillage),
//! each evaluated on the Plant Pathology 2021 samples; the mapped classes and the counts of
//! what the maps left out are read back from the manifest.

mod common;
use common::*;

/// Runs an experiment `name` whose `[model.head]` (the three apple classes, 20 epochs, then
/// `settings`) is fitted on the source of `kind` in the assets' `folder`, its labels mapped by
/// `map` (the inside of an inline table), and evaluated on the Plant Pathology 2021 samples;
/// gives the manifest's `head`.
fn fit_head(name: &str, settings: &str, kind: &str, folder: &str, map: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let a = assets();
    let body = format!(
        r#"{header}
[model.head]
class_names = ["scab", "cedar apple rust", "healthy"]
epochs = 20
{settings}

[model.head.train]
kind = "{kind}"
root = {root:?}
map = {{ {map} }}

[[model.head.evaluate]]
kind = "plant-pathology-2021"
root = {pp2021:?}
map = {{ healthy = "healthy", rust = "cedar apple rust", cider_apple_rust = "cedar apple rust" }}

[data]
kind = "list"
images = [{leaf:?}]

[methods.random]
"#,
        header = experiment_header(name, &mobilenet()),
        root = a.join(folder).display().to_string(),
        pp2021 = a.join("plant-pathology-2021").display().to_string(),
        leaf = a
            .join("plant-pathology-2020/images/Train_3.jpg")
            .display()
            .to_string(),
    );
    let exp = experiment(dir.path(), name, &body);
    let out = dir.path().join(name);
    run_ok(&exp, &out, &[]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("Field accuracy"), "{summary}");
    assert!(out.join("head/field.csv").is_file());
    manifest["head"].clone()
}

/// What the Plant Pathology 2021 samples give under the evaluate map above: three leaves scored
/// (two healthy, one cider_apple_rust), four left out.
fn check_field(head: &serde_json::Value) {
    assert_eq!(head["field_images"], 3, "{head:#}");
    let truths: Vec<&str> = head["field"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["truth"].as_str().unwrap())
        .collect();
    assert_eq!(truths, ["healthy", "cedar apple rust", "healthy"]);
    for l in head["field"].as_array().unwrap() {
        let p = l["probability"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p));
        assert_eq!(l["right"].as_bool().unwrap(), l["truth"] == l["predicted"]);
    }
    let right = head["field"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["right"].as_bool().unwrap())
        .count();
    assert_eq!(head["field_accuracy"].as_f64().unwrap(), right as f64 / 3.0);
    assert_eq!(
        head["field_left_out"],
        serde_json::json!({ "several labels": 2, "frog_eye_leaf_spot": 1, "powdery_mildew": 1 })
    );
}

#[test]
fn a_head_fits_on_plant_pathology_2020_with_a_class_map() {
    lantern_core::skip_without_assets!();
    let head = fit_head(
        "pp2020",
        "validation = 0.5",
        "plant-pathology-2020",
        "plant-pathology-2020",
        r#"scab = "scab", rust = "cedar apple rust", healthy = "healthy""#,
    );
    assert_eq!(
        head["classes"],
        serde_json::json!(["scab", "cedar apple rust", "healthy"])
    );
    // Train_0 scab, Train_2 and Train_4 healthy, Train_3 rust; Train_1 (multiple_diseases) out.
    assert_eq!(
        head["train_images"].as_u64().unwrap() + head["validation_images"].as_u64().unwrap(),
        4
    );
    assert_eq!(
        head["train_left_out"],
        serde_json::json!({ "multiple_diseases": 1 })
    );
    assert!(
        head["train_source"]
            .as_str()
            .unwrap()
            .starts_with("plant-pathology-2020 ")
    );
    check_field(&head);
}

#[test]
fn a_head_fits_on_an_image_folder_with_a_class_map() {
    lantern_core::skip_without_assets!();
    let head = fit_head(
        "folder",
        "validation = 0.34\nper_class = 3",
        "imagefolder",
        "plantvillage-apple",
        r#""Apple___Apple_scab" = "scab", "Apple___Cedar_apple_rust" = "cedar apple rust", "Apple___healthy" = "healthy""#,
    );
    // 3 per class folder; the 3 black-rot leaves are not in the map.
    assert_eq!(head["train_images"], 6, "{head:#}");
    assert_eq!(head["validation_images"], 3);
    assert_eq!(
        head["train_left_out"],
        serde_json::json!({ "Apple___Black_rot": 3 })
    );
    assert_eq!(
        head["confusion"].as_array().unwrap().len(),
        3,
        "one row per mapped class"
    );
    check_field(&head);
}
