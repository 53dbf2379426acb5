//! Attribution methods: one file per method behind one trait.
