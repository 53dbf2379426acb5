//! A `LANTERN_FONT` that cannot be read is an error naming the variable, not a silent
//! fallback. (Its own test binary: the font is registered once per process.)

use lantern_plot::{Figure, LinePlot, PlotError, ensure_font};

#[test]
fn unreadable_lantern_font_is_reported() {
    // SAFETY: this test binary has a single test, so no other thread reads the environment.
    unsafe { std::env::set_var("LANTERN_FONT", "/nonexistent/lantern-font.ttf") };
    let err = ensure_font().unwrap_err();
    let message = err.to_string();
    assert!(message.contains("LANTERN_FONT"), "{message}");
    assert!(
        message.contains("/nonexistent/lantern-font.ttf"),
        "{message}"
    );
    // Figures report the same error instead of drawing without text.
    let figure = LinePlot::new("t", "x", "y");
    assert!(matches!(figure.render(), Err(PlotError::Font(_))));
}
