//! docs/gitops.md's Flux example against Flux's own schema: the `HelmRelease` CRD (helm.toolkit.fluxcd.io/v2) is
//! installed on the API server, and the doc's HelmRelease, read from the doc so that the two cannot drift, is
//! sent with a server-side dry run: the API server validates it against the CRD's schema and its CEL rules.

use std::fs;

use super::text;
use crate::support::tools::repo_root;
use crate::Env;

const FLUX_CRD: &str = "helm.toolkit.fluxcd.io_helmreleases.yaml";

/// The one fenced code block of docs/gitops.md that contains `needle`.
fn doc_block(needle: &str) -> String {
    let doc =
        fs::read_to_string(repo_root().join("docs/gitops.md")).expect("reading docs/gitops.md");
    let mut blocks = Vec::new();
    let mut open: Option<String> = None;
    for line in doc.lines() {
        match (&mut open, line.starts_with("```")) {
            (None, true) => open = Some(String::new()),
            (Some(text), true) => {
                blocks.push(std::mem::take(text));
                open = None;
            }
            (Some(text), false) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, false) => {}
        }
    }
    let matching: Vec<String> = blocks.into_iter().filter(|b| b.contains(needle)).collect();
    assert_eq!(
        matching.len(),
        1,
        "docs/gitops.md: {} code blocks contain {needle:?}",
        matching.len()
    );
    matching.into_iter().next().unwrap()
}

pub fn flux_helm_release_of_the_docs_passes_the_crds_schema(env: &Env) {
    env.plane.install_crds(&env.crd(FLUX_CRD));
    let release = doc_block("kind: HelmRelease");
    assert!(release.contains("apiVersion: helm.toolkit.fluxcd.io/v2\n"));
    // The doc's namespace, as written.
    let exists = env
        .plane
        .kubectl(["get", "namespace", "streams"])
        .output()
        .expect("running kubectl");
    if !exists.status.success() {
        env.plane.kubectl_ok(&["create", "namespace", "streams"]);
    }
    let out = env
        .plane
        .apply(release.as_bytes(), &["--server-side", "--dry-run=server"]);
    assert!(
        out.status.success(),
        "the API server refused docs/gitops.md's HelmRelease: {}",
        text(&out)
    );
    assert!(
        text(&out).contains(
            "helmrelease.helm.toolkit.fluxcd.io/views serverside-applied (server dry run)"
        ),
        "{}",
        text(&out)
    );
    // The schema judges: a misspelt duration and a values reference of an unknown kind are refused, naming the
    // fields.
    for (from, to, field) in [
        ("interval: 10m", "interval: ten minutes", "spec.interval"),
        (
            "- kind: ConfigMap",
            "- kind: ConfigMaps",
            "spec.valuesFrom[0].kind",
        ),
    ] {
        assert!(
            release.contains(from),
            "the doc's HelmRelease lost {from:?}"
        );
        let bad = release.replace(from, to);
        let out = env
            .plane
            .apply(bad.as_bytes(), &["--server-side", "--dry-run=server"]);
        assert!(
            !out.status.success() && text(&out).contains(field),
            "the CRD accepted {to:?}: {}",
            text(&out)
        );
    }
}
