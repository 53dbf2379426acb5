//! Helpers every Lantern crate may share, each kept in exactly one place: the seeded generator
//! ([`SplitMix64`]), the stable hash that turns names into its seeds ([`hash::Fnv1a`]),
//! atomic file replacement ([`write_atomically`]), the min–max normalisations of maps
//! ([`normalise`]) and the ranking and similarity of maps ([`similarity`]: Spearman, SSIM,
//! top-fraction overlap), the image input's memory [`Layout`], the map of sessions built once
//! per key ([`Memo`]) and where ONNX Runtime's library sits in its Python package
//! ([`ort_library`]). This crate depends on no other Lantern crate, so any of them may use it
//! without bending the dependency arrows.

pub mod atomic_write;
pub mod dirs;
pub mod hash;
pub mod layout;
pub mod memo;
pub mod normalise;
pub mod ort_library;
pub mod rng;
pub mod similarity;
pub mod test_data;

pub use atomic_write::{Durability, write_atomically, write_parts_atomically};
pub use layout::Layout;
pub use memo::Memo;
pub use rng::SplitMix64;
