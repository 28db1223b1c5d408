//! Scripted dialog trees: file format, validation and the pure engine.
