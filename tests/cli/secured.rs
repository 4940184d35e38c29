//! SASL and TLS client settings against a real broker process, through the real binary and its public settings
//! (`--kafka-config` files, `HELM_SAMZA_KAFKA_*` variables, the job config): counts come back over TLS, and every
//! refusal, by TLS or by SASL, is a clear error with exit code 12, nothing on stdout, and no secret in any output
//! or diagnostics file.
//!
//! What Tansu 0.6 (the broker here) allows: TLS only through a front (see `support::broker`), and no successful
//! SCRAM login at all. With in-memory storage it answers `tansu user create` with success but keeps no
//! credential, so every login ends in `e=unknown-user`; OAUTHBEARER logins are refused too. The SASL tests
//! therefore give a wrong password (the one case whose outcome does not depend on that) and check, from the
//! broker's log, that the user name and mechanism from the settings reached the broker.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::broker::Broker;
use crate::support::run::{fixture, Output, Test};
use helm_samza::manifest::Stream;

/// Short enough to keep the failing cases fast; a refused login still waits this long (librdkafka retries).
const TIMEOUT: &str = "2s";
/// A failure must come within the timeout, plus start-up and slack.
const WITHIN: Duration = Duration::from_secs(5);

const USER: &str = "samza";
const PASSWORD: &str = "right-Passw0rd-4d1f";
/// Unique enough that finding it anywhere means it leaked.
const WRONG_PASSWORD: &str = "wr0ng-Passw0rd-9b7e";

/// A broker holding the fixture job's inputs, with counts unlike any default.
fn with_inputs(broker: Broker) -> Broker {
    broker.create_topic("PageViewEvent", 6);
    broker.create_topic("AdClickEvent", 3);
    broker
}

/// A properties file in its own folder, apart from the run's TMPDIR, which is searched for leaks.
fn properties(lines: &[String]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a folder for client properties");
    let path = dir.path().join("client.properties");
    std::fs::write(&path, lines.join("\n") + "\n").expect("writing client properties");
    (dir, path)
}

fn post_render(broker: &Broker) -> Test {
    Test::new()
        .args(["post-render", "--kafka-timeout", TIMEOUT])
        .args([format!("--bootstrap-servers={}", broker.bootstrap())])
        .stdin_file(fixture("post-render/one-job-helm3.yaml"))
}

fn timed(test: Test) -> (Output, Duration) {
    let started = Instant::now();
    let out = test.run();
    (out, started.elapsed())
}

/// The job model added to the stream, and the partition source recorded on it.
fn model(out: &Output) -> (Value, String) {
    let stream = Stream::split(out.stdout_str());
    for doc in stream.documents() {
        if doc.head().expect("head parses").is_none() {
            continue;
        }
        let value = doc.value().expect("document parses");
        if value["kind"] == "ConfigMap" && value["metadata"]["name"] == "demo-page-views-model" {
            let json = value["data"]["job-model.json"]
                .as_str()
                .expect("model JSON");
            let source = value["metadata"]["annotations"]["samza.apache.org/partition-source"]
                .as_str()
                .expect("a partition source")
                .to_owned();
            return (
                serde_json::from_str(json).expect("the model parses"),
                source,
            );
        }
    }
    panic!("no model ConfigMap in the output:\n{}", out.stdout_str());
}

/// The broker's counts made the model: six tasks (PageViewEvent's partitions), each reading AdClickEvent's
/// partition of the same number when it has one.
fn assert_counts_from(out: &Output, broker: &Broker) {
    let (model, source) = model(out);
    assert!(
        source.starts_with(&format!("kafka: kafka (brokers {} at ", broker.bootstrap())),
        "{source}"
    );
    let tasks: Vec<&Value> = ["0", "1"]
        .iter()
        .flat_map(|container| {
            model["containers"][container]["tasks"]
                .as_object()
                .expect("tasks")
                .values()
        })
        .collect();
    assert_eq!(tasks.len(), 6, "{model}");
    assert_eq!(model["max-change-log-stream-partitions"], 6);
    let inputs: usize = tasks
        .iter()
        .map(|task| task["system-stream-partitions"].as_array().unwrap().len())
        .sum();
    assert_eq!(inputs, 6 + 3, "{model}");
}

