//! Test support: a builder that runs the real binary, real Helm binaries, a real broker process.
pub mod helm;
pub mod tools;
