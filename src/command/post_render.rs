//! `helm-samza post-render`: Helm's post-renderer. Reads the rendered manifests on stdin, runs the pipeline
//! (`render`), and writes them with every Samza job's model filled in on stdout.
//!
//! Helm 4 discards a post-renderer's stderr, so a failure is also recorded where `helm samza last-error` finds
//! it (`diagnostics`), with the input that caused it.

use std::path::PathBuf;

use clap::Args;

use crate::{
    diagnostics,
    error::Result,
    exit_code,
    flags::{AllowUnsafeArg, ModelLayoutArg, SamzaVersionArg, SourceArgs},
    previous::read_previous_args,
    render::{render, RenderOptions},
    stdio,
};

/// Read rendered manifests on stdin, write them with every Samza job's model filled in on stdout.
#[derive(Debug, Args)]
#[command(
    after_long_help = "Helm 3:  helm template CHART --post-renderer PATH/TO/helm-samza --post-renderer-args post-render\n\
                       Helm 4:  helm template CHART --post-renderer samza-postrender\n\
                       Extra flags go through --post-renderer-args, one word each, or through HELM_SAMZA_* variables.\n\n\
                       Helm 4 does not show a post-renderer's error output: run `helm samza last-error` to see it."
)]
pub struct PostRenderArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// A previous job model (Samza JSON) to stay stable against, `[JOB=]FILE`; repeatable.
    #[arg(long, value_name = "[JOB=]FILE", env = "HELM_SAMZA_PREVIOUS")]
    pub previous: Vec<String>,

    #[command(flatten)]
    pub samza_version: SamzaVersionArg,
    #[command(flatten)]
    pub model_layout: ModelLayoutArg,

    #[command(flatten)]
    pub allow_unsafe: AllowUnsafeArg,

    /// Where to write the diagnostics of a failed run (Helm 4 hides stderr).
    /// Default: $XDG_STATE_HOME/helm-samza/last-error.log (else ~/.local/state/helm-samza/, else
    /// $TMPDIR/helm-samza/)
    #[arg(long = "log-file", value_name = "FILE", env = diagnostics::ENV_LOG_FILE)]
    pub log_file: Option<PathBuf>,
}

pub fn run(args: &PostRenderArgs) -> Result<i32> {
    diagnostics::record_start(args.log_file.as_deref());
    stdio::widen_pipes();
    let input = stdio::read_stdin(1 << 20)?;
    match post_render(args, &input).and_then(|output| stdio::write_stdout(&output)) {
        Ok(()) => {
            diagnostics::record_success(args.log_file.as_deref());
            Ok(exit_code::OK)
        }
        Err(err) => {
            // Helm 4 discards our stderr: leave the message and the input where the user can find them.
            diagnostics::record_failure(
                args.log_file.as_deref(),
                &err.to_string(),
                err.exit_code(),
                &input,
            );
            Err(err)
        }
    }
}

fn post_render<'a>(args: &PostRenderArgs, input: &'a [u8]) -> Result<std::borrow::Cow<'a, [u8]>> {
    let inputs = args.source.load()?;
    let options = RenderOptions {
        sources: inputs.fact_sources(),
        previous: read_previous_args(&args.previous)?,
        samza_version: args.samza_version.samza_version,
        model_layout: args.model_layout.model_layout,
        allow_unsafe: args.allow_unsafe.allow_unsafe,
        keep_going: false,
        reuse_models: false,
        deployed: None,
        stream_over_lock: false,
    };
    render(input, &options).map(|rendered| rendered.output)
}
