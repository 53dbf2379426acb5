//! SplitMix64 (Steele, Lea & Flood 2014): Lantern's one seeded generator. It lives here rather
//! than coming from a crate so that a seed gives the same splits, weights, noise, masks and
//! bootstrap intervals whatever dependency versions are installed. Not for cryptography.
//!
//! # How streams derive from seeds
//! - [`SplitMix64::new`]`(seed)`: the plain sequence of `seed`. Callers that need one stream per
//!   name hash the name into the seed first with [`crate::hash::Fnv1a`] (weight randomisation per
//!   initializer name in lantern-graph, bootstrap per summary group in lantern-metrics).
//! - [`SplitMix64::for_stream`]`(seed, k)`: stream `k` of `seed`, `mix(seed ^ mix(k + γ))`
//!   (lantern-data's train/validation split: one stream per class).
//! - [`SplitMix64::for_item`]`(seed, i)`: item `i` of `seed`, `mix(seed ^ mix((i + 1)·γ))`
//!   (lantern-explain: SmoothGrad sample `i`, RISE mask `i`), so an item's draws never depend on
//!   how items are batched.
//!
//! The two derivations differ only in how `k` enters; both are pinned by seeded outputs, so
//! neither may change.
//!
//! # Integers below a bound
//! Three ways of drawing from `0..n` are in use, each pinned by the seeded outputs of its callers
//! (changing one would change their splits, masks or intervals), so each keeps its own name:
//! - [`SplitMix64::below_lemire`]: Lemire's multiply-and-reject (unbiased). lantern-data's
//!   shuffles (via [`SplitMix64::shuffle`]) and lantern-metrics' bootstrap resamples.
//! - [`SplitMix64::below_modulo`]: modulo with the top partial zone rejected (unbiased).
//!   lantern-explain's RISE mask offsets; the parser fuzz test (whose former plain modulo gives
//!   the same draws unless a draw lands in the rejected zone, probability `n / 2⁶⁴`).
//! - [`SplitMix64::below_scaled`]: `⌊next_f64 · n⌋` (53 bits, very slightly biased).
//!   lantern-graph's test inputs and fuzz mutations.

/// Weyl-sequence increment γ = 2⁶⁴ / φ, odd.
pub const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// A SplitMix64 generator: a 64-bit state advanced by γ, output through the MurmurHash3-style
/// finaliser [`mix`]. See the module documentation for streams and bounded draws.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitMix64 {
    state: u64,
    /// The second Box–Muller value, kept for the next [`SplitMix64::normal`] call.
    spare_normal: Option<f64>,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 {
            state: seed,
            spare_normal: None,
        }
    }

    /// An independent generator for sub-stream `stream` of `seed` (e.g. one per class), so
    /// that adding samples to one class leaves every other class's shuffle unchanged.
    /// Seeds `seed + k·γ` would only shift one sequence, hence the extra mixing.
    pub fn for_stream(seed: u64, stream: u64) -> SplitMix64 {
        SplitMix64::new(mix(seed ^ mix(stream.wrapping_add(GOLDEN_GAMMA))))
    }

    /// The generator for item `index` (one noisy sample, one mask) of a run seeded with `seed`.
    pub fn for_item(seed: u64, index: u64) -> SplitMix64 {
        SplitMix64::new(mix(
            seed ^ mix(index.wrapping_add(1).wrapping_mul(GOLDEN_GAMMA))
        ))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix(self.state)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }

    /// A uniform integer in `0..bound` (`bound > 0`), without modulo bias (Lemire 2019).
    pub fn below_lemire(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "SplitMix64::below_lemire needs a positive bound");
        let mut product = u128::from(self.next_u64()) * u128::from(bound);
        if (product as u64) < bound {
            let threshold = bound.wrapping_neg() % bound;
            while (product as u64) < threshold {
                product = u128::from(self.next_u64()) * u128::from(bound);
            }
        }
        (product >> 64) as u64
    }

    /// A uniform integer in `0..n` (`n > 0`), without modulo bias: draws in the top partial
    /// zone of `u64` are rejected, the rest reduced modulo `n`.
    pub fn below_modulo(&mut self, n: u64) -> u64 {
        assert!(n > 0, "SplitMix64::below_modulo needs a positive bound");
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }

    /// An integer in `0..n` (`n > 0`) as `⌊next_f64 · n⌋`.
    pub fn below_scaled(&mut self, n: usize) -> usize {
        (self.next_f64() * n as f64) as usize % n.max(1)
    }

    /// Fisher–Yates shuffle (with [`SplitMix64::below_lemire`]).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below_lemire(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// Standard normal draw (Box–Muller; pairs are used in order).
    pub fn normal(&mut self) -> f64 {
        if let Some(v) = self.spare_normal.take() {
            return v;
        }
        // 1 − u ∈ (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * u2;
        self.spare_normal = Some(r * theta.sin());
        r * theta.cos()
    }
}

/// SplitMix64's output function (a bijection on u64).
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_sequence_for_seed_zero() {
        let mut rng = SplitMix64::new(0);
        let first: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
        assert_eq!(
            first,
            [
                0xe220_a839_7b1d_cdaf,
                0x6e78_9e6a_a1b9_65f4,
                0x06c4_5d18_8009_454f,
                0xf88b_b8a8_724c_81ec
            ]
        );
    }

    #[test]
    fn splitmix64_reference_values() {
        // Published SplitMix64 outputs for seed 1234567 (the reference C implementation).
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
        assert_eq!(r.next_u64(), 9817491932198370423);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = SplitMix64::new(7);
        let mut seen = [0usize; 5];
        for _ in 0..1000 {
            seen[rng.below_lemire(5) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 150), "{seen:?}");
        let mut rng = SplitMix64::new(7);
        assert!((0..1000).all(|_| rng.below_lemire(3) < 3));
        let mut b = SplitMix64::new(1);
        assert!((0..1000).all(|_| b.below_modulo(7) < 7));
        assert!((0..1000).all(|_| b.below_scaled(7) < 7));
    }

    #[test]
    fn shuffle_is_a_fixed_permutation() {
        let mut items: Vec<u32> = (0..10).collect();
        SplitMix64::new(42).shuffle(&mut items);
        // Pinned: a change here would silently change every seeded split.
        assert_eq!(items, [8, 3, 6, 5, 4, 0, 9, 2, 1, 7]);
        let mut again: Vec<u32> = (0..10).collect();
        SplitMix64::new(42).shuffle(&mut again);
        assert_eq!(items, again);
        let mut sorted = items.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_ne!(items, sorted);
    }

    #[test]
    fn streams_differ() {
        let a = SplitMix64::for_stream(1, 0).next_u64();
        let b = SplitMix64::for_stream(1, 1).next_u64();
        let c = SplitMix64::for_stream(2, 0).next_u64();
        assert!(a != b && a != c && b != c);
        assert_ne!(
            SplitMix64::for_item(7, 3).next_u64(),
            SplitMix64::for_item(7, 4).next_u64()
        );
        assert_eq!(
            SplitMix64::for_item(7, 3).next_u64(),
            SplitMix64::for_item(7, 3).next_u64()
        );
    }

    #[test]
    fn normal_moments() {
        let mut r = SplitMix64::for_item(7, 3);
        let n = 200_000;
        let draws: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.01, "{var}");
    }
}
