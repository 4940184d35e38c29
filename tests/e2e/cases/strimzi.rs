//! The chart's KafkaTopics against the KafkaTopic CRD of Strimzi 1.2 (serves only `kafka.strimzi.io/v1`) and of
//! Strimzi 0.51 (serves `v1` and the deprecated `v1beta2`), each actually installed on the API server, so that
//! Helm reads the served versions from the server as it does on `install`/`upgrade`.

use serde_json::Value;

use super::{get_json, sets, text, Release};
use crate::Env;

const CRD: &str = "kafkatopics.kafka.strimzi.io";
const STRIMZI_1: &str = "043-Crd-kafkatopic-strimzi-1.2.0.yaml";
/// The suite's baseline KafkaTopic CRD, put back at the end.
const STRIMZI_0: &str = "043-Crd-kafkatopic-strimzi-0.51.0.yaml";

pub fn api_version_follows_the_served_crd(env: &Env) {
    let topic = "strimzi-in";
    env.broker.create_topic(topic, 3);
    // The loop ends with the baseline CRD installed; when it fails half-way, this puts it back for the cases that
    // run after this one (best effort: a second panic while unwinding would abort the suite).
    struct Restore<'a>(&'a Env);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                let (plane, file) = (&self.0.plane, self.0.crd(STRIMZI_0));
                let _ = plane
                    .kubectl(["delete", "crd", CRD, "--timeout=60s"])
                    .output();
                let _ = plane
                    .kubectl(["apply", "--server-side", "-f"])
                    .arg(&file)
                    .output();
                let _ = plane
                    .kubectl(["wait", "--for=condition=Established", "--timeout=30s", "-f"])
                    .arg(&file)
                    .output();
            }
        }
    }
    let _restore = Restore(env);

    for (crd, served_v1beta2) in [(STRIMZI_1, false), (STRIMZI_0, true)] {
        env.plane.replace_crd(CRD, &env.crd(crd));
        for version in [3, 4] {
            let release = Release::samza_job(env, version, "strimzi", &[]);
            let inputs = format!("{{kafka.{topic}}}");
            let args = sets(&[
                ("job.inputs", &inputs),
                ("job.bootstrapServers", &env.broker.bootstrap()),
                (
                    "job.stores.counts.changelog",
                    "kafka.strimzi-counts-changelog",
                ),
                ("strimzi.changelogTopics", "true"),
                ("strimzi.internalTopics", "true"),
            ]);
            let out = release.deploy_ok("install", &args);
            assert!(
                !text(&out).contains("deprecated"),
                "{crd}: the API server warned: {}",
                text(&out)
            );
            let manifest = release.helm_ok(&["get", "manifest", release.name]);
            let manifest = String::from_utf8_lossy(&manifest.stdout);
            assert!(
                manifest.contains("apiVersion: kafka.strimzi.io/v1\n")
                    && !manifest.contains("kafka.strimzi.io/v1beta2"),
                "{crd}, Helm {version}: the chart did not choose kafka.strimzi.io/v1:\n{manifest}"
            );
            let topics = get_json(
                env,
                &release.namespace,
                &["kafkatopics.v1.kafka.strimzi.io"],
            );
            let topics: Vec<&Value> = topics["items"].as_array().unwrap().iter().collect();
            assert_eq!(
                topics.len(),
                3,
                "changelog, coordinator and checkpoint topics"
            );
            let changelog = topics
                .iter()
                .find(|t| t["spec"]["topicName"] == "strimzi-counts-changelog")
                .expect("the changelog KafkaTopic");
            // The post-renderer filled in the model's changelog partition count: one per input partition.
            assert_eq!(changelog["spec"]["partitions"], 3, "{changelog}");

            // The old hard-coded version: refused by Strimzi 1.x, accepted with a warning by 0.51.
            let old = Release::samza_job(env, version, "strimzi-v1beta2", &[]);
            let pinned = [
                args.clone(),
                sets(&[("strimzi.apiVersion", "kafka.strimzi.io/v1beta2")]),
            ]
            .concat();
            let out = old.deploy("install", &pinned);
            if served_v1beta2 {
                assert!(
                    out.status.success(),
                    "{crd}: v1beta2 refused: {}",
                    text(&out)
                );
                assert!(
                    text(&out).contains("v1beta2 of the KafkaTopic API is deprecated"),
                    "{crd}, Helm {version}: no deprecation warning for v1beta2: {}",
                    text(&out)
                );
            } else {
                assert!(
                    !out.status.success()
                        && text(&out).contains(
                            "no matches for kind \"KafkaTopic\" in version \"kafka.strimzi.io/v1beta2\""
                        ),
                    "{crd}, Helm {version}: v1beta2 was not refused: {}",
                    text(&out)
                );
            }
        }
    }
}
