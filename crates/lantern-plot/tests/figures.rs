//! Every figure renders to a PNG that can be read back, has the expected size, and is not
//! blank: it has contrast, many colours, and text in its title band.

use std::collections::HashSet;
use std::path::Path;

use image::RgbImage;
use lantern_plot::*;
use ndarray::{Array2, arr2};

/// Saves `figure` into a fresh folder, reads it back and checks it is a real picture.
fn save_and_check(figure: &dyn Figure, name: &str) -> RgbImage {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    figure.save(&path).unwrap();
    let png = image::open(&path).unwrap().to_rgb8();
    assert_eq!(png.dimensions(), figure.render().unwrap().dimensions());
    assert_not_blank(&png, name);
    assert_title_has_text(&png, name);
    assert_only_png_left(dir.path(), name);
    png
}

fn assert_not_blank(png: &RgbImage, name: &str) {
    let luma: Vec<f64> = png
        .pixels()
        .map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64)
        .collect();
    let mean = luma.iter().sum::<f64>() / luma.len() as f64;
    let variance = luma.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / luma.len() as f64;
    assert!(
        variance > 50.0,
        "{name}: luma variance {variance:.1} looks blank"
    );
    let colours: HashSet<[u8; 3]> = png.pixels().map(|p| p.0).collect();
    assert!(colours.len() > 30, "{name}: only {} colours", colours.len());
}

/// The title band (top 60 px) holds dark, anti-aliased text pixels.
fn assert_title_has_text(png: &RgbImage, name: &str) {
    let dark = (0..60.min(png.height()))
        .flat_map(|y| (0..png.width()).map(move |x| (x, y)))
        .filter(|&(x, y)| png.get_pixel(x, y).0.iter().all(|c| *c < 100))
        .count();
    assert!(
        dark > 200,
        "{name}: only {dark} dark pixels in the title band"
    );
}

/// The atomic write leaves no temporary files behind.
fn assert_only_png_left(dir: &Path, name: &str) {
    let entries: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, vec![name.to_string()]);
}

fn photo() -> RgbImage {
    RgbImage::from_fn(224, 224, |x, y| {
        image::Rgb([(x * 255 / 224) as u8, (y * 255 / 224) as u8, 120])
    })
}

fn bump(cx: f32, cy: f32) -> Array2<f32> {
    Array2::from_shape_fn((224, 224), |(y, x)| {
        let d2 = (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2);
        3.0 * (-d2 / 800.0).exp()
    })
}

fn signed_map() -> Array2<f32> {
    Array2::from_shape_fn((224, 224), |(y, x)| {
        (x as f32 - 112.0) * 1e-5 + (y as f32 - 112.0) * 2e-5
    })
}

#[test]
fn explanation_three_panels() {
    let (image, map) = (photo(), bump(150.0, 60.0));
    let fig = Explanation::new(
        &image,
        &map,
        prediction_title("bull mastiff", 243, 0.39, "occlusion"),
    )
    .subtitle("occluder 32 px, stride 14 px")
    .value_label("score drop");
    let png = save_and_check(&fig, "explanation.png");
    assert!(png.width() > 3 * 300 && png.height() > 300);
}

#[test]
fn explanation_two_panels_and_signed() {
    let image = photo();
    let map = bump(50.0, 50.0);
    let two = Explanation::new(&image, &map, "rust (2) p=0.93 — saliency").two_panels("saliency");
    let png = save_and_check(&two, "saliency.png");
    assert!(png.width() > 2 * 300 && png.width() < 3 * 300);

    let signed = signed_map();
    let fig = Explanation::new(&image, &signed, "tabby (281) p=0.80 — gradient × input").signed();
    save_and_check(&fig, "signed.png");
}

#[test]
fn explanation_rejects_a_map_of_another_size() {
    let image = photo();
    let map = Array2::<f32>::zeros((7, 7));
    assert!(Explanation::new(&image, &map, "x").render().is_err());
    let nan = Array2::from_elem((224, 224), f32::NAN);
    assert!(Explanation::new(&image, &nan, "x").render().is_err());
}

#[test]
fn comparison_grid_with_a_missing_map() {
    let (a, b) = (photo(), photo());
    let (m1, m2, m3) = (bump(60.0, 60.0), bump(160.0, 100.0), signed_map());
    let grid = ComparisonGrid::new(
        "Methods compared",
        vec![
            GridColumn::new("occlusion"),
            GridColumn::new("Grad-CAM"),
            GridColumn::signed("gradient × input"),
        ],
    )
    .row("first", &a, vec![Some(&m1), Some(&m2), Some(&m3)])
    .row("second", &b, vec![Some(&m2), None, Some(&m3)]);
    let png = save_and_check(&grid, "grid.png");
    assert!(png.width() > 4 * 200 && png.height() > 2 * 200);

    let bad = ComparisonGrid::new("x", vec![GridColumn::new("a")]).row("r", &a, vec![]);
    assert!(bad.render().is_err());
}

