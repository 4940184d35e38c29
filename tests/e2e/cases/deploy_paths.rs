//! Every object of every chart, with its default values, each `ci/` values file and each example, accepted on
//! every way users deploy: server-side dry run, client-side `kubectl apply`, `kubectl apply --server-side`, and
//! `helm install` + `helm upgrade` on Helm 3 (three-way merge) and Helm 4 (server-side apply), all through the
//! post-renderer. Each path gets its own namespace; after each, every rendered object must be stored, and
//! nothing may be warned about.

use std::path::{Path, PathBuf};
use std::process::Output;

use super::{chart, text};
use crate::envtest::with_stdin;
use crate::support::tools::{repo_root, CHART_COUNTS};
use crate::Env;

/// The release name every path uses.
const RELEASE: &str = "samza-test";

/// A chart and one of its values files (none: the defaults).
pub struct Config {
    pub name: String,
    chart: PathBuf,
    values: Option<PathBuf>,
}

/// The charts with their defaults, their `ci/` values, and the samza-job chart with each example.
pub fn configs() -> Vec<Config> {
    let yaml_in = |dir: &Path| {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|entries| entries.map(|e| e.expect("a folder entry").path()).collect())
            .unwrap_or_default();
        files.retain(|f| f.extension().is_some_and(|e| e == "yaml"));
        files.sort();
        files
    };
    let stem = |file: &Path| {
        file.file_stem()
            .unwrap()
            .to_string_lossy()
            .replace('-', "_")
    };
    let mut configs = Vec::new();
    for name in ["samza-job", "kafka", "zookeeper"] {
        let id = name.replace('-', "_");
        configs.push(Config {
            name: format!("{id}_defaults"),
            chart: chart(name),
            values: None,
        });
        for file in yaml_in(&chart(name).join("ci")) {
            configs.push(Config {
                name: format!("{id}_ci_{}", stem(&file)),
                chart: chart(name),
                values: Some(file),
            });
        }
    }
    for file in yaml_in(&repo_root().join("examples")) {
        configs.push(Config {
            name: format!("samza_job_example_{}", stem(&file)),
            chart: chart("samza-job"),
            values: Some(file),
        });
    }
    assert!(configs.len() >= 10, "charts or values files went missing");
    configs
}

pub fn every_path(env: &Env, config: &Config) {
    let values: Vec<String> = config
        .values
        .iter()
        .flat_map(|file| ["--values".to_owned(), file.display().to_string()])
        .collect();

    for (path, flags) in [
        ("dry", &["--dry-run=server"][..]),
        ("csa", &[][..]),
        ("ssa", &["--server-side"][..]),
    ] {
        let namespace = env.plane.namespace(path, &[]);
        let rendered = render(env, config, &values, &namespace);
        let out = env
            .plane
            .apply(&rendered, &[&["-n", &namespace][..], flags].concat());
        accepted(&out, &format!("{}: kubectl apply {flags:?}", config.name));
        if path != "dry" {
            all_stored(env, &namespace, &rendered, &config.name);
        }
    }

    for version in [3, 4] {
        let namespace = env.plane.namespace(&format!("h{version}"), &[]);
        // Each deploy's own error log: the Helm homes are shared by cases running side by side.
        let log = tempfile::NamedTempFile::new().expect("a temporary file");
        let deploy = |verb: &str, previous: Option<&Path>| {
            let mut cmd = offline(env.helm(version, [verb, RELEASE]));
            cmd.env("HELM_SAMZA_LOG_FILE", log.path());
            if let Some(previous) = previous {
                cmd.env("HELM_SAMZA_PREVIOUS", previous);
            }
            cmd.arg(&config.chart)
                .args(["--namespace", &namespace])
                .args(env.home(version).post_renderer_flags())
                .args(&values)
                .output()
                .expect("running helm")
        };
        let out = deploy("install", None);
        accepted(&out, &format!("{}: helm{version} install", config.name));
        // Offline, with no lock, an upgrade of a job with state knows nothing of what Samza stored: refused.
        // The documented fix: the deployed model as --previous (here through HELM_SAMZA_PREVIOUS).
        let deployed = env
            .helm(
                version,
                ["get", "manifest", RELEASE, "--namespace", &namespace],
            )
            .output()
            .expect("running helm get manifest");
        accepted(&deployed, "helm get manifest");
        let previous = tempfile::NamedTempFile::new().expect("a temporary file");
        std::fs::write(previous.path(), &deployed.stdout).expect("the deployed manifest saved");
        if has_state(&deployed.stdout) {
            let out = deploy("upgrade", None);
            let message = text(&out) + &std::fs::read_to_string(log.path()).unwrap_or_default();
            assert!(
                !out.status.success() && message.contains("no-previous-state"),
                "{}: helm{version} upgrade offline without a previous state: {message}",
                config.name
            );
        }
        let out = deploy(
            "upgrade",
            has_state(&deployed.stdout).then_some(previous.path()),
        );
        accepted(&out, &format!("{}: helm{version} upgrade", config.name));
        let manifest = env
            .helm(
                version,
                ["get", "manifest", RELEASE, "--namespace", &namespace],
            )
            .output()
            .expect("running helm get manifest");
        accepted(&manifest, "helm get manifest");
        all_stored(env, &namespace, &manifest.stdout, &config.name);
    }
}

