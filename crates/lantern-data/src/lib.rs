//! Datasets (Plant Pathology CSV, ImageFolder, path lists), image decoding and preprocessing presets.
