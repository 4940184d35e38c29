//! Running the Helm binary for the commands that render charts themselves (`plan`, `lock`, `lint`).
//!
//! Helm sets `HELM_BIN` for its plugins, so `helm samza plan` uses the very Helm that called it, Helm 3 or 4;
//! run directly, `helm-samza` uses `helm` from `PATH` (or `--helm-bin`). Charts are rendered with
//! `helm template` and no post-renderer: helm-samza runs its own pipeline on the output, in process.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use clap::Args;

use crate::error::{Error, Result};

/// `[RELEASE] CHART` and the `helm template` flags: what `plan` and `lock` render.
#[derive(Debug, Clone, Args)]
pub struct ChartArgs {
    /// `[RELEASE] CHART`: the chart to render, and the release name its templates see (`plan` also compares
    /// with that release when it is deployed).
    #[arg(value_name = "[RELEASE] CHART", num_args = 1..=2, required = true)]
    pub positional: Vec<String>,

    #[command(flatten)]
    pub helm: HelmArgs,
}

impl ChartArgs {
    /// The release name (Helm's default when none is given) and the chart.
    pub fn release_and_chart(&self) -> (String, PathBuf) {
        release_and_chart(&self.positional)
    }

    /// A release name was given (not only the chart).
    pub fn names_release(&self) -> bool {
        self.positional.len() == 2
    }
}

/// The `helm template` flags helm-samza passes through, typed so they can be checked before Helm runs.
#[derive(Debug, Clone, Default, Args)]
pub struct HelmArgs {
    /// The Helm binary (set by Helm for plugins).
    #[arg(
        long = "helm-bin",
        value_name = "PATH",
        env = "HELM_BIN",
        default_value = "helm"
    )]
    pub helm_bin: PathBuf,
    /// Values files, as for `helm template -f`; repeatable.
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// As `helm template --set`; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// As `helm template --set-string`; repeatable.
    #[arg(long = "set-string", value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,
    /// As `helm template --set-file`; repeatable.
    #[arg(long = "set-file", value_name = "KEY=FILE")]
    pub set_file: Vec<String>,
    /// As `helm template --set-json`; repeatable.
    #[arg(long = "set-json", value_name = "KEY=JSON")]
    pub set_json: Vec<String>,
    /// The release namespace.
    #[arg(short = 'n', long = "namespace", env = "HELM_NAMESPACE")]
    pub namespace: Option<String>,
    /// The kube context for `helm get manifest` (set by Helm for plugins).
    #[arg(long = "kube-context", env = "HELM_KUBECONTEXT")]
    pub kube_context: Option<String>,
    /// How long one run of Helm may take before it is stopped and the command fails (exit 18); e.g. 90s, 10m
    /// (also HELM_SAMZA_HELM_TIMEOUT) [default: 5m].
    #[arg(long = "helm-timeout", value_name = "DURATION", env = "HELM_SAMZA_HELM_TIMEOUT", value_parser = humantime::parse_duration)]
    pub helm_timeout: Option<Duration>,
    /// Any other `helm template` flags, after `--`.
    #[arg(last = true, value_name = "HELM FLAGS")]
    pub extra: Vec<String>,
}

/// How long a run of Helm may take unless `--helm-timeout` says otherwise: a chart that renders for minutes is
/// unusual; a Helm waiting forever (a values file that is a FIFO, a credentials prompt) must not hang CI.
pub const DEFAULT_HELM_TIMEOUT: Duration = Duration::from_secs(300);

impl HelmArgs {
    /// `helm template RELEASE CHART ...`: the rendered manifests, hooks included.
    pub fn template(&self, release: &str, chart: &Path) -> Result<Vec<u8>> {
        let mut cmd = Command::new(&self.helm_bin);
        cmd.arg("template").arg(release).arg(chart);
        for file in &self.values {
            cmd.arg("--values").arg(file);
        }
        for (flag, values) in [
            ("--set", &self.set),
            ("--set-string", &self.set_string),
            ("--set-file", &self.set_file),
            ("--set-json", &self.set_json),
        ] {
            for value in values {
                cmd.arg(flag).arg(value);
            }
        }
        if let Some(ns) = &self.namespace {
            cmd.arg("--namespace").arg(ns);
        }
        cmd.args(&self.extra);
        run(cmd, &self.helm_bin, "template", self.timeout())
    }

    /// `helm get manifest RELEASE`: what is deployed; `Error::Helm` with Helm's message when there is no
    /// cluster or no release.
    pub fn deployed_manifest(&self, release: &str) -> Result<Vec<u8>> {
        let mut cmd = Command::new(&self.helm_bin);
        cmd.arg("get").arg("manifest").arg(release);
        if let Some(ns) = &self.namespace {
            cmd.arg("--namespace").arg(ns);
        }
        if let Some(ctx) = &self.kube_context {
            cmd.arg("--kube-context").arg(ctx);
        }
        run(
            cmd,
            &self.helm_bin,
            &format!("get manifest {release}"),
            self.timeout(),
        )
    }

    fn timeout(&self) -> Duration {
        self.helm_timeout.unwrap_or(DEFAULT_HELM_TIMEOUT)
    }
}

/// Runs Helm with its output captured, stopping it when it takes longer than `timeout`.
fn run(mut cmd: Command, bin: &Path, what: &str, timeout: Duration) -> Result<Vec<u8>> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Helm {
            command: what.to_string(),
            message: format!(
                "cannot run {} ({e}); set --helm-bin or HELM_BIN to the Helm binary",
                bin.display()
            ),
        })?;
    // Both pipes are drained while Helm runs, so a large render cannot fill one and stall it.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Helm {
                    command: what.to_string(),
                    message: format!(
                        "{} {what} did not finish within {}: stopped (raise --helm-timeout or \
                         HELM_SAMZA_HELM_TIMEOUT if the chart really takes that long)",
                        bin.display(),
                        humantime::format_duration(timeout)
                    ),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                return Err(Error::Helm {
                    command: what.to_string(),
                    message: format!("cannot wait for {}: {e}", bin.display()),
                })
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        return Err(Error::Helm {
            command: what.to_string(),
            message: String::from_utf8_lossy(&stderr).trim().to_string(),
        });
    }
    Ok(stdout)
}

/// `[RELEASE] CHART` → (release name, chart path); Helm's own default release name when none is given.
pub fn release_and_chart(positional: &[String]) -> (String, PathBuf) {
    match positional {
        [chart] => ("release-name".to_string(), PathBuf::from(chart)),
        [release, chart, ..] => (release.clone(), PathBuf::from(chart)),
        [] => unreachable!("clap requires the chart"),
    }
}