/// `secret` is nowhere in the run's stdout, stderr or any file it left under its TMPDIR (the diagnostics), and
/// the diagnostics were written.
fn assert_never_shown(out: &Output, secret: &str) {
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(secret),
        "stdout shows the secret"
    );
    assert!(
        !out.stderr.contains(secret),
        "stderr shows the secret:\n{}",
        out.stderr
    );
    let files = files_under(out.tmp.path());
    assert!(
        files
            .iter()
            .any(|file| file.ends_with("helm-samza/last-error.log"))
            && files
                .iter()
                .any(|file| file.ends_with("helm-samza/last-input.yaml")),
        "the diagnostics were not written: {files:?}"
    );
    for file in files {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(
            !text.contains(secret),
            "{} shows the secret",
            file.display()
        );
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Tansu logged a login attempt by `USER` with `mechanism` (`Scram256`, `Scram512`).
fn assert_broker_saw_login(broker: &Broker, mechanism: &str) {
    let seen = format!("auth_id=\"{USER}\" mechanism={mechanism}");
    assert!(
        broker.log().contains(&seen),
        "the broker saw no {seen}:\n{}",
        broker.log()
    );
}

fn assert_refused_login(out: Output, took: Duration, broker: &Broker) {
    let out = out.fails(
        12,
        &[
            &format!(
                "system `kafka`: SASL authentication with {} failed",
                broker.bootstrap()
            ),
            "SCRAM authentication failed",
            "check sasl.mechanisms, sasl.username and sasl.password",
        ],
    );
    assert!(
        !out.stderr.contains("no broker answered"),
        "a refused login is not an unreachable broker:\n{}",
        out.stderr
    );
    assert!(took < WITHIN, "gave up after {took:?}");
    assert_never_shown(&out, WRONG_PASSWORD);
}

#[test]
fn tls_with_the_brokers_ca_gives_its_counts() {
    let broker = with_inputs(Broker::builder().tls().start());
    let ca = broker.ca_file();

    let (_dir, file) = properties(&[
        "security.protocol=ssl".into(),
        format!("ssl.ca.location={}", ca.display()),
    ]);
    let out = post_render(&broker)
        .args([format!("--kafka-config={}", file.display())])
        .run()
        .success();
    assert_counts_from(&out, &broker);

    let out = post_render(&broker)
        .env("HELM_SAMZA_KAFKA_SECURITY_PROTOCOL", "SSL")
        .env(
            "HELM_SAMZA_KAFKA_SSL_CA_LOCATION",
            &ca.display().to_string(),
        )
        .run()
        .success();
    assert_counts_from(&out, &broker);
}

#[test]
fn tls_without_the_brokers_ca_is_a_clear_error_within_the_timeout() {
    let broker = with_inputs(Broker::builder().tls().start());
    let (out, took) = timed(post_render(&broker).env("HELM_SAMZA_KAFKA_SECURITY_PROTOCOL", "ssl"));
    let out = out.fails(
        12,
        &[
            &format!(
                "system `kafka`: TLS handshake with {} failed",
                broker.bootstrap()
            ),
            "certificate verify failed",
            "check ssl.ca.location",
        ],
    );
    assert!(!out.stderr.contains("no broker answered"), "{}", out.stderr);
    assert!(took < WITHIN, "gave up after {took:?}");
}

#[test]
fn sasl_scram_sha_512_from_a_settings_file_refused_is_a_clear_error_that_shows_no_password() {
    let broker = with_inputs(Broker::builder().authentication().start());
    broker.create_user(USER, PASSWORD, "scram512");
    let (_dir, file) = properties(&[
        "security.protocol=SASL_PLAINTEXT".into(),
        "sasl.mechanisms=SCRAM-SHA-512".into(),
        format!("sasl.username={USER}"),
        format!("sasl.password={WRONG_PASSWORD}"),
    ]);
    let (out, took) =
        timed(post_render(&broker).args([format!("--kafka-config={}", file.display())]));
    assert_refused_login(out, took, &broker);
    assert_broker_saw_login(&broker, "Scram512");

    // The same file through HELM_SAMZA_KAFKA_CONFIG.
    let (out, took) =
        timed(post_render(&broker).env("HELM_SAMZA_KAFKA_CONFIG", &file.display().to_string()));
    assert_refused_login(out, took, &broker);
}

/// The mechanism from the job config (as Samza's Java consumer reads it), the credentials from the environment.
#[test]
fn sasl_scram_sha_256_from_the_job_config_and_environment_refused_shows_no_password() {
    let broker = with_inputs(Broker::builder().authentication().start());
    broker.create_user(USER, PASSWORD, "scram256");
    let input = std::fs::read_to_string(fixture("post-render/one-job-helm3.yaml")).unwrap();
    let secured = input.replace(
        "    systems.kafka.producer.bootstrap.servers=kafka:9092\n",
        "    systems.kafka.producer.bootstrap.servers=kafka:9092\n    \
         systems.kafka.consumer.security.protocol=SASL_PLAINTEXT\n    \
         systems.kafka.consumer.sasl.mechanism=SCRAM-SHA-256\n",
    );
    assert_ne!(secured, input, "the fixture's job config moved");
    let (out, took) = timed(
        post_render(&broker)
            .stdin(secured)
            .env("HELM_SAMZA_KAFKA_SASL_USERNAME", USER)
            .env("HELM_SAMZA_KAFKA_SASL_PASSWORD", WRONG_PASSWORD),
    );
    assert_refused_login(out, took, &broker);
    assert_broker_saw_login(&broker, "Scram256");
}

/// SASL over TLS: the handshake succeeds with the CA, so the refusal is the login's; without the CA it is the
/// handshake's, and no login is tried.
#[test]
fn sasl_ssl_refusals_name_the_layer_that_refused() {
    let broker = with_inputs(Broker::builder().authentication().tls().start());
    broker.create_user(USER, PASSWORD, "scram512");
    let sasl = [
        "security.protocol=SASL_SSL".to_owned(),
        "sasl.mechanisms=SCRAM-SHA-512".into(),
        format!("sasl.username={USER}"),
        format!("sasl.password={WRONG_PASSWORD}"),
    ];
    let (_dir, with_ca) = properties(
        &[
            &sasl[..],
            &[format!("ssl.ca.location={}", broker.ca_file().display())],
        ]
        .concat(),
    );
    let (out, took) =
        timed(post_render(&broker).args([format!("--kafka-config={}", with_ca.display())]));
    assert_refused_login(out, took, &broker);
    assert_broker_saw_login(&broker, "Scram512");

    let (_dir, without_ca) = properties(&sasl);
    let (out, took) =
        timed(post_render(&broker).args([format!("--kafka-config={}", without_ca.display())]));
    let out = out.fails(12, &["TLS handshake with", "certificate verify failed"]);
    assert!(took < WITHIN, "gave up after {took:?}");
    assert_never_shown(&out, WRONG_PASSWORD);
}

/// librdkafka quotes the value of a property it refuses; a password under a misspelt key, a token in the OAUTHBEARER
/// extensions or a secret under the wrong key is still a secret: the error names the property, never its value
/// (`--kafka-config` file and `HELM_SAMZA_KAFKA_*` variable alike).
#[test]
fn a_refused_property_never_shows_its_value() {
    let broker = with_inputs(Broker::start());
    // (the client properties, the property the error must name, the secret it must not show)
    let cases: [(&[&str], &str, &str); 3] = [
        (
            &["sasl.pasword=S3cr3t-typo-71c2"],
            "sasl.pasword",
            "S3cr3t-typo-71c2",
        ),
        (
            &["sasl.oauthbearer.extensions=token=S3cr3t-ext-5a90"],
            "sasl.oauthbearer.extensions",
            "S3cr3t-ext-5a90",
        ),
        (
            &[
                "security.protocol=SASL_PLAINTEXT",
                "sasl.mechanisms=S3cr3t-mech-0e4b",
            ],
            "SASL mechanism",
            "S3cr3t-mech-0e4b",
        ),
    ];
    for (lines, named, secret) in cases {
        let lines: Vec<String> = lines.iter().map(|line| line.to_string()).collect();
        let (_dir, file) = properties(&lines);
        let from_file = post_render(&broker)
            .args([format!("--kafka-config={}", file.display())])
            .run()
            .fails(12, &[named]);
        assert_never_shown(&from_file, secret);

        let mut from_env = post_render(&broker);
        for line in &lines {
            let (key, value) = line.split_once('=').unwrap();
            let variable = format!(
                "HELM_SAMZA_KAFKA_{}",
                key.replace('.', "_").to_ascii_uppercase()
            );
            from_env = from_env.env(&variable, value);
        }
        let from_env = from_env.run().fails(12, &[named]);
        assert_never_shown(&from_env, secret);
    }
}
