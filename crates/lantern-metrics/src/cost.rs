//! What a map or a metric cost: wall-clock seconds and model passes, counted in images (a batch
//! of 32 counts 32). Recorded next to every metric so that faithfulness can be weighed against
//! price.

use std::time::Instant;

#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cost {
    pub seconds: f64,
    pub forward_passes: usize,
    pub backward_passes: usize,
}

impl Cost {
    pub fn new(seconds: f64, forward_passes: usize, backward_passes: usize) -> Cost {
        Cost {
            seconds,
            forward_passes,
            backward_passes,
        }
    }

    /// Total passes, forward plus backward.
    pub fn passes(&self) -> usize {
        self.forward_passes + self.backward_passes
    }

    /// Runs `f`, returning its result and the seconds it took (passes left at zero for the
    /// caller to fill in).
    pub fn time<T>(f: impl FnOnce() -> T) -> (T, Cost) {
        let start = Instant::now();
        let out = f();
        (out, Cost::new(start.elapsed().as_secs_f64(), 0, 0))
    }
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, other: Cost) -> Cost {
        Cost {
            seconds: self.seconds + other.seconds,
            forward_passes: self.forward_passes + other.forward_passes,
            backward_passes: self.backward_passes + other.backward_passes,
        }
    }
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, other: Cost) {
        *self = *self + other;
    }
}

impl std::iter::Sum for Cost {
    fn sum<I: Iterator<Item = Cost>>(iter: I) -> Cost {
        iter.fold(Cost::default(), |a, b| a + b)
    }
}

/// A stopwatch for code that counts its own passes as it goes.
#[derive(Debug)]
pub struct Meter {
    start: Instant,
    pub forward_passes: usize,
    pub backward_passes: usize,
}

impl Meter {
    pub fn start() -> Meter {
        Meter {
            start: Instant::now(),
            forward_passes: 0,
            backward_passes: 0,
        }
    }

    pub fn finish(&self) -> Cost {
        Cost::new(
            self.start.elapsed().as_secs_f64(),
            self.forward_passes,
            self.backward_passes,
        )
    }
}

impl Default for Meter {
    fn default() -> Self {
        Meter::start()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_add_up() {
        let total: Cost = [Cost::new(1.0, 2, 1), Cost::new(0.5, 3, 0)]
            .into_iter()
            .sum();
        assert_eq!(total, Cost::new(1.5, 5, 1));
        assert_eq!(total.passes(), 6);
        let (v, c) = Cost::time(|| 7);
        assert_eq!(v, 7);
        assert!(c.seconds >= 0.0);
    }
}
