//! Renders one example of every figure into a folder, for looking at them.
//!
//! `cargo run --release -p lantern-plot --example gallery -- OUT_DIR [PHOTO]`
//! PHOTO (any RGB image) replaces the synthetic scene in the image figures.

use std::path::{Path, PathBuf};

use image::RgbImage;
use lantern_plot::*;
use ndarray::Array2;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "plot-examples".to_string()));
    let photo = match args.next() {
        Some(path) => image::open(&path)
            .map_err(|e| PlotError::InvalidInput(format!("{path}: {e}")))?
            .resize_exact(224, 224, image::imageops::FilterType::Triangle)
            .to_rgb8(),
        None => synthetic_photo(224, 224),
    };
    let map = bump(224, 224, 150.0, 70.0, 30.0);
    // Positive evidence on one side, negative on the other, as gradient × input gives.
    let signed = Array2::from_shape_fn((224, 224), |(y, x)| {
        let (x, y) = (x as f32, y as f32);
        (-((x - 70.0).powi(2) + (y - 80.0).powi(2)) / 900.0).exp() * 0.004
            - (-((x - 160.0).powi(2) + (y - 150.0).powi(2)) / 1400.0).exp() * 0.0025
    });

    image_figures(&out, &photo, &map, &signed)?;
    curve_figures(&out)?;
    sweep_figures(&out)?;
    table_figures(&out)?;
    grid_figure(&out, &photo, &signed)?;
    println!("wrote figures to {}", out.display());
    Ok(())
}

/// Explanations: one panel, two panels, signed.
fn image_figures(
    out: &Path,
    photo: &RgbImage,
    map: &Array2<f32>,
    signed: &Array2<f32>,
) -> Result<()> {
    Explanation::new(
        photo,
        map,
        prediction_title("bull mastiff", 243, 0.39, "occlusion"),
    )
    .subtitle("occluder 32 px, stride 14 px, fill 0.5 · VGG16")
    .value_label("score drop")
    .save(&out.join("explanation.png"))?;
    Explanation::new(photo, map, prediction_title("rust", 2, 0.93, "saliency"))
        .two_panels("saliency")
        .style(MapStyle::unsigned(Colormap::Viridis))
        .save(&out.join("explanation-two-panel.png"))?;
    Explanation::new(
        photo,
        signed,
        prediction_title("tiger cat", 282, 0.23, "gradient × input"),
    )
    .signed()
    .save(&out.join("explanation-signed.png"))?;
    Ok(())
}

