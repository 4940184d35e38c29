//! Test support: a builder that runs the real binary, real Helm binaries, a real broker process.
pub mod broker;
pub mod helm;
pub mod run;
pub mod tools;
