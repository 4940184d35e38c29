//! helm-samza: computes Apache Samza job models for Kubernetes deployments made with Helm.
//!
//! The binary (`src/main.rs`) only parses arguments and maps errors to exit codes; everything else lives
//! here so that tests and benchmarks call the same code.
#![forbid(unsafe_code)]

pub mod kafka;
pub mod lint;
pub mod manifest;
pub mod samza;
