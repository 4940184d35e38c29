//! The post-renderer inside the real Helm 3 and Helm 4, against a real broker: what users run.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{
    broker::Broker,
    helm::{run_ok, HelmHome},
    run::{fixture, manifest_values},
    tools::corpus_dir,
};

fn chart() -> PathBuf {
    fixture("charts/page-views")
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|v| v["kind"] == kind && v["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// Partition count per `system.stream` as the model's SSPs show it.
fn model_partitions(model: &Value) -> std::collections::BTreeMap<String, u32> {
    let mut seen: std::collections::BTreeMap<String, std::collections::BTreeSet<u64>> =
        Default::default();
    for container in model["containers"].as_object().unwrap().values() {
        for task in container["tasks"].as_object().unwrap().values() {
            for ssp in task["system-stream-partitions"].as_array().unwrap() {
                seen.entry(format!(
                    "{}.{}",
                    ssp["system"].as_str().unwrap(),
                    ssp["stream"].as_str().unwrap()
                ))
                .or_default()
                .insert(ssp["partition"].as_u64().unwrap());
            }
        }
    }
    seen.into_iter().map(|(k, v)| (k, v.len() as u32)).collect()
}

fn render_with_broker(version: u8, broker: &Broker, extra: &[&str]) -> Vec<Value> {
    let home = HelmHome::new(version);
    let mut args = vec![
        "--set".to_string(),
        format!("bootstrapServers={}", broker.bootstrap()),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = run_ok(&mut home.template(&chart(), &args));
    let text = String::from_utf8(out.stdout).unwrap();
    manifest_values(&text)
}

fn check_model_from_broker(version: u8) {
    let broker = Broker::start();
    broker.create_topic("PageViewEvent", 6);
    broker.create_topic("AdClickEvent", 3);
    let docs = render_with_broker(version, &broker, &[]);
    let cm = find(&docs, "ConfigMap", "samza-test-page-views-model");
    let model: Value =
        serde_json::from_str(cm["data"]["job-model.json"].as_str().unwrap()).unwrap();
    // The model's partitions are exactly the broker's.
    assert_eq!(
        model_partitions(&model),
        [
            ("kafka.AdClickEvent".to_string(), 3),
            ("kafka.PageViewEvent".to_string(), 6)
        ]
        .into()
    );
    assert_eq!(model["max-change-log-stream-partitions"], 6);
    let source = cm["metadata"]["annotations"]["samza.apache.org/partition-source"]
        .as_str()
        .unwrap();
    assert!(
        source.starts_with(&format!(
            "kafka: kafka (brokers {} at 20",
            broker.bootstrap()
        )),
        "{source}"
    );
    let workers = find(&docs, "StatefulSet", "samza-test-page-views");
    assert_eq!(workers["spec"]["replicas"], 2);
    let checksum = &cm["metadata"]["annotations"]["samza.apache.org/job-model-checksum"];
    assert_eq!(
        &workers["spec"]["template"]["metadata"]["annotations"]
            ["samza.apache.org/job-model-checksum"],
        checksum
    );
    let coordinator = find(&docs, "Deployment", "samza-test-page-views-coordinator");
    assert_eq!(
        &coordinator["spec"]["template"]["metadata"]["annotations"]
            ["samza.apache.org/job-model-checksum"],
        checksum
    );
    let topic = find(&docs, "KafkaTopic", "page-views-counts-changelog");
    assert_eq!(topic["spec"]["partitions"], 6);
    // The hook is passed on untouched (Helm 4 sends it to the post-renderer, Helm 3 prints it itself).
    let hook = find(&docs, "ConfigMap", "samza-test-pre-install-note");
    assert_eq!(hook["data"]["note"], "not a job config");
}

#[test]
fn helm3_template_fills_in_the_model_from_the_broker() {
    check_model_from_broker(3);
}

#[test]
fn helm4_template_fills_in_the_model_from_the_broker() {
    check_model_from_broker(4);
}

#[test]
fn helm4_files_the_model_under_the_config_template() {
    let broker = Broker::start();
    broker.create_topic("PageViewEvent", 2);
    broker.create_topic("AdClickEvent", 2);
    let home = HelmHome::new(4);
    let args = [
        "--set".to_string(),
        format!("bootstrapServers={}", broker.bootstrap()),
    ];
    let out = run_ok(&mut home.template(&chart(), &args));
    let text = String::from_utf8(out.stdout).unwrap();
    // Helm 4 re-prints `# Source:` from the filename annotation we set on the added document.
    let at = text
        .find("name: samza-test-page-views-model")
        .expect("model ConfigMap");
    let source_line = text[..at]
        .rfind("# Source: ")
        .map(|i| text[i..].lines().next().unwrap())
        .unwrap();
    assert_eq!(source_line, "# Source: page-views/templates/config.yaml");
    assert!(!text.contains("generated-by-postrender"), "{text}");
}

#[test]
fn port_forwarded_broker_still_gives_partition_counts() {
    // Advertised address unreachable, bootstrap address reachable: what `kubectl port-forward` gives.
    let broker = Broker::start_with_unreachable_advertised();
    broker.create_topic("PageViewEvent", 5);
    broker.create_topic("AdClickEvent", 5);
    for version in [3, 4] {
        let docs = render_with_broker(version, &broker, &[]);
        let cm = find(&docs, "ConfigMap", "samza-test-page-views-model");
        let model: Value =
            serde_json::from_str(cm["data"]["job-model.json"].as_str().unwrap()).unwrap();
        assert_eq!(
            model_partitions(&model)["kafka.PageViewEvent"],
            5,
            "Helm {version}"
        );
    }
}

#[test]
fn a_failure_reaches_helm3_users_on_stderr_and_helm4_users_through_last_error() {
    let broker = Broker::start();
    broker.create_topic("PageViewEvent", 2); // AdClickEvent is missing
    for version in [3, 4] {
        let home = HelmHome::new(version);
        let args = [
            "--set".to_string(),
            format!("bootstrapServers={}", broker.bootstrap()),
        ];
        let out = home.template(&chart(), &args).output().unwrap();
        assert!(!out.status.success(), "Helm {version} must fail");
        assert!(
            out.stdout.is_empty(),
            "Helm {version} printed a partial stream"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        if version == 3 {
            assert!(
                stderr.contains("AdClickEvent"),
                "Helm 3 shows our message: {stderr}"
            );
        }
        // Helm 4 swallows it; `helm samza last-error` shows it.
        let last = run_ok(&mut home.cmd(["samza", "last-error"]));
        let last = String::from_utf8_lossy(&last.stdout);
        assert!(last.contains("AdClickEvent"), "Helm {version}: {last}");
        assert!(last.contains("last-input.yaml"), "{last}");
    }
}

/// A chart whose templates print `stream` verbatim, split under Helm 4's 5 MiB file limit.
fn chart_of(stream: &str, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::create_dir_all(dir.join("files")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: corpus\nversion: 0.1.0\n",
    )
    .unwrap();
    let mut parts = vec![String::new()];
    for piece in stream.split_inclusive("\n---\n") {
        if parts.last().unwrap().len() + piece.len() > 3_000_000 {
            parts.push(String::new());
        }
        parts.last_mut().unwrap().push_str(piece);
    }
    for (i, part) in parts.iter().enumerate() {
        std::fs::write(dir.join(format!("files/part{i}.yaml")), part).unwrap();
        std::fs::write(
            dir.join(format!("templates/part{i}.yaml")),
            format!("{{{{ .Files.Get \"files/part{i}.yaml\" }}}}\n"),
        )
        .unwrap();
    }
    dir.to_path_buf()
}

fn cat_plugin(home: &HelmHome) {
    let dir = home.path().join("cat-postrender");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("plugin.yaml"),
        "apiVersion: v1\ntype: postrenderer/v1\nname: cat-postrender\nversion: 0.1.0\nruntime: subprocess\n\
         runtimeConfig:\n  platformCommand:\n    - command: /bin/cat\n",
    )
    .unwrap();
    home.install_plugin(&dir);
}

#[test]
fn corpus_charts_through_each_helm_equal_that_helm_with_cat() {
    let corpus = corpus_dir().join("charts");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .expect("the chart corpus is part of the repository")
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-helm3.yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 12, "the 12 corpus charts");
    for version in [3u8, 4] {
        let home = HelmHome::new(version);
        if version == 4 {
            cat_plugin(&home);
        }
        for file in &files {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let dir = chart_of(
                &std::fs::read_to_string(file).unwrap(),
                &home.path().join(&name),
            );
            let ours = run_ok(&mut home.template(&dir, &["--post-renderer-args", "--offline"]));
            let mut cat = home.cmd(["template", crate::support::helm::RELEASE]);
            cat.arg(&dir).arg("--post-renderer");
            cat.arg(if version == 3 {
                "/bin/cat"
            } else {
                "cat-postrender"
            });
            let cat = run_ok(&mut cat);
            assert!(
                ours.stdout == cat.stdout,
                "Helm {version}: {name} differs from cat"
            );
        }
    }
}

/// Helm 3 with the binary as `--post-renderer` and only post-render flags (no `post-render` word, the usual first
/// attempt): it post-renders instead of printing the whole help.
#[test]
fn helm3_runs_the_bare_binary_as_the_post_renderer() {
    let home = HelmHome::new(3);
    let binary = home.plugin_binary();
    let out = run_ok(home.cmd(["template", "samza-test"]).arg(chart()).args([
        "--post-renderer",
        binary.to_str().unwrap(),
        "--post-renderer-args",
        "--offline",
        "--post-renderer-args",
        "--partitions=kafka.PageViewEvent=4,kafka.AdClickEvent=4",
    ]));
    let text = String::from_utf8(out.stdout).unwrap();
    let docs = manifest_values(&text);
    let model = find(&docs, "ConfigMap", "samza-test-page-views-model");
    assert!(model["data"]["job-model.json"].is_string(), "{text}");
}

/// Completions and the man page come from the command-line definitions: every subcommand and flag is in them.
#[test]
fn completions_and_man_page_name_every_command() {
    use crate::support::run::Test;
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = Test::new().args(["completion", shell]).run();
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        for needle in ["post-render", "plan", "allow-unsafe", "helm-timeout"] {
            assert!(
                out.stdout_str().contains(needle),
                "{shell} completion lacks {needle}"
            );
        }
    }
    let man = Test::new().args(["man"]).run();
    assert_eq!(man.code, 0, "{}", man.stderr);
    for section in [
        "helm-samza 1",
        "helm-samza-plan 1",
        "helm-samza-post-render 1",
        "helm-samza-lock 1",
    ] {
        assert!(
            man.stdout_str().contains(&format!(".TH {section}")),
            "man lacks {section}"
        );
    }
    Test::new()
        .args(["completion", "tcsh"])
        .run()
        .fails(64, &["tcsh"]);
}
