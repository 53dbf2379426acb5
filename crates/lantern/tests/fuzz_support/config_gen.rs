//! Experiment files for the config fuzz: line-level mutations of real ones, and configs
//! generated from the schema's vocabulary with values of every TOML type.

use super::Rng;
use toml::Value;

/// Line-level edits that keep most of the file well-formed, so typing and sweeps are reached.
pub fn mutate_lines(rng: &mut Rng, text: &str, others: &[&str]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let other_lines: Vec<&str> = others.iter().flat_map(|o| o.lines()).collect();
    const TOKENS: [&str; 26] = [
        "-1",
        "0",
        "1e999",
        "nan",
        "-inf",
        "18446744073709551615",
        "9223372036854775807",
        "-9223372036854775808",
        "\"\"",
        "\"\\u0000\"",
        "\"ü 猫 \\\" \\\\\"",
        "[]",
        "{}",
        "[[1, 2], [3]]",
        "[1, \"two\", 3.0]",
        "{ window = 8 }",
        "true",
        "1979-05-27T07:32:00Z",
        "07:32:00",
        "'''multi\nline'''",
        "\"../../etc/passwd\"",
        "0x7fffffff",
        "1_000",
        "+3.5e-2",
        "\"top-k\"",
        "\"class\"",
    ];
    for _ in 0..1 + rng.below(3) {
        let n = lines.len();
        match rng.below(7) {
            0 if n > 0 => {
                lines.remove(rng.below(n));
            }
            1 if n > 0 => {
                let l = lines[rng.below(n)].clone();
                lines.insert(rng.below(n + 1), l);
            }
            2 if n > 1 => {
                let (i, j) = (rng.below(n), rng.below(n));
                lines.swap(i, j);
            }
            3 if !other_lines.is_empty() => {
                let l = rng.pick(&other_lines).to_string();
                lines.insert(rng.below(n + 1), l);
            }
            4 if n > 0 => {
                // Replace a value with an interesting token.
                let i = rng.below(n);
                if let Some((k, _)) = lines[i].split_once('=') {
                    lines[i] = format!("{k}= {}", rng.pick(&TOKENS));
                }
            }
            5 if n > 0 => {
                // Rename a key or table to another one seen anywhere.
                let i = rng.below(n);
                let l = rng.pick(&other_lines).to_string();
                match (lines[i].split_once('='), l.split_once('=')) {
                    (Some((_, v)), Some((k, _))) => lines[i] = format!("{k}={v}"),
                    _ => lines[i] = l,
                }
            }
            _ => {
                let i = rng.below(n + 1);
                let sweep = format!(
                    "[sweep]\n\"{}\" = [{}, {}]",
                    rng.pick(&SWEEP_KEYS),
                    rng.pick(&TOKENS),
                    rng.pick(&TOKENS)
                );
                lines.insert(i, sweep);
            }
        }
    }
    lines.join("\n")
}

pub const SWEEP_KEYS: [&str; 20] = [
    "occlusion.window",
    "occlusion.stride",
    "methods.occlusion.window",
    "runtime.batch",
    "runtime.threads",
    "model.path",
    "model.mean",
    "data.limit",
    "experiment.name",
    "metrics.deletion.step",
    "metrics.list",
    "output.figures",
    "sweep.x",
    "",
    ".",
    "a..b",
    "methods",
    "runtime.batch.deeper",
    "model.head.l2",
    "targets.k",
];

/// A TOML value of a random type (scalars of the config's vocabulary, arrays, tables).
fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 2 { 6 } else { 8 }) {
        0 => Value::Integer(*rng.pick(&[0, 1, -1, 3, 16, 224, i64::MAX, i64::MIN])),
        1 => Value::Float(*rng.pick(&[0.0, 0.5, -2.0, 1e300, f64::NAN, f64::INFINITY])),
        2 => Value::Boolean(rng.chance(0.5)),
        3 => Value::String(
            rng.pick(&[
                "", "auto", "cpu", "list", "imagenet", "class", "x\u{0}y", "猫",
            ])
            .to_string(),
        ),
        4 => Value::String(rng.pick(&SWEEP_KEYS).to_string()),
        5 => Value::Datetime("1979-05-27T07:32:00Z".parse().unwrap()),
        6 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut t = toml::Table::new();
            for _ in 0..rng.below(3) {
                t.insert(
                    rng.pick(&["window", "stride", "step", "a"]).to_string(),
                    random_value(rng, depth + 1),
                );
            }
            Value::Table(t)
        }
    }
}

