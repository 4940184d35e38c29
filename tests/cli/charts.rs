//! The charts as users render them: `charts/check.sh` (helm lint --strict on Helm 3 and 4, kubernetes-validate
//! for 1.30 and 1.34, checkov, the post-renderer conventions) with every rendering going through helm-samza.

use crate::support::helm::run_ok;
use crate::support::tools::{repo_root, tools_dir, CHART_COUNTS as COUNTS};

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

/// The chart writes its changelog KafkaTopics (replicas, topic config) itself, in Go templates, so that it works
/// before helm-samza runs; helm-samza computes the same topics as Samza's `KafkaConfig` does. Both must agree:
/// each changelog KafkaTopic of the rendered chart is compared with helm-samza's `job.changelog_topics`,
/// rendered into an extra document of the same stream.
#[test]
fn chart_changelog_topics_agree_with_samzas_topic_settings() {
    use crate::support::helm::HelmHome;
    use serde_json::Value;

    let home = HelmHome::bare(4);
    let chart = repo_root().join("charts/samza-job");
    let extra = home.path().join("changelog-system.yaml");
    // A changelog system other than the store's: the Kafka defaults come from the job's changelog system.
    std::fs::write(
        &extra,
        "config:\n  job.changelog.system: other\n  systems.other.default.stream.replication.factor: 1\n  \
         systems.other.default.stream.max.message.bytes: 2000000\n",
    )
    .unwrap();
    // One line per topic: NAME RF PARTITIONS KEY=VALUE...
    let report = "---\napiVersion: v1\nkind: TopicReport\nmetadata:\n  name: report\n  annotations:\n    \
                  samza.apache.org/template: \"true\"\nspec:\n  topics: \"[% for t in job.changelog_topics %]\
                  [[ t.name ]] [[ t.replication_factor ]] [[ t.partitions ]]\
                  [% for k, v in t.properties | items %] [[ k ]]=[[ v ]][% endfor %];[% endfor %]\"\n";
    for values in [vec![], vec![extra.clone()]] {
        let mut cmd = home.cmd(["template", "rel"]);
        cmd.arg(&chart)
            .arg("-f")
            .arg(chart.join("ci/full-values.yaml"));
        for file in &values {
            cmd.arg("-f").arg(file);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stream = String::from_utf8(out.stdout).unwrap() + report;
        let rendered = crate::support::run::Test::new()
            .args(["post-render", "--offline", "--partitions", COUNTS])
            .stdin(stream)
            .run()
            .success();
        let docs = crate::support::run::manifest_values(rendered.stdout_str());
        let computed: Vec<Vec<String>> = docs
            .iter()
            .find(|d| d["kind"] == "TopicReport")
            .expect("the report")["spec"]["topics"]
            .as_str()
            .expect("the topics as text")
            .split(';')
            .filter(|line| !line.is_empty())
            .map(|line| line.split(' ').map(str::to_owned).collect())
            .collect();
        let topics: Vec<&Value> = docs
            .iter()
            .filter(|d| {
                d["kind"] == "KafkaTopic"
                    && d["metadata"]["labels"]["samza.apache.org/role"] == "changelog-topic"
            })
            .collect();
        assert!(!topics.is_empty(), "the chart rendered no changelog topic");
        for topic in topics {
            let name = topic["spec"]["topicName"]
                .as_str()
                .or(topic["metadata"]["name"].as_str())
                .unwrap();
            let ours = computed.iter().find(|t| t[0] == name).unwrap_or_else(|| {
                panic!("helm-samza computes no changelog topic {name}: {computed:?}")
            });
            assert_eq!(
                topic["spec"]["replicas"].to_string(),
                ours[1],
                "{name}: replicas ({values:?})"
            );
            assert_eq!(topic["spec"]["partitions"].to_string(), ours[2], "{name}");
            for property in &ours[3..] {
                let (key, value) = property.split_once('=').unwrap();
                assert_eq!(
                    topic["spec"]["config"][key].as_str(),
                    Some(value),
                    "{name}: {key} ({values:?})"
                );
            }
        }
    }
}

/// The coordinator runs the image `Dockerfile` builds: the chart names it (tag = the chart's appVersion) and runs
/// it as the user the image declares, non-root, read-only, no privilege escalation.
#[test]
fn the_coordinator_runs_the_dockerfiles_image_as_its_user() {
    use crate::support::helm::HelmHome;
    let home = HelmHome::bare(4);
    let chart = repo_root().join("charts/samza-job");
    let out = home.cmd(["template", "rel"]).arg(&chart).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let docs = crate::support::run::manifest_values(&text);
    let coordinator = docs
        .iter()
        .find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == "rel-samza-job-coordinator")
        .expect("the coordinator Deployment");
    let pod = &coordinator["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let chart_yaml = std::fs::read_to_string(chart.join("Chart.yaml")).unwrap();
    let app_version = chart_yaml
        .lines()
        .find_map(|l| l.strip_prefix("appVersion:"))
        .unwrap()
        .trim()
        .trim_matches('"');
    assert_eq!(
        container["image"],
        format!("helm-samza/helm-samza:{app_version}")
    );
    let dockerfile = std::fs::read_to_string(repo_root().join("Dockerfile")).unwrap();
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the image declares its user");
    let uid: u64 = user.split(':').next().unwrap().trim().parse().unwrap();
    assert_eq!(pod["securityContext"]["runAsUser"], uid);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    let entrypoint = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("ENTRYPOINT "))
        .expect("an entrypoint");
    assert!(entrypoint.contains("helm-samza"), "{entrypoint}");
    assert_eq!(container["args"][0], "coordinator");
}

