//! `lantern_graph::decode_model` on arbitrary bytes: never panics; an accepted model re-encodes
//! stably and survives inspection (the property of `crates/lantern/tests/fuzz_parsers.rs`, from
//! the file both include). Seed corpus: `just fuzz` copies the MNIST model there.
#![no_main]

#[path = "../../crates/lantern/tests/fuzz_support/model_property.rs"]
mod model_property;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    model_property::check_model(data);
});