#[test]
fn deletion_insertion_curves() {
    let xs: Vec<f64> = (0..=50).map(|i| i as f64 / 50.0).collect();
    let deletion: Vec<_> = xs.iter().map(|&x| (x, 0.8 * (-5.0 * x).exp())).collect();
    let insertion: Vec<_> = xs.iter().map(|&x| (x, 0.8 * x.sqrt())).collect();
    let plot = LinePlot::deletion_insertion("Deletion / insertion")
        .series(Series::new("deletion", deletion).with_trapezoid_auc())
        .series(Series::new("insertion", insertion).with_auc(0.533));
    let png = save_and_check(&plot, "curves.png");
    assert_eq!(png.dimensions(), (1100, 700));
}

#[test]
fn randomisation_over_named_layers() {
    let layers: Vec<String> = ["none", "fc8", "fc7", "fc6", "conv5_3", "conv5_2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let plot = LinePlot::randomisation("Cascading randomisation", layers, "rank correlation")
        .series(Series::over_categories(
            "saliency",
            &[1.0, 0.7, 0.5, 0.3, 0.2, 0.1],
        ))
        .series(Series::over_categories(
            "Grad-CAM",
            &[1.0, 0.2, 0.1, 0.0, 0.0, f64::NAN],
        ));
    save_and_check(&plot, "randomisation.png");
}

#[test]
fn sweeps_numeric_log_and_categorical() {
    let mut sweep = SweepPlot::new("Occlusion cost", "occluder size (px)", "seconds per image");
    sweep.y_scale = Scale::Log10;
    sweep.x = SweepAxis::Values(Scale::Log10);
    for stride in [4.0, 8.0] {
        let pts = [8.0, 16.0, 32.0, 64.0]
            .iter()
            .map(|s| (*s, 30.0 / (stride * s)))
            .collect();
        sweep = sweep.series(Series::new(format!("stride {stride}"), pts));
    }
    save_and_check(&sweep, "sweep.png");

    let mut cat = SweepPlot::new("AUC by baseline", "baseline", "deletion AUC");
    cat.x = SweepAxis::Categories(vec!["zeros".into(), "blur".into(), "mean".into()]);
    let cat = cat.series(Series::over_categories("saliency", &[0.2, 0.15, 0.18]));
    save_and_check(&cat, "sweep-categories.png");
}

#[test]
fn cost_vs_quality_scatter() {
    let plot = ScatterPlot::cost_vs_quality("Cost vs quality", "deletion AUC")
        .group(PointGroup::new(
            "occlusion",
            vec![
                LabelledPoint::new(40.0, 0.07, "8/4"),
                LabelledPoint::new(1.2, 0.09, "32/14"),
            ],
        ))
        .group(PointGroup::new(
            "saliency",
            vec![LabelledPoint::new(0.03, 0.2, "vanilla")],
        ));
    save_and_check(&plot, "scatter.png");
}

#[test]
fn log_axis_without_positive_values_is_an_error() {
    let mut plot = ScatterPlot::cost_vs_quality("x", "y");
    plot.groups.push(PointGroup::new(
        "g",
        vec![LabelledPoint::new(-1.0, 0.5, "")],
    ));
    assert!(plot.render().is_err());
}

#[test]
fn bar_chart_with_intervals_and_a_negative_bar() {
    let chart = BarChart::new(
        "Ranking",
        "score",
        vec![
            Bar::mean_ci("saliency", 0.19, 0.02),
            Bar::mean_ci("Grad-CAM", 0.12, 0.01),
            Bar::new("random", -0.03).with_interval(-0.05, -0.01),
        ],
    )
    .order(BarOrder::Descending);
    save_and_check(&chart, "bars.png");
    assert!(BarChart::new("x", "y", vec![]).render().is_err());
}

#[test]
fn confusion_matrix_with_counts() {
    let classes: Vec<String> = ["healthy", "multiple_diseases", "rust", "scab"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let counts = arr2(&[
        [50u64, 1, 2, 3],
        [4, 10, 5, 6],
        [1, 2, 60, 3],
        [2, 2, 1, 55],
    ]);
    let png = save_and_check(
        &ConfusionMatrix::new("Confusion", classes.clone(), counts),
        "cm.png",
    );
    assert!(png.width() > 400 && png.height() > 400);
    let wrong = Array2::<u64>::zeros((3, 3));
    assert!(ConfusionMatrix::new("x", classes, wrong).render().is_err());
}

#[test]
fn saving_replaces_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("plot.png");
    let plot = |title: &str| {
        LinePlot::new(title, "x", "y").series(Series::new("a", vec![(0.0, 1.0), (1.0, 2.0)]))
    };
    plot("first").save(&path).unwrap();
    let first = std::fs::read(&path).unwrap();
    plot("second, a different title").save(&path).unwrap();
    assert_ne!(first, std::fs::read(&path).unwrap());
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        1
    );
}

#[test]
fn tiny_plots_do_not_panic() {
    let mut plot = LinePlot::new("A long title that cannot fit", "x", "y")
        .series(Series::new("a", vec![(0.0, 1.0), (1.0, 2.0)]));
    for size in [(160, 120), (60, 40), (1, 1)] {
        plot.size = size;
        let _ = plot.render();
    }
    assert!(
        LinePlot {
            size: (0, 10),
            ..plot
        }
        .render()
        .is_err(),
        "an empty canvas is an error"
    );
}
