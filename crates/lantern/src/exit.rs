//! The exit codes of every `lantern` command (README, "Exit codes"). Usage errors (an unknown
//! flag or value) are clap's, which exits with 2 as well.

/// Some items (images, files) failed; the others finished and their outputs are written.
pub const SOME_FAILED: u8 = 1;
/// Nothing ran: a usage, configuration, model or runtime error.
pub const ERROR: u8 = 2;
