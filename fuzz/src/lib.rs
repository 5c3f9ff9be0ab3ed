//! The fuzz targets' bodies (see `targets.rs`).

pub mod targets;