/// Every key of the schema with a value of the right type (TOML text).
const SCHEMA: [(&str, &[(&str, &str)]); 8] = [
    (
        "experiment",
        &[
            ("name", "\"fuzz\""),
            ("description", "\"d\""),
            ("seed", "3"),
        ],
    ),
    (
        "model",
        &[
            ("path", "\"m.onnx\""),
            ("preprocess", "\"caffe\""),
            ("mean", "[0.5, 0.5, 0.5]"),
            ("std", "[0.2, 0.2, 0.2]"),
            ("resize", "256"),
            ("crop", "224"),
            ("labels", "\"l.txt\""),
            ("layer", "\"auto\""),
            ("head", "{ train_root = \"t\", epochs = 3 }"),
        ],
    ),
    (
        "runtime",
        &[
            ("device", "\"cpu\""),
            ("threads", "1"),
            ("batch", "8"),
            ("library", "\"o.so\""),
        ],
    ),
    (
        "data",
        &[
            ("kind", "\"list\""),
            ("root", "\"r\""),
            ("images", "[\"a.png\"]"),
            ("csv", "\"c.csv\""),
            ("limit", "3"),
            ("per_class", "1"),
            ("split", "\"validation\""),
            ("extra", "[{ kind = \"folder\", root = \"f\" }]"),
        ],
    ),
    (
        "targets",
        &[("mode", "\"class\""), ("class", "\"tench\""), ("k", "2")],
    ),
    (
        "methods",
        &[
            ("occlusion", "{ window = 8, stride = 4 }"),
            ("saliency", "{}"),
            ("gradcam", "{ layer = \"x\" }"),
            ("rise", "{ masks = 10 }"),
        ],
    ),
    (
        "metrics",
        &[
            ("list", "[\"deletion\"]"),
            ("deletion", "{ step = 0.1 }"),
            ("insertion", "{}"),
        ],
    ),
    (
        "output",
        &[
            ("figures", "false"),
            ("grid_images", "2"),
            ("panels", "\"two\""),
        ],
    ),
];

/// One section: each key of the schema present with probability 0.4 (mostly with the right
/// type), and the required keys mostly right, so typing gets further.
fn generated_section(rng: &mut Rng, section: &str, keys: &[(&str, &str)]) -> Value {
    let good = |text: &str| -> Value {
        toml::from_str::<toml::Table>(&format!("v = {text}")).unwrap()["v"].clone()
    };
    let mut t = toml::Table::new();
    for (key, right) in keys.iter() {
        if rng.chance(0.4) {
            let v = if rng.chance(0.95) {
                good(right)
            } else {
                random_value(rng, 0)
            };
            t.insert(key.to_string(), v);
        }
    }
    match section {
        "experiment" if rng.chance(0.95) => {
            t.insert("name".into(), Value::String("fuzz".into()));
        }
        "model" if rng.chance(0.95) => {
            t.insert("path".into(), Value::String("m.onnx".into()));
        }
        "data" if rng.chance(0.95) => {
            t.insert("kind".into(), Value::String("list".into()));
        }
        "methods" if rng.chance(0.95) => {
            let mut occ = toml::Table::new();
            occ.insert("window".into(), Value::Integer(32));
            t.insert("occlusion".into(), Value::Table(occ));
        }
        _ => {}
    }
    Value::Table(t)
}

/// A config generated from the schema's vocabulary, with values of random TOML types.
pub fn generated_config(rng: &mut Rng) -> String {
    let mut root = toml::Table::new();
    for (section, keys) in SCHEMA {
        if rng.chance(0.9) {
            root.insert(section.to_string(), generated_section(rng, section, keys));
        }
    }
    if rng.chance(0.6) {
        let mut sweep = toml::Table::new();
        for _ in 0..rng.below(4) {
            let values = (0..rng.below(4)).map(|_| random_value(rng, 2)).collect();
            sweep.insert(rng.pick(&SWEEP_KEYS).to_string(), Value::Array(values));
        }
        root.insert("sweep".into(), Value::Table(sweep));
    }
    toml::to_string(&root).unwrap_or_default()
}

pub fn random_sets(rng: &mut Rng) -> Vec<String> {
    (0..rng.below(3))
        .map(|_| {
            format!(
                "{}{}{}",
                rng.pick(&SWEEP_KEYS),
                rng.pick(&["=", "", "==", "= "]),
                rng.pick(&[
                    "8",
                    "\"x\"",
                    "[1,2]",
                    "{a=1}",
                    "",
                    "=",
                    "nan",
                    "[[",
                    "\"\\u0000\""
                ])
            )
        })
        .collect()
}
