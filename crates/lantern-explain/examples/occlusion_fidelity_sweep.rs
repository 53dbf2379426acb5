//! How approximate occlusion's defaults were chosen (issue 16): fidelity to the exact map, windows
//! run and the planner's predicted cost over τ × drill-down, for one model and setting on the
//! guitar photo.
//!
//! `cargo run --release -p lantern-explain --example occlusion_fidelity_sweep -- resnet18 16 4`
//! (model: `mobilenetv2` or a reference model folder's name; optional `--taus 0.4,0.6,0.8,1` and
//! `--fractions 0,0.25`, where drill fraction 0 means no drill-down, and `--step 2`, the coarse
//! stage's step).

#[path = "../tests/support/mod.rs"]
mod support;

use lantern_explain::ParamValue;
use support::{Setup, imagenet_photo};

fn list(text: &str) -> Vec<f64> {
    text.split(',')
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{v:?} is not a number"))
        })
        .collect()
}

fn main() {
    let (mut taus, mut fractions) = (list("0.4,0.6,0.8,1"), list("0,0.25"));
    let mut step = 2i64;
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--taus" => taus = list(&args.next().expect("--taus takes a list")),
            "--fractions" => fractions = list(&args.next().expect("--fractions takes a list")),
            "--step" => {
                step = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--step takes a whole number")
            }
            _ => positional.push(arg),
        }
    }
    let name = positional.first().map_or("resnet18", String::as_str);
    let number = |i: usize, default: i64| -> i64 {
        positional.get(i).map_or(default, |s| {
            s.parse().expect("window and stride are whole numbers")
        })
    };
    let (window, stride) = (number(1, 32), number(2, 14));

    let photo = imagenet_photo(
        "assets/imagenet/samples/n02676566_acoustic_guitar.JPEG",
        224,
    );
    let setup = Setup::new(support::model(name), photo);
    let (ctx, x) = (setup.ctx(), &setup.x);
    let target = setup
        .logits
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i);
    for &fraction in &fractions {
        let drill = fraction > 0.0;
        for &tau in &taus {
            let mut p = vec![
                ("window", ParamValue::Int(window)),
                ("stride", ParamValue::Int(stride)),
                ("approximate", ParamValue::Bool(true)),
                ("fidelity", ParamValue::Bool(true)),
                ("tau", ParamValue::Float(tau)),
                ("drill_down", ParamValue::Bool(drill)),
            ];
            if drill {
                p.push(("drill_fraction", ParamValue::Float(fraction)));
                p.push(("drill_step", ParamValue::Int(step)));
            }
            let s = support::method("occlusion", &p)
                .explain(&ctx, x.view(), target)
                .expect("approximate occlusion")
                .stats;
            println!(
                "{name} {window}/{stride} tau {tau} drill {drill} {fraction} step {step}: spearman {:.3} ssim {:.3} iou {:.3} windows {} predicted {:.3} {:.2}s exact {:.2}s",
                s["fidelity_spearman"],
                s["fidelity_ssim"],
                s["fidelity_top10_iou"],
                s["windows_run"],
                s["predicted_cost_fraction"],
                s["measured_seconds"],
                s["exact_seconds"]
            );
        }
    }
}
