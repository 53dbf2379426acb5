//! `[output] format = "svg"`: figures saved as SVG are well-formed XML with the figure's size,
//! their text as `<text>` elements, lines as vectors, and image panels as one embedded PNG.

use base64::Engine as _;
use lantern_plot::*;
use ndarray::Array2;
use quick_xml::events::Event;

/// Every element name in the document (parsing fails the test on malformed XML), and the text
/// inside `<text>` elements.
struct Parsed {
    root: (String, Option<String>, Option<String>),
    elements: Vec<String>,
    texts: Vec<String>,
    image_hrefs: Vec<String>,
}

fn parse(svg: &str) -> Parsed {
    let mut reader = quick_xml::Reader::from_str(svg);
    let (mut root, mut elements, mut texts, mut image_hrefs) = (None, vec![], vec![], vec![]);
    let mut in_text = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                let attr = |key: &str| {
                    e.try_get_attribute(key)
                        .unwrap()
                        .map(|a| String::from_utf8(a.value.to_vec()).unwrap())
                };
                if root.is_none() {
                    root = Some((name.clone(), attr("width"), attr("height")));
                }
                if name == "image" {
                    image_hrefs.push(attr("href").expect("image href"));
                }
                in_text = name == "text";
                elements.push(name);
            }
            Event::Text(t) if in_text => texts.push(t.decode().unwrap().into_owned()),
            Event::End(_) => in_text = false,
            Event::Eof => break,
            _ => {}
        }
    }
    Parsed {
        root: root.expect("a root element"),
        elements,
        texts,
        image_hrefs,
    }
}

fn save_svg(figure: &dyn Figure) -> (String, (u32, u32)) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("figure.svg");
    figure.save_as(&path, FigureFormat::Svg).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "only the SVG is left");
    let size = figure.render().unwrap().dimensions();
    (std::fs::read_to_string(&path).unwrap(), size)
}

fn check_root(parsed: &Parsed, size: (u32, u32)) {
    let (name, width, height) = &parsed.root;
    assert_eq!(name, "svg");
    assert_eq!(width.as_deref(), Some(size.0.to_string().as_str()));
    assert_eq!(height.as_deref(), Some(size.1.to_string().as_str()));
}

#[test]
fn a_line_plot_is_vector_svg() {
    let xs: Vec<f64> = (0..=20).map(|i| i as f64 / 20.0).collect();
    let plot = LinePlot::new("Deletion curve", "fraction removed", "score").series(Series::new(
        "occlusion",
        xs.iter().map(|&x| (x, 1.0 - x * x)).collect(),
    ));
    let (svg, size) = save_svg(&plot);
    let parsed = parse(&svg);
    check_root(&parsed, size);
    assert!(
        parsed.texts.iter().any(|t| t.contains("Deletion curve")),
        "title as text: {:?}",
        parsed.texts
    );
    assert!(parsed.texts.iter().any(|t| t.contains("fraction removed")));
    assert!(
        parsed
            .elements
            .iter()
            .any(|e| e == "polyline" || e == "path" || e == "line"),
        "the curve as a vector element: {:?}",
        parsed.elements
    );
    assert!(
        parsed.image_hrefs.is_empty(),
        "a plain white ground needs no raster"
    );
}

#[test]
fn an_explanation_embeds_its_image_panels_under_vector_text() {
    let image = image::RgbImage::from_fn(64, 64, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 4) as u8, 90])
    });
    let map = Array2::from_shape_fn((64, 64), |(y, x)| (x + y) as f32);
    let fig = Explanation::new(&image, &map, "bull mastiff (243) p=0.39 — occlusion");
    let (svg, size) = save_svg(&fig);
    let parsed = parse(&svg);
    check_root(&parsed, size);
    assert!(parsed.texts.iter().any(|t| t.contains("bull mastiff")));
    assert_eq!(parsed.image_hrefs.len(), 1, "one embedded raster");
    let png = parsed.image_hrefs[0]
        .strip_prefix("data:image/png;base64,")
        .expect("a PNG data URL");
    let png = base64::engine::general_purpose::STANDARD
        .decode(png)
        .unwrap();
    let panels = image::load_from_memory(&png).unwrap();
    assert_eq!((panels.width(), panels.height()), size);
    // The embedded raster is the first thing drawn, so the text lies over it.
    assert_eq!(parsed.elements[1], "image");
}
