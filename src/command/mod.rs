//! The commands, one room each: `<subcommand>.rs` owns that subcommand's clap `Args` and its `run`, and calls
//! down into the pipeline (`render`) and the domain (`samza`, `kafka`, `manifest`, `lock`, `plan`, `lint`,
//! `coordinator`). A command never imports another command: what two of them share lives below them (`flags`
//! for shared flag groups, `stdio`, `previous`, `model_configmap`, `job_config`, `helm`). `cli` assembles them.

pub mod completion;
pub mod coordinator;
pub mod import;
pub mod last_error;
pub mod lint;
pub mod lock;
pub mod model;
pub mod plan;
pub mod post_render;
pub mod show;
pub mod values;
