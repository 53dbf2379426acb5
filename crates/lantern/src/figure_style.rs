//! How `[output]` draws a per-image figure: Captum's `visualize_image_attr` display
//! conventions — the map clipped at `clip_percentile` (cumulative-sum threshold, default 99),
//! a colormap (`hot`, `gray`, `jet`, …; signed maps keep the diverging red-blue), panels
//! (`three`, or the study's `two`, optionally with the overlay) — and a title that says the true
//! label, the prediction with its probability and whether it is right.

use crate::config::{OutputSection, Panels};
use anyhow::{Context as _, Result, anyhow, bail};
use lantern_data::Preprocessed;
use lantern_plot::{Colormap, Figure as _, MapStyle, PanelSet};
use ndarray::Array2;
use std::path::Path;

/// Checks `[output]` once, before any work.
pub fn check(output: &OutputSection) -> Result<()> {
    colormap(output)?;
    if !(output.clip_percentile > 0.0 && output.clip_percentile <= 100.0) {
        bail!(
            "[output] clip_percentile = {}: expected a percentile in (0, 100] (100 = no clipping)",
            output.clip_percentile
        );
    }
    Ok(())
}

fn colormap(output: &OutputSection) -> Result<Colormap> {
    Colormap::from_name(&output.colormap).ok_or_else(|| {
        anyhow!(
            "[output] colormap = {:?}: expected jet, hot, gray, viridis or red-blue",
            output.colormap
        )
    })
}

/// The map style `[output]` asks for.
pub fn style(output: &OutputSection, signed: bool) -> Result<MapStyle> {
    let base = if signed {
        MapStyle::signed()
    } else {
        MapStyle::unsigned(colormap(output)?)
    };
    Ok(base.with_clip_percentile(output.clip_percentile))
}

/// Draws one explanation figure as `[output]` says.
#[allow(clippy::too_many_arguments)]
pub fn save(
    path: &Path,
    image: &Preprocessed,
    map: &Array2<f32>,
    title: String,
    subtitle: Option<String>,
    signed: bool,
    method: &str,
    output: &OutputSection,
) -> Result<()> {
    let mut fig = lantern_plot::Explanation::new(&image.display, map, title);
    if output.panels == Panels::Two {
        fig = fig.two_panels(method);
        if output.overlay {
            fig.panels = PanelSet::ImageHeatmapOverlay;
        }
    }
    if let Some(s) = subtitle {
        fig = fig.subtitle(s);
    }
    fig = fig.style(style(output, signed)?);
    fig.save_as(path, output.format)
        .with_context(|| format!("drawing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_settings_are_checked() {
        let mut o = OutputSection::default();
        assert!(check(&o).is_ok());
        assert_eq!(o.clip_percentile, 99.0);
        o.colormap = "hot".into();
        assert_eq!(style(&o, false).unwrap().colormap, Colormap::Hot);
        assert_eq!(style(&o, true).unwrap().colormap, Colormap::RedBlue);
        assert_eq!(style(&o, false).unwrap().clip_percentile, Some(99.0));
        o.colormap = "rainbow".into();
        assert!(check(&o).unwrap_err().to_string().contains("rainbow"));
        o.colormap = "gray".into();
        o.clip_percentile = 0.0;
        assert!(check(&o).is_err());
    }
}
