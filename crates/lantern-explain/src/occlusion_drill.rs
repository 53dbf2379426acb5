//! Krypton's adaptive drill-down (Nakandala, Kumar & Papakonstantinou, SIGMOD 2019, §4.2) on
//! Captum's window grid: occlusion at a coarse stride first, then at the requested stride only
//! where the coarse map is in its top fraction.
//!
//! Here the coarse stage runs every `step`-th window of the requested grid along each axis (the
//! last one too, so the grid's corners are exact): stride × step (2 by default). Every other
//! window's logits are estimated bilinearly on the grid from its coarse neighbours; the windows
//! whose estimated score drop is in the top `fraction` of all windows (for any target) are then
//! run exactly.
//! The map is Captum's per-pixel mean over covering windows, from exact rows where they ran and
//! estimated rows elsewhere, so it has the requested stride's layout everywhere.

use crate::method::Score;
use ndarray::{Array2, ArrayView1};

/// Windows per axis of a row-major grid of `rows × cols` windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    pub rows: usize,
    pub cols: usize,
}

impl Grid {
    /// The grid of Captum's windows (`(top, left, bottom, right)`, row-major).
    pub fn of(windows: &[(usize, usize, usize, usize)]) -> Grid {
        let cols = windows
            .iter()
            .take_while(|w| w.0 == windows[0].0)
            .count()
            .max(1);
        Grid {
            rows: windows.len() / cols,
            cols,
        }
    }

    /// The coarse stage's windows: every `step`-th row and column of the grid, and the last ones.
    pub fn coarse(&self, step: usize) -> Vec<usize> {
        let (rows, cols) = (coarse_axis(self.rows, step), coarse_axis(self.cols, step));
        rows.iter()
            .flat_map(|&i| cols.iter().map(move |&j| i * self.cols + j))
            .collect()
    }

    /// Fills every row of `logits` (`[rows · cols, K]`) not marked `exact` bilinearly from the
    /// coarse windows around it (which must be exact; `step` as for [`Grid::coarse`]).
    pub fn interpolate(&self, logits: &mut Array2<f32>, exact: &[bool], step: usize) {
        let (rows, cols) = (coarse_axis(self.rows, step), coarse_axis(self.cols, step));
        for i in 0..self.rows {
            let (i0, i1, ti) = between(&rows, i);
            for j in 0..self.cols {
                let w = i * self.cols + j;
                if exact[w] {
                    continue;
                }
                let (j0, j1, tj) = between(&cols, j);
                let at = |a: usize, b: usize| logits.row(a * self.cols + b).to_owned();
                let top = at(i0, j0) * (1.0 - tj) + at(i0, j1) * tj;
                let bottom = at(i1, j0) * (1.0 - tj) + at(i1, j1) * tj;
                logits.row_mut(w).assign(&(top * (1.0 - ti) + bottom * ti));
            }
        }
    }
}

/// 0, step, 2·step, … and the last index.
fn coarse_axis(n: usize, step: usize) -> Vec<usize> {
    let mut out: Vec<usize> = (0..n).step_by(step.max(1)).collect();
    if n > 0 && out.last() != Some(&(n - 1)) {
        out.push(n - 1);
    }
    out
}

/// The coarse indices around `i` and `i`'s weight towards the second.
fn between(coarse: &[usize], i: usize) -> (usize, usize, f32) {
    let k = coarse.partition_point(|&c| c <= i).max(1) - 1;
    let a = coarse[k];
    let b = coarse.get(k + 1).copied().unwrap_or(a).max(a);
    if b == a {
        (a, a, 0.0)
    } else {
        (a, b, (i - a) as f32 / (b - a) as f32)
    }
}

/// The windows to run exactly: those not yet exact whose (estimated) score drop is in the top
/// `fraction` of all windows' for any of `targets` (⌈fraction · n⌉ windows per target, ties by
/// window order).
pub fn drill_windows(
    logits: &Array2<f32>,
    clean: ArrayView1<f32>,
    score: Score,
    targets: &[usize],
    fraction: f64,
    exact: &[bool],
) -> Vec<usize> {
    let n = logits.nrows();
    let k = ((fraction.clamp(0.0, 1.0) * n as f64).ceil() as usize).min(n);
    let mut chosen = vec![false; n];
    for &t in targets {
        let c = score.of(clean, t);
        let drops: Vec<f32> = logits.outer_iter().map(|r| c - score.of(r, t)).collect();
        for w in lantern_core::similarity::argsort_descending(&drops)
            .into_iter()
            .take(k)
        {
            chosen[w] = true;
        }
    }
    (0..n).filter(|&w| chosen[w] && !exact[w]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::occlusion::Occlusion;

    #[test]
    fn coarse_grid_keeps_corners_and_interpolates_planes_exactly() {
        let grid = Grid::of(&Occlusion::default().windows(224, 224));
        assert_eq!(grid, Grid { rows: 15, cols: 15 });
        let coarse = grid.coarse(2);
        assert_eq!(coarse.len(), 8 * 8);
        assert!(coarse.contains(&0) && coarse.contains(&14) && coarse.contains(&224));
        // An even grid keeps its last row: 0, 2, 4, 5.
        assert_eq!(coarse_axis(6, 2), vec![0, 2, 4, 5]);
        assert_eq!(coarse_axis(15, 3), vec![0, 3, 6, 9, 12, 14]);
        // A plane over the grid is reproduced exactly by bilinear interpolation.
        let plane = |w: usize| (3 * (w / 15) + 2 * (w % 15)) as f32;
        let mut logits = Array2::<f32>::zeros((225, 1));
        let mut exact = vec![false; 225];
        for &w in &coarse {
            logits[[w, 0]] = plane(w);
            exact[w] = true;
        }
        grid.interpolate(&mut logits, &exact, 2);
        for w in 0..225 {
            assert!((logits[[w, 0]] - plane(w)).abs() < 1e-4, "window {w}");
        }
    }

    #[test]
    fn drills_into_the_largest_drops() {
        let logits = Array2::from_shape_vec((4, 2), vec![5., 0., 1., 0., 4., 0., 2., 0.]).unwrap();
        let clean = ndarray::arr1(&[6.0f32, 0.0]);
        let exact = [false, false, true, false];
        // Drops 1, 5, 2, 4: the top half is windows 1 and 3.
        assert_eq!(
            drill_windows(&logits, clean.view(), Score::Logit, &[0], 0.5, &exact),
            vec![1, 3]
        );
        // Window 2 is already exact: never rerun.
        assert_eq!(
            drill_windows(&logits, clean.view(), Score::Logit, &[0], 0.75, &exact),
            vec![1, 3]
        );
    }
}
