//! FNV-1a (Fowler–Noll–Vo), Lantern's one small stable hash: it turns names and constant values
//! into seeds and cache keys that never change with the Rust version (`std`'s hashers may).
//! Not for untrusted input or cryptography.

/// The 64-bit FNV offset basis.
pub const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// The 64-bit FNV prime.
pub const FNV_PRIME: u64 = 0x100_0000_01b3;

/// A running FNV-1a state; each step is `h = (h ^ x) · prime`.
///
/// [`Fnv1a::bytes`] is the standard byte-wise hash. [`Fnv1a::word`] folds a whole 64-bit word in
/// one step (not the standard hash of its 8 bytes; used where only equality of keys matters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a::new()
    }
}

impl Fnv1a {
    /// Starts from the standard offset basis.
    pub fn new() -> Fnv1a {
        Fnv1a(FNV_OFFSET_BASIS)
    }

    /// Starts from another basis (e.g. the offset basis mixed with a seed).
    pub fn with_basis(basis: u64) -> Fnv1a {
        Fnv1a(basis)
    }

    /// Hashes `bytes` one byte at a time.
    pub fn bytes(self, bytes: &[u8]) -> Fnv1a {
        Fnv1a(
            bytes
                .iter()
                .fold(self.0, |h, &b| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)),
        )
    }

    /// Folds one 64-bit word in a single step.
    pub fn word(self, word: u64) -> Fnv1a {
        Fnv1a((self.0 ^ word).wrapping_mul(FNV_PRIME))
    }

    pub fn finish(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_published_fnv1a_vectors() {
        // Test vectors of the FNV reference (draft-eastlake-fnv): "", "a", "foobar".
        assert_eq!(Fnv1a::new().bytes(b"").finish(), 0xcbf2_9ce4_8422_2325);
        assert_eq!(Fnv1a::new().bytes(b"a").finish(), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(
            Fnv1a::new().bytes(b"foobar").finish(),
            0x8594_4171_f739_67e8
        );
    }

    #[test]
    fn a_word_is_one_step() {
        let h = Fnv1a::new().word(0x0102);
        assert_eq!(
            h.finish(),
            (FNV_OFFSET_BASIS ^ 0x0102).wrapping_mul(FNV_PRIME)
        );
        assert_ne!(h, Fnv1a::new().bytes(&0x0102u64.to_le_bytes()));
    }
}
