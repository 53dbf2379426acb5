//! Faithfulness metrics: deletion/insertion, average drop/increase, pointing game, sanity checks.
