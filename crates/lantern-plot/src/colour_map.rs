//! Colormaps that turn normalised map values (0..=1) into colours, and the display-only
//! min–max normalisation that feeds them.

use ndarray::Array2;

/// A colormap: a function from `t` in `0..=1` to an RGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Colormap {
    /// OpenCV's `COLORMAP_JET` (identical to GNU Octave's `jet`): dark blue → cyan → yellow →
    /// dark red. The study's figures use it; it is not perceptually uniform, so prefer
    /// [`Colormap::Viridis`] when comparing intensities.
    #[default]
    Jet,
    /// matplotlib's perceptually uniform `viridis` (dark purple → green → yellow).
    Viridis,
    /// Diverging ColorBrewer `RdBu`, reversed so negative is blue, 0.5 is near-white and
    /// positive is red. For signed maps, with 0.5 mapped to a value of 0.
    RedBlue,
    /// matplotlib's `hot` (black → red → yellow → white), Captum's usual colormap for
    /// unsigned attributions.
    Hot,
    /// Linear grey levels, black → white (matplotlib's `gray`).
    Gray,
}

impl Colormap {
    /// The colour at `t`; `t` is clamped to `0..=1` and NaN maps to 0.
    pub fn rgb(self, t: f32) -> [u8; 3] {
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        match self {
            Colormap::Jet => jet(t),
            Colormap::Viridis => interpolate(&VIRIDIS, t),
            Colormap::RedBlue => interpolate(&RED_BLUE, t),
            Colormap::Hot => hot(t),
            Colormap::Gray => {
                let v = (t * 255.0).round() as u8;
                [v, v, v]
            }
        }
    }

    /// Whether this colormap is meant for signed data centred at 0.
    pub fn is_diverging(self) -> bool {
        matches!(self, Colormap::RedBlue)
    }

    /// A short name for legends and file names.
    pub fn name(self) -> &'static str {
        match self {
            Colormap::Jet => "jet",
            Colormap::Viridis => "viridis",
            Colormap::RedBlue => "red-blue",
            Colormap::Hot => "hot",
            Colormap::Gray => "gray",
        }
    }

    /// The colormap a config names (`jet`, `hot`, `gray`, `viridis`, `red-blue`).
    pub fn from_name(name: &str) -> Option<Colormap> {
        [
            Colormap::Jet,
            Colormap::Viridis,
            Colormap::RedBlue,
            Colormap::Hot,
            Colormap::Gray,
        ]
        .into_iter()
        .find(|c| c.name() == name || (name == "grey" && *c == Colormap::Gray))
    }
}

/// matplotlib's `hot` (`_hot_data`): red ramps from 0.0416 over the first 3/8, green over the
/// next 3/8, blue over the last 1/4.
fn hot(t: f32) -> [u8; 3] {
    let ramp = |from: f32, to: f32, start: f32| {
        let f = ((t - from) / (to - from)).clamp(0.0, 1.0);
        ((start + (1.0 - start) * f) * 255.0).round() as u8
    };
    [
        ramp(0.0, 0.365079, 0.0416),
        ramp(0.365079, 0.746032, 0.0),
        ramp(0.746032, 1.0, 0.0),
    ]
}

/// Octave/OpenCV jet: each channel is a trapezoid `clamp(1.5 - |4t - c|)` centred at
/// c = 1 (blue), 2 (green), 3 (red), so the ends are half-intensity blue and red.
fn jet(t: f32) -> [u8; 3] {
    let channel = |centre: f32| {
        let v = (1.5 - (4.0 * t - centre).abs()).clamp(0.0, 1.0);
        (v * 255.0).round() as u8
    };
    [channel(3.0), channel(2.0), channel(1.0)]
}

/// Linear interpolation in a table of evenly spaced colour stops.
fn interpolate(stops: &[[u8; 3]], t: f32) -> [u8; 3] {
    let x = t * (stops.len() - 1) as f32;
    let i = (x.floor() as usize).min(stops.len() - 2);
    let f = x - i as f32;
    let (a, b) = (stops[i], stops[i + 1]);
    std::array::from_fn(|c| (a[c] as f32 + (b[c] as f32 - a[c] as f32) * f).round() as u8)
}

/// Every 5th entry of matplotlib's 256-entry viridis table (CC0, by Nathaniel J. Smith,
/// Stefan van der Walt and Eric Firing), scaled to 0..255; linear interpolation between these
/// 52 stops stays within one 8-bit level of the full table.
const VIRIDIS: [[u8; 3]; 52] = [
    [68, 1, 84],
    [70, 8, 92],
    [71, 16, 99],
    [72, 23, 105],
    [72, 29, 111],
    [72, 36, 117],
    [71, 42, 122],
    [70, 48, 126],
    [69, 55, 129],
    [67, 61, 132],
    [65, 66, 135],
    [63, 72, 137],
    [61, 78, 138],
    [58, 83, 139],
    [56, 89, 140],
    [53, 94, 141],
    [51, 99, 141],
    [49, 104, 142],
    [46, 109, 142],
    [44, 113, 142],
    [42, 118, 142],
    [41, 123, 142],
    [39, 128, 142],
    [37, 132, 142],
    [35, 137, 142],
    [33, 142, 141],
    [32, 146, 140],
    [31, 151, 139],
    [30, 156, 137],
    [31, 161, 136],
    [33, 165, 133],
    [36, 170, 131],
    [40, 174, 128],
    [46, 179, 124],
    [53, 183, 121],
    [61, 188, 116],
    [70, 192, 111],
    [80, 196, 106],
    [90, 200, 100],
    [101, 203, 94],
    [112, 207, 87],
    [124, 210, 80],
    [137, 213, 72],
    [149, 216, 64],
    [162, 218, 55],
    [176, 221, 47],
    [189, 223, 38],
    [202, 225, 31],
    [216, 226, 25],
    [229, 228, 25],
    [241, 229, 29],
    [253, 231, 37],
];