/// Deletion/insertion and randomisation curves.
fn curve_figures(out: &Path) -> Result<()> {
    let fractions: Vec<f64> = (0..=100).map(|i| i as f64 / 100.0).collect();
    // Deletion decays exponentially, insertion rises as a logistic.
    let deletion = |rate: f64| move |x: f64| 0.39 * (-rate * x).exp();
    let insertion = |rate: f64, mid: f64| move |x: f64| 0.39 / (1.0 + (-rate * (x - mid)).exp());
    let curves: [(&str, &dyn Fn(f64) -> f64); 4] = [
        ("occlusion deletion", &deletion(6.0)),
        ("occlusion insertion", &insertion(12.0, 0.3)),
        ("Grad-CAM deletion", &deletion(3.0)),
        ("Grad-CAM insertion", &insertion(8.0, 0.45)),
    ];
    let mut plot = LinePlot::deletion_insertion("Deletion and insertion — bull mastiff (243)")
        .subtitle("MobileNetV2 · 224 px · steps of 1% of pixels, blurred baseline");
    for (label, f) in curves {
        let points = fractions.iter().map(|&x| (x, f(x))).collect();
        plot = plot.series(Series::new(label, points).with_trapezoid_auc());
    }
    plot.save(&out.join("curves-deletion-insertion.png"))?;
    let layers: Vec<String> = [
        "none", "logits", "conv_1x1", "block_16", "block_15", "block_14", "block_13", "block_12",
        "block_11", "block_10", "block_9", "block_8", "block_7", "block_6", "block_5", "block_4",
        "block_3", "block_2", "block_1", "stem",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let decay = |rate: f64, floor: f64| -> Vec<f64> {
        (0..layers.len())
            .map(|i| floor + (1.0 - floor) * (-rate * i as f64).exp())
            .collect()
    };
    LinePlot::randomisation(
        "Model randomisation sanity check",
        layers.clone(),
        "Spearman rank correlation",
    )
    .series(Series::over_categories("saliency", &decay(0.25, 0.1)))
    .series(Series::over_categories("Grad-CAM", &decay(0.6, 0.0)))
    .series(Series::over_categories(
        "guided backprop",
        &decay(0.02, 0.7),
    ))
    .save(&out.join("curves-randomisation.png"))?;
    Ok(())
}

/// Sweeps (numeric and categorical) and the cost-quality scatter.
fn sweep_figures(out: &Path) -> Result<()> {
    let sizes = [8.0, 16.0, 32.0, 48.0, 64.0];
    let mut sweep = SweepPlot::new("Occlusion cost", "occluder size (px)", "seconds per image")
        .subtitle("VGG16 · CPU · batch 64");
    sweep.y_scale = Scale::Log10;
    for (k, stride) in [4.0, 8.0, 14.0].iter().enumerate() {
        let pts = sizes
            .iter()
            .map(|s| {
                (
                    *s,
                    40.0 / (stride * stride) * (1.0 + 0.002 * s * s) * (1.0 + k as f64 * 0.1),
                )
            })
            .collect();
        sweep = sweep.series(Series::new(format!("stride {stride} px"), pts));
    }
    sweep.save(&out.join("sweep.png"))?;
    let mut categorical = SweepPlot::new("Deletion AUC by baseline", "baseline", "deletion AUC");
    categorical.x = SweepAxis::Categories(vec![
        "zeros".into(),
        "mean".into(),
        "blur".into(),
        "noise".into(),
    ]);
    categorical = categorical
        .series(Series::over_categories(
            "saliency",
            &[0.21, 0.18, 0.14, 0.2],
        ))
        .series(Series::over_categories(
            "Grad-CAM",
            &[0.12, 0.11, 0.09, 0.13],
        ))
        .series(Series::over_categories(
            "occlusion",
            &[0.08, 0.09, 0.07, 0.1],
        ));
    categorical.save(&out.join("sweep-categorical.png"))?;
    ScatterPlot::cost_vs_quality("Cost vs quality", "deletion AUC (lower is better)")
        .subtitle("each point: one method setting, mean over 500 images")
        .group(PointGroup::new(
            "occlusion",
            vec![
                LabelledPoint::new(41.0, 0.071, "8/4"),
                LabelledPoint::new(6.1, 0.078, "16/8"),
                LabelledPoint::new(1.3, 0.085, "32/14"),
                LabelledPoint::new(0.45, 0.102, "64/32"),
            ],
        ))
        .group(PointGroup::new(
            "saliency",
            vec![
                LabelledPoint::new(0.031, 0.19, "vanilla"),
                LabelledPoint::new(0.9, 0.16, "SmoothGrad n=50"),
            ],
        ))
        .group(PointGroup::new(
            "Grad-CAM",
            vec![LabelledPoint::new(0.028, 0.12, "last conv")],
        ))
        .group(PointGroup::new(
            "integrated gradients",
            vec![
                LabelledPoint::new(0.62, 0.15, "32 steps"),
                LabelledPoint::new(1.2, 0.148, "64 steps"),
            ],
        ))
        .save(&out.join("scatter-cost-quality.png"))?;
    Ok(())
}

/// Bars and a confusion matrix.
fn table_figures(out: &Path) -> Result<()> {
    BarChart::new(
        "Ranking by deletion AUC",
        "deletion AUC (lower is better)",
        vec![
            Bar::mean_ci("saliency", 0.192, 0.012),
            Bar::mean_ci("SmoothGrad", 0.161, 0.011),
            Bar::mean_ci("integrated gradients", 0.148, 0.010),
            Bar::mean_ci("Grad-CAM", 0.121, 0.009),
            Bar::mean_ci("Grad-CAM++", 0.117, 0.009),
            Bar::mean_ci("occlusion 32/14", 0.085, 0.008),
        ],
    )
    .subtitle("mean ± 95% CI over 500 ImageNet images · MobileNetV2")
    .order(BarOrder::Ascending)
    .save(&out.join("bars.png"))?;
    let classes: Vec<String> = ["healthy", "multiple_diseases", "rust", "scab"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let counts = ndarray::arr2(&[
        [498u64, 3, 7, 8],
        [12, 41, 21, 17],
        [5, 4, 606, 7],
        [9, 6, 11, 566],
    ]);
    ConfusionMatrix::new("Plant Pathology 2020 — ResNet18", classes, counts)
        .subtitle("accuracy 0.942 · 1821 training images")
        .save(&out.join("confusion.png"))?;
    Ok(())
}

/// A comparison grid: two rows, one with a missing cell.
fn grid_figure(out: &Path, photo: &RgbImage, signed: &Array2<f32>) -> Result<()> {
    let photo2 = synthetic_photo(224, 224);
    let maps: Vec<Array2<f32>> = vec![
        bump(224, 224, 150.0, 70.0, 30.0),
        bump(224, 224, 140.0, 80.0, 50.0),
        signed.clone(),
        bump(224, 224, 60.0, 160.0, 25.0),
    ];
    ComparisonGrid::new(
        "Methods compared",
        vec![
            GridColumn::new("occlusion"),
            GridColumn::new("Grad-CAM"),
            GridColumn::signed("gradient × input"),
            GridColumn::new("saliency"),
        ],
    )
    .subtitle("MobileNetV2 · overlays at α = 0.5")
    .row(
        "bull mastiff p=0.39",
        photo,
        maps.iter().map(Some).collect(),
    )
    .row(
        "synthetic",
        &photo2,
        vec![Some(&maps[1]), None, Some(&maps[2]), Some(&maps[3])],
    )
    .save(&out.join("grid.png"))?;
    Ok(())
}

/// A smooth colourful stand-in for a photo.
fn synthetic_photo(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        image::Rgb([
            (120.0 + 100.0 * (fx * 6.0).sin()) as u8,
            (140.0 + 80.0 * (fy * 5.0).cos()) as u8,
            (90.0 + 60.0 * ((fx + fy) * 4.0).sin()) as u8,
        ])
    })
}

/// A Gaussian bump of width `sigma` at (`cx`, `cy`) on a small constant floor.
fn bump(w: usize, h: usize, cx: f32, cy: f32, sigma: f32) -> Array2<f32> {
    Array2::from_shape_fn((h, w), |(y, x)| {
        let d2 = (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2);
        0.02 + 0.6 * (-d2 / (2.0 * sigma * sigma)).exp()
    })
}
