//! The charts as users render them: `charts/check.sh` (helm lint --strict on Helm 3 and 4, kubernetes-validate
//! for 1.30 and 1.34, checkov, the post-renderer conventions) with every rendering going through helm-samza.

use crate::support::tools::{repo_root, tools_dir};

/// Counts for every input of the charts' default, ci/ and examples/ values (renders are offline).
const COUNTS: &str = "kafka.my-input=6,kafka.page-views=6,kafka.ad-clicks=6,kafka.wikipedia-raw=4,\
    kafka.wikipedia-edits=8,wikipedia.#en.wikipedia=1,wikipedia.#en.wiktionary=1,wikipedia.#en.wikinews=1";

#[test]
fn charts_pass_lint_schema_validation_and_checkov_through_the_post_renderer() {
    let out = std::process::Command::new("sh")
        .arg(repo_root().join("charts/check.sh"))
        .env("HELM_SAMZA_TOOLS", tools_dir())
        .env("HELM_SAMZA_BINARY", env!("CARGO_BIN_EXE_helm-samza"))
        .env("HELM_SAMZA_OFFLINE", "true")
        .env("HELM_SAMZA_PARTITIONS", COUNTS)
        .env_remove("HELM3_TEMPLATE_ARGS")
        .env_remove("HELM4_TEMPLATE_ARGS")
        .output()
        .expect("run charts/check.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "charts/check.sh failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all chart checks passed"), "{stdout}");
}