/// ColorBrewer RdBu (11 classes), reversed: blue for negative, red for positive.
const RED_BLUE: [[u8; 3]; 11] = [
    [5, 48, 97],
    [33, 102, 172],
    [67, 147, 195],
    [146, 197, 222],
    [209, 229, 240],
    [247, 247, 247],
    [253, 219, 199],
    [244, 165, 130],
    [214, 96, 77],
    [178, 24, 43],
    [103, 0, 31],
];

/// Rescales `map` to `0..=1` by its finite minimum and maximum, for display only (scores and
/// metrics always use raw values). Non-finite entries become 0; a constant map becomes all 0.
pub fn minmax_normalise(map: &Array2<f32>) -> Array2<f32> {
    match finite_range(map.iter().copied()) {
        Some((lo, hi)) if hi > lo => map.mapv(|v| {
            if v.is_finite() {
                ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
            } else {
                0.0
            }
        }),
        _ => Array2::zeros(map.raw_dim()),
    }
}

/// The minimum and maximum of the finite values, or `None` when there are none.
pub(crate) fn finite_range(values: impl Iterator<Item = f32>) -> Option<(f32, f32)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn jet_matches_opencv_endpoints_and_middle() {
        assert_eq!(Colormap::Jet.rgb(0.0), [0, 0, 128]);
        assert_eq!(Colormap::Jet.rgb(1.0), [128, 0, 0]);
        assert_eq!(Colormap::Jet.rgb(0.5), [128, 255, 128]);
        assert_eq!(Colormap::Jet.rgb(0.125), [0, 0, 255]);
        assert_eq!(Colormap::Jet.rgb(0.875), [255, 0, 0]);
    }

    #[test]
    fn viridis_and_red_blue_endpoints() {
        assert_eq!(Colormap::Viridis.rgb(0.0), [68, 1, 84]);
        assert_eq!(Colormap::Viridis.rgb(1.0), [253, 231, 37]);
        assert_eq!(Colormap::RedBlue.rgb(0.5), [247, 247, 247]);
        let [r, _, b] = Colormap::RedBlue.rgb(0.0);
        assert!(b > r, "negative end is blue");
        let [r, _, b] = Colormap::RedBlue.rgb(1.0);
        assert!(r > b, "positive end is red");
    }

    #[test]
    fn hot_and_gray_follow_matplotlib() {
        // matplotlib: hot(0) = (0.0416, 0, 0), hot(0.5) = (1, 0.354, 0), hot(1) = white.
        assert_eq!(Colormap::Hot.rgb(0.0), [11, 0, 0]);
        assert_eq!(Colormap::Hot.rgb(1.0), [255, 255, 255]);
        let [r, g, b] = Colormap::Hot.rgb(0.5);
        assert_eq!((r, b), (255, 0));
        assert!((g as i32 - 90).abs() <= 1, "{g}");
        assert_eq!(Colormap::Gray.rgb(0.5), [128, 128, 128]);
        for name in ["jet", "hot", "gray", "viridis", "red-blue"] {
            assert_eq!(Colormap::from_name(name).unwrap().name(), name);
        }
        assert_eq!(Colormap::from_name("grey"), Some(Colormap::Gray));
        assert_eq!(Colormap::from_name("magma"), None);
    }

    #[test]
    fn out_of_range_and_nan_are_clamped() {
        assert_eq!(Colormap::Viridis.rgb(-3.0), Colormap::Viridis.rgb(0.0));
        assert_eq!(Colormap::Viridis.rgb(7.0), Colormap::Viridis.rgb(1.0));
        assert_eq!(Colormap::Jet.rgb(f32::NAN), Colormap::Jet.rgb(0.0));
    }

    #[test]
    fn viridis_lightness_increases() {
        let luma = |[r, g, b]: [u8; 3]| 0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32;
        let mut last = -1.0;
        for i in 0..=50 {
            let l = luma(Colormap::Viridis.rgb(i as f32 / 50.0));
            assert!(l > last, "viridis is monotone in lightness");
            last = l;
        }
    }

    #[test]
    fn minmax_normalise_handles_range_constant_and_nan() {
        let m = minmax_normalise(&array![[2.0, 4.0], [6.0, f32::NAN]]);
        assert_eq!(m, array![[0.0, 0.5], [1.0, 0.0]]);
        let c = minmax_normalise(&array![[3.0, 3.0]]);
        assert_eq!(c, array![[0.0, 0.0]]);
    }
}
