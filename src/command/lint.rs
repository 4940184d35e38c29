//! `helm samza lint`: render (a chart with `helm template`, or take rendered manifests), run the post-render
//! pipeline offline, then check the result with `lint`. Needs no cluster and no Kafka: partition counts come
//! from `--partitions`, a lock file or KafkaTopic resources.

use std::{collections::BTreeSet, path::PathBuf};

use clap::{Args, ValueEnum};

use crate::{
    error::{Error, Result},
    flags::{ModelLayoutArg, OfflineSourceArgs, SamzaVersionArg, SourceArgs},
    helm::{release_and_chart, HelmArgs},
    lint::{
        exit_code, find_check, format_json, format_junit, format_sarif, format_text, lint_all,
        LintInput, LintSettings, Severity,
    },
    render::{render, RenderOptions},
    stdio,
};

/// Check a chart (or rendered manifests) for what would deploy a broken Samza job; offline, for CI.
#[derive(Debug, Args)]
#[command(
    after_long_help = "Examples:\n  helm samza lint ./chart -f values.yaml --partitions kafka.PageViewEvent=8 --strict\n  \
    helm template r ./chart | helm-samza lint - --lock samza.lock --output sarif > lint.sarif\n\n\
    Exit codes: 0 clean, 1 findings at or above the fail level; 64 usage; 12 no partition count; 13 unreadable \
    manifests; 18 helm template failed."
)]
pub struct LintArgs {
    /// `[RELEASE] CHART` (a chart folder or a packaged `.tgz`, rendered with `helm template`), or a file of
    /// rendered manifests, or `-` for stdin.
    #[arg(value_name = "[RELEASE] CHART|FILE|-", num_args = 1..=2, required = true)]
    pub positional: Vec<String>,

    #[command(flatten)]
    pub helm: HelmArgs,

    #[command(flatten)]
    pub source: OfflineSourceArgs,

    #[arg(long, value_enum, default_value_t = LintOutput::Text)]
    pub output: LintOutput,

    /// Warnings fail too.
    #[arg(long)]
    pub strict: bool,

    /// No colors in the text report, even on a terminal (also: NO_COLOR).
    #[arg(long = "no-color")]
    pub no_color: bool,

    /// Findings at or above this severity fail the lint.
    #[arg(long = "fail-level", value_name = "SEVERITY", default_value = "error")]
    pub fail_level: Severity,

    /// A check not to run, by id (SZ301) or name (heap-headroom); repeatable.
    #[arg(long, value_name = "CHECK")]
    pub disable: Vec<String>,

    #[command(flatten)]
    pub samza_version: SamzaVersionArg,
    #[command(flatten)]
    pub model_layout: ModelLayoutArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintOutput {
    Text,
    Json,
    Sarif,
    Junit,
}

pub fn run(args: &LintArgs) -> Result<i32> {
    let mut disabled = BTreeSet::new();
    for check in &args.disable {
        if find_check(check).is_none() {
            return Err(Error::Usage(format!(
                "--disable {check}: no such check (see docs/lint.md for the ids and names)"
            )));
        }
        disabled.insert(check.clone());
    }
    let (manifests, source, source_root) = read_input(args)?;
    let inputs = source.load()?;
    let mut sources = inputs.fact_sources();
    sources.offline = true;
    let options = RenderOptions {
        sources,
        previous: Default::default(),
        samza_version: args.samza_version.samza_version,
        model_layout: args.model_layout.model_layout,
        allow_unsafe: true,
        keep_going: true,
        reuse_models: true,
        deployed: None,
        stream_over_lock: false,
    };
    // An unreadable stream is named by what was given: the chart, the file, or `-`.
    let input_name = args.positional.last().expect("clap requires one");
    let rendered = render(&manifests, &options).map_err(|e| e.in_input(input_name))?;
    let input = LintInput::from_rendered(rendered).map_err(|e| e.in_input(input_name))?;
    let settings = LintSettings {
        disabled,
        fail_level: args.fail_level,
        strict: args.strict,
        source_root,
        color: !args.no_color
            && std::env::var_os("NO_COLOR").is_none()
            && std::io::IsTerminal::is_terminal(&std::io::stdout()),
    };
    let findings = lint_all(&input, &settings);
    let text = match args.output {
        LintOutput::Text => format_text(&findings, &input, &settings),
        LintOutput::Json => format_json(&findings, &input, &settings),
        LintOutput::Sarif => format_sarif(&findings, &input, &settings),
        LintOutput::Junit => format_junit(&findings, &input, &settings),
    };
    stdio::write_stdout(text.as_bytes())?;
    Ok(exit_code(&findings, &settings))
}

/// The manifests to lint, the source settings (with the chart's lock by default) and the SARIF source root.
fn read_input(args: &LintArgs) -> Result<(Vec<u8>, SourceArgs, Option<String>)> {
    let target = args.positional.last().expect("clap requires one");
    let path = PathBuf::from(target);
    if target == "-" {
        let bytes = stdio::read_stdin(1 << 20)?;
        return Ok((bytes, args.source.to_source_args(), None));
    }
    if path.is_dir() {
        let (release, chart) = release_and_chart(&args.positional);
        let bytes = args.helm.template(&release, &chart)?;
        // Template paths are `<chart name>/templates/...`, relative to the chart's parent folder.
        let root = chart
            .canonicalize()
            .ok()
            .and_then(|c| c.parent().map(|p| p.to_path_buf()))
            .and_then(|p| {
                let cwd = std::env::current_dir().ok()?;
                p.strip_prefix(&cwd).ok().map(|r| r.display().to_string())
            })
            .filter(|r| !r.is_empty());
        return Ok((
            bytes,
            args.source.to_source_args().with_lock_beside(&chart),
            root,
        ));
    }
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        // A packaged chart (`helm package`): gzip, which no manifest stream is. Helm renders it, as for a folder.
        let (release, chart) = release_and_chart(&args.positional);
        let bytes = args.helm.template(&release, &chart)?;
        return Ok((bytes, args.source.to_source_args(), None));
    }
    Ok((bytes, args.source.to_source_args(), None))
}
