//! The command line: the `helm-samza` program and its subcommands, assembled from the commands' own `Args`
//! (`command::*`). Parsed once here into typed values; nothing downstream looks at raw argv.

use clap::{Parser, Subcommand};

use crate::{
    command::{
        coordinator::{self, CoordinatorArgs},
        import::{self, ImportArgs},
        last_error::{self, LastErrorArgs},
        lint::{self, LintArgs},
        lock::{self, LockArgs},
        model::{self, ModelArgs},
        plan::{self, PlanArgs},
        post_render::{self, PostRenderArgs},
        show::{self, ShowArgs},
    },
    error::Result,
    exit_code,
};

/// `--version`: the version, the commit it was built from and the librdkafka linked in (`-V` prints the version
/// alone).
fn long_version() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "{} (commit {}, librdkafka {})",
            env!("CARGO_PKG_VERSION"),
            env!("HELM_SAMZA_COMMIT"),
            rdkafka::util::get_rdkafka_version().1
        )
    })
}

#[derive(Debug, Parser)]
#[command(
    name = "helm-samza",
    version,
    long_version = long_version(),
    about = "Computes Apache Samza job models for Kubernetes, inside Helm",
    long_about = "Computes Apache Samza job models for Kubernetes, inside Helm.\n\n\
        As a Helm post-renderer it finds each Samza job in the rendered manifests, learns the partition counts \
        of its inputs (flags, a lock file, KafkaTopic resources, or Kafka itself), computes the job model exactly \
        as Samza does, and fills in worker replicas, the job-model ConfigMap and checksums.",
    after_long_help = exit_code::TABLE,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(name = "post-render")]
    PostRender(PostRenderArgs),
    Model(ModelArgs),
    Plan(PlanArgs),
    Lock(LockArgs),
    Lint(LintArgs),
    Import(ImportArgs),
    Coordinator(CoordinatorArgs),
    Show(ShowArgs),
    #[command(name = "last-error")]
    LastError(LastErrorArgs),
}

impl Command {
    /// Runs the command; the exit code for success paths that are not 0 (e.g. plan changes, lint findings).
    pub fn run(&self) -> Result<i32> {
        match self {
            Command::PostRender(args) => post_render::run(args),
            Command::Model(args) => model::run(args),
            Command::Plan(args) => plan::run(args),
            Command::Lock(args) => lock::run(args),
            Command::Lint(args) => lint::run(args),
            Command::Import(args) => import::run(args),
            Command::Coordinator(args) => coordinator::run(args),
            Command::Show(args) => show::run(args),
            Command::LastError(args) => last_error::run(args),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
