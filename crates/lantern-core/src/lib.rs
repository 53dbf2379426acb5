//! Helpers every Lantern crate may share, each kept in exactly one place: the seeded generator
//! ([`SplitMix64`]). This crate depends on no other Lantern crate, so any of them may use it
//! without bending the dependency arrows.

pub mod rng;

pub use rng::SplitMix64;
