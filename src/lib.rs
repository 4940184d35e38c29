//! helm-samza: computes Apache Samza job models for Kubernetes deployments made with Helm.
//!
//! The binary (`src/main.rs`) only parses arguments (`cli`), calls [`run`] and maps errors to exit codes;
//! everything else lives here so that tests and benchmarks call the same code. Commands sit on top, one file
//! each (`command`); below them, the post-render pipeline (`render`) moves data one way:
//!
//! ```text
//! manifests in ─ job::scan ─▶ jobs ─ facts::gather ─▶ partition facts ─ samza::plan ─▶ models
//!   ─ plan::hazards (the safety gate) ─▶ patches (manifest, template, model_configmap) ─▶ manifests out
//! ```
//!
//! The domain underneath knows nothing of commands: `samza` (Samza's rules, pure), `kafka` (partition counts
//! behind one `PartitionSource` trait), `manifest` (the document stream), `lock`, `plan`, `lint`, `coordinator`.
#![forbid(unsafe_code)]

pub mod chart_values;
pub mod cli;
pub mod command;
pub mod coordinator;
pub mod diagnostics;
pub mod error;
pub mod exit_code;
pub mod facts;
pub mod flags;
pub mod helm;
pub mod import;
pub mod job;
pub mod job_config;
pub mod kafka;
pub mod lint;
pub mod lock;
pub mod manifest;
pub mod model_configmap;
pub mod model_inputs;
pub mod output_file;
pub mod plan;
pub mod previous;
pub mod render;
pub mod samza;
pub mod stdio;
pub mod template;

use cli::Cli;
use error::Result;

/// Runs one command; returns the exit code for success paths that are not 0 (e.g. plan changes).
pub fn run(cli: Cli) -> Result<i32> {
    cli.command.run()
}
