//! Figures with plotters: overlays, panels, curves and sweep plots.