/// The secured-Kafka example (SASL_SSL, SCRAM, a private CA): credentials and CA reach the workers and the
/// coordinator only as Secret references; the job config (and so the job model the coordinator serves) holds the
/// protocol and mechanism and nothing secret.
#[test]
fn secured_kafka_values_keep_secrets_in_secrets() {
    use crate::support::helm::HelmHome;
    let home = HelmHome::new(4);
    let chart = repo_root().join("charts/samza-job");
    let example = repo_root().join("examples/secured-kafka.yaml");
    let out = run_ok(
        home.template(&chart, &["-f", example.to_str().unwrap()])
            .env("HELM_SAMZA_OFFLINE", "true")
            .env("HELM_SAMZA_PARTITIONS", COUNTS),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let docs = crate::support::run::manifest_values(&text);
    assert!(
        !docs.iter().any(|d| d["kind"] == "Secret"),
        "the chart makes no Secret"
    );
    let config = docs
        .iter()
        .find(|d| d["metadata"]["name"] == "samza-test-samza-job-config")
        .expect("the config ConfigMap");
    let properties = config["data"]["job.properties"].as_str().unwrap();
    assert!(
        properties.contains("systems.kafka.consumer.security.protocol=SASL_SSL"),
        "{properties}"
    );
    assert!(
        properties.contains("systems.kafka.producer.sasl.mechanism=SCRAM-SHA-512"),
        "{properties}"
    );
    let model = docs
        .iter()
        .find(|d| d["metadata"]["labels"]["samza.apache.org/role"] == "model")
        .expect("the model ConfigMap");
    let served = model["data"]["job-model.json"].as_str().unwrap();
    for leak in ["password", "jaas", "username"] {
        assert!(
            !properties.contains(leak),
            "{leak} in the job config: {properties}"
        );
        assert!(!served.contains(leak), "{leak} in the served model");
    }
    let coordinator = docs
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("the coordinator");
    let env = coordinator["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .expect("coordinator env");
    let password = env
        .iter()
        .find(|e| e["name"] == "HELM_SAMZA_KAFKA_SASL_PASSWORD")
        .expect("the password variable");
    assert!(password.get("value").is_none());
    assert_eq!(
        password["valueFrom"]["secretKeyRef"]["name"],
        "page-views-kafka"
    );
    let worker = docs
        .iter()
        .find(|d| d["kind"] == "StatefulSet")
        .expect("the workers");
    let pod = &worker["spec"]["template"]["spec"];
    let java_opts = pod["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "JAVA_OPTS")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        java_opts.contains("-Djava.security.auth.login.config=/etc/samza/kafka-sasl/jaas.conf"),
        "{java_opts}"
    );
    let volumes = pod["volumes"].as_array().unwrap();
    let volume = |name: &str| {
        volumes
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    assert_eq!(
        volume("kafka-sasl")["secret"]["secretName"],
        "page-views-kafka"
    );
    assert_eq!(volume("kafka-ca")["secret"]["secretName"], "kafka-ca");
    assert_eq!(
        volume("extra-certs")["secret"]["secretName"],
        "page-views-extra-certs"
    );
}

/// `commonLabels` and `commonAnnotations` reach every object the chart renders (and its pods); the chart's own
/// labels win over a common one of the same name; the model ConfigMap the post-renderer adds carries the labels.
#[test]
fn common_labels_and_annotations_reach_every_object() {
    use crate::support::helm::HelmHome;

    let home = HelmHome::new(4);
    let chart = repo_root().join("charts/samza-job");
    let out = run_ok(
        home.template(
            &chart,
            &[
                "--set",
                "commonLabels.team=streams",
                "--set",
                "commonLabels.samza\\.apache\\.org/role=ignored",
                "--set",
                "commonAnnotations.owner=data-platform",
            ],
        )
        .env("HELM_SAMZA_OFFLINE", "true")
        .env("HELM_SAMZA_PARTITIONS", COUNTS),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let docs = crate::support::run::manifest_values(&text);
    assert!(docs.len() >= 10);
    for doc in &docs {
        let what = format!("{} {}", doc["kind"], doc["metadata"]["name"]);
        assert_eq!(doc["metadata"]["labels"]["team"], "streams", "{what}");
        assert_ne!(
            doc["metadata"]["labels"]["samza.apache.org/role"], "ignored",
            "{what}"
        );
        let model = doc["metadata"]["labels"]["samza.apache.org/role"] == "model";
        if !model {
            assert_eq!(
                doc["metadata"]["annotations"]["owner"], "data-platform",
                "{what}"
            );
        }
        if let Some(pod) = doc["spec"]["template"]["metadata"].as_object() {
            assert_eq!(pod["labels"]["team"], "streams", "{what}'s pods");
        }
    }
    assert!(docs
        .iter()
        .any(|d| d["metadata"]["labels"]["samza.apache.org/role"] == "model"));
}
