//! The Helm plugins as users install them: `helm plugin install` of the repository on Helm 3 and Helm 4, and of
//! `plugins/samza-postrender` on Helm 4, with the real Helm binaries. Shows that `helm samza` and both ways of
//! naming the post-renderer run our binary with the argv we document.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::helm::{run_ok, HelmHome};
use crate::support::tools::repo_root;

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A chart with one ConfigMap and no Samza job: the post-renderer must pass it through.
fn tiny_chart(home: &HelmHome) -> PathBuf {
    let chart = home.path().join("tiny");
    fs::create_dir_all(chart.join("templates")).unwrap();
    fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: tiny\nversion: 0.1.0\n",
    )
    .unwrap();
    fs::write(
        chart.join("templates/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  color: blue\n",
    )
    .unwrap();
    chart
}

fn assert_links_our_binary(home: &HelmHome, link: &Path) {
    let resolved = fs::canonicalize(link).unwrap_or_else(|e| {
        panic!(
            "Helm {}: plugin binary {} is missing: {e}",
            home.version(),
            link.display()
        )
    });
    let ours = fs::canonicalize(env!("CARGO_BIN_EXE_helm-samza")).unwrap();
    assert_eq!(resolved, ours, "the install hook linked the wrong binary");
}

fn assert_helm_samza_help_runs(home: &HelmHome) {
    let output = run_ok(&mut home.cmd(["samza", "--help"]));
    let help = stdout(&output);
    assert!(
        help.contains("Usage:") && help.contains("post-render"),
        "Helm {}: `helm samza --help` did not print helm-samza's help:\n{help}",
        home.version()
    );
}

#[test]
fn helm3_installs_the_cli_plugin_and_runs_our_binary() {
    let home = HelmHome::new(3);
    let list = stdout(&run_ok(&mut home.cmd(["plugin", "list"])));
    assert!(
        list.lines()
            .any(|l| l.starts_with("samza") && l.contains(env!("CARGO_PKG_VERSION"))),
        "samza is not in `helm plugin list`:\n{list}"
    );
    assert_links_our_binary(&home, &home.plugin_binary());
    assert_helm_samza_help_runs(&home);
}

#[test]
fn helm4_installs_both_plugins_and_runs_our_binary() {
    let home = HelmHome::new(4);
    let list = stdout(&run_ok(&mut home.cmd(["plugin", "list"])));
    let row = |name: &str| {
        list.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} is not in `helm plugin list`:\n{list}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(row("samza")[2], "cli/v1");
    assert_eq!(row("samza-postrender")[2], "postrenderer/v1");
    assert_links_our_binary(&home, &home.plugin_binary());
    assert_links_our_binary(
        &home,
        &home.plugins_dir().join("samza-postrender/bin/helm-samza"),
    );
    assert_helm_samza_help_runs(&home);
}

#[test]
fn helm4_native_cli_plugin_runs_our_binary() {
    let home = HelmHome::bare(4);
    let cli = home.plugin_sources().join("plugins/samza-cli");
    home.install_plugin(&cli);
    let list = stdout(&run_ok(&mut home.cmd(["plugin", "list"])));
    assert!(
        list.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>().starts_with(&[
                "samza",
                env!("CARGO_PKG_VERSION"),
                "cli/v1",
                "v1"
            ])),
        "samza (cli/v1, apiVersion v1) is not in `helm plugin list`:\n{list}"
    );
    assert_links_our_binary(&home, &cli.join("bin/helm-samza"));
    assert_helm_samza_help_runs(&home);
}

fn assert_post_renderer_passes_a_chart_through(version: u8) {
    let home = HelmHome::new(version);
    let chart = tiny_chart(&home);
    let output = run_ok(&mut home.template::<&str>(&chart, &[]));
    let rendered = stdout(&output);
    assert!(
        rendered.contains("kind: ConfigMap") && rendered.contains("name: samza-test-settings"),
        "Helm {version} + post-renderer lost the chart's ConfigMap:\n{rendered}"
    );
}

/// Helm's output looks the same whether or not a pass-through post-renderer ran; an argument only our binary
/// rejects shows it really is invoked, with `post-render` first and the user's args after it.
fn assert_post_renderer_gets_the_users_args(version: u8) {
    let home = HelmHome::new(version);
    let chart = tiny_chart(&home);
    let output = home
        .template(
            &chart,
            &["--post-renderer-args", "--no-such-flag-for-samza"],
        )
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "Helm {version} accepted a post-renderer argument helm-samza does not have:\n{}",
        stdout(&output)
    );
    let expected = match version {
        3 => "error while running command",
        _ => "failed to invoke post-renderer plugin \"samza-postrender\"",
    };
    assert!(
        stderr(&output).contains(expected),
        "Helm {version} did not report a post-renderer failure:\n{}",
        stderr(&output)
    );
}

#[test]
fn helm3_post_renderer_passes_a_chart_without_samza_jobs_through() {
    assert_post_renderer_passes_a_chart_through(3);
}

#[test]
fn helm4_post_renderer_passes_a_chart_without_samza_jobs_through() {
    assert_post_renderer_passes_a_chart_through(4);
}

#[test]
fn helm3_post_renderer_runs_our_binary_with_the_users_args() {
    assert_post_renderer_gets_the_users_args(3);
}

#[test]
fn helm4_post_renderer_runs_our_binary_with_the_users_args() {
    assert_post_renderer_gets_the_users_args(4);
}

#[test]
fn install_hook_names_a_missing_binary() {
    for version in [3, 4] {
        let home = HelmHome::bare(version);
        let output = home
            .cmd(["plugin", "install"])
            .arg(home.plugin_sources())
            .env("HELM_SAMZA_BINARY", home.path().join("no-such-binary"))
            .output()
            .unwrap();
        assert!(!output.status.success(), "Helm {version} install succeeded");
        assert!(
            stderr(&output).contains("HELM_SAMZA_BINARY=")
                && stderr(&output).contains("no-such-binary"),
            "Helm {version} install hook did not name the missing binary:\n{}",
            stderr(&output)
        );
    }
}

#[test]
fn plugin_versions_match_the_crate() {
    for file in [
        "plugin.yaml",
        "plugins/samza-cli/plugin.yaml",
        "plugins/samza-postrender/plugin.yaml",
    ] {
        let text = fs::read_to_string(repo_root().join(file)).unwrap();
        let version = text
            .lines()
            .find_map(|l| l.strip_prefix("version:"))
            .unwrap_or_else(|| panic!("{file} has no version"))
            .trim();
        assert_eq!(version, env!("CARGO_PKG_VERSION"), "{file}");
    }
}
