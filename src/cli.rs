//! The command line: the `helm-samza` program and its subcommands, assembled from the commands' own `Args`
//! (`command::*`). Parsed once here into typed values; nothing downstream looks at raw argv.

use std::ffi::OsString;

use clap::{CommandFactory, Parser, Subcommand};

use crate::{
    command::{
        completion::{self, CompletionArgs, ManArgs},
        coordinator::{self, CoordinatorArgs},
        import::{self, ImportArgs},
        last_error::{self, LastErrorArgs},
        lint::{self, LintArgs},
        lock::{self, LockArgs},
        model::{self, ModelArgs},
        plan::{self, PlanArgs},
        post_render::{self, PostRenderArgs},
        show::{self, ShowArgs},
        values::{self, ValuesArgs},
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
    Values(ValuesArgs),
    Lint(LintArgs),
    Import(ImportArgs),
    Coordinator(CoordinatorArgs),
    Show(ShowArgs),
    #[command(name = "last-error")]
    LastError(LastErrorArgs),
    Completion(CompletionArgs),
    Man(ManArgs),
}

impl Command {
    /// Runs the command; the exit code for success paths that are not 0 (e.g. plan changes, lint findings).
    pub fn run(&self) -> Result<i32> {
        match self {
            Command::PostRender(args) => post_render::run(args),
            Command::Model(args) => model::run(args),
            Command::Plan(args) => plan::run(args),
            Command::Lock(args) => lock::run(args),
            Command::Values(args) => values::run(args),
            Command::Lint(args) => lint::run(args),
            Command::Import(args) => import::run(args),
            Command::Coordinator(args) => coordinator::run(args),
            Command::Show(args) => show::run(args),
            Command::LastError(args) => last_error::run(args),
            Command::Completion(args) => completion::run_completion(args, Cli::command()),
            Command::Man(args) => completion::run_man(args, Cli::command()),
        }
    }
}

/// Helm 3 runs `--post-renderer PATH` with only the `--post-renderer-args` given, so users who pass the binary
/// itself without the `post-render` word get either no arguments or only post-render flags, with the manifests
/// on stdin. Read that as `post-render` rather than printing the whole help: no arguments, or a first argument
/// that is a flag other than help or version, while stdin is not a terminal.
pub fn implied_post_render(mut args: Vec<OsString>, stdin_is_terminal: bool) -> Vec<OsString> {
    let first = args.get(1).and_then(|a| a.to_str()).map(str::to_owned);
    let implied = !stdin_is_terminal
        && match first.as_deref() {
            None => true,
            Some(flag) => {
                flag.starts_with('-') && !matches!(flag, "-h" | "--help" | "-V" | "--version")
            }
        };
    if implied {
        args.insert(1.min(args.len()), OsString::from("post-render"));
    }
    args
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn a_bare_post_renderer_call_is_post_render() {
        use super::implied_post_render;
        let args = |list: &[&str]| {
            list.iter()
                .map(std::ffi::OsString::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            implied_post_render(args(&["helm-samza"]), false),
            args(&["helm-samza", "post-render"])
        );
        assert_eq!(
            implied_post_render(
                args(&["helm-samza", "--offline", "--partitions=kafka.a=1"]),
                false
            ),
            args(&[
                "helm-samza",
                "post-render",
                "--offline",
                "--partitions=kafka.a=1"
            ])
        );
        // A terminal, a subcommand, help and version are left alone.
        for kept in [&["helm-samza"][..], &["helm-samza", "--offline"]] {
            assert_eq!(implied_post_render(args(kept), true), args(kept));
        }
        for kept in [
            &["helm-samza", "plan", "x"][..],
            &["helm-samza", "--help"],
            &["helm-samza", "-V"],
        ] {
            assert_eq!(implied_post_render(args(kept), false), args(kept));
        }
    }
}