/// The chart rendered for `namespace` through the post-renderer (Helm 4), as the kubectl paths apply it. The
/// KafkaTopic version follows the cluster's CRD, as `helm install` would choose it.
fn render(env: &Env, config: &Config, values: &[String], namespace: &str) -> Vec<u8> {
    let mut args = vec!["--namespace", namespace];
    args.extend(["--api-versions", "kafka.strimzi.io/v1/KafkaTopic"]);
    args.extend(values.iter().map(String::as_str));
    let mut cmd = offline(env.home(4).template(&config.chart, &args));
    let out = cmd.output().expect("running helm template");
    accepted(&out, &format!("{}: helm template", config.name));
    out.stdout
}

/// Whether a rendered stream holds a job with changelogged stores (`stores.NAME.changelog` in its config, as
/// properties or YAML).
fn has_state(stream: &[u8]) -> bool {
    String::from_utf8_lossy(stream).lines().any(|line| {
        let line = line.trim_start().trim_start_matches('"');
        line.starts_with("stores.")
            && line
                .split(['=', ':', '"'])
                .next()
                .is_some_and(|key| key.ends_with(".changelog"))
    })
}

/// Partition counts from flags: the charts' inputs are not on the suite's broker.
fn offline(mut cmd: std::process::Command) -> std::process::Command {
    cmd.env("HELM_SAMZA_OFFLINE", "true")
        .env("HELM_SAMZA_PARTITIONS", CHART_COUNTS);
    cmd
}

/// Succeeded, and nothing was warned about (deprecated APIs, PodSecurity, unknown fields).
fn accepted(out: &Output, what: &str) {
    let warnings: Vec<&str> = std::str::from_utf8(&out.stderr)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.to_ascii_lowercase().contains("warn"))
        .collect();
    assert!(
        out.status.success() && warnings.is_empty(),
        "{what}: {}",
        text(out)
    );
}

/// Every object of `stream` is stored in `namespace` (`kubectl get -f -` fails on any that is not).
fn all_stored(env: &Env, namespace: &str, stream: &[u8], what: &str) {
    let out = with_stdin(
        env.plane
            .kubectl(["get", "-n", namespace, "-o", "name", "-f", "-"]),
        stream,
    );
    assert!(out.status.success(), "{what}: not stored: {}", text(&out));
    let documents = String::from_utf8_lossy(stream)
        .split("\n---")
        .filter(|doc| doc.lines().any(|l| l.starts_with("kind:")))
        .count();
    let stored = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(
        stored, documents,
        "{what}: {stored} of {documents} objects stored"
    );
}
