//! Finding Samza jobs in a rendered manifest stream, by the labels documented in `docs/conventions.md`.
//!
//! A job is a ConfigMap holding its Samza config (`samza.apache.org/role: config`) and one worker StatefulSet
//! (`role: worker`), optionally standby worker StatefulSets (`samza.apache.org/standby-replica: "R"`), a
//! coordinator Deployment (`role: coordinator`) and resources that opt into templating
//! (`samza.apache.org/template: "true"`), all carrying `samza.apache.org/job: NAME`. Documents without these
//! labels are not looked at beyond a substring check, so the scan costs almost nothing on large streams.
//! Helm hooks are never part of a job: Helm 3 does not send them and Helm 4 does, so skipping them makes both
//! versions see the same jobs.

use std::collections::BTreeMap;

use crate::{
    error::Result,
    manifest::{Document, Head, Stream},
};

/// Every label and annotation helm-samza reads starts with this.
pub const LABEL_PREFIX: &str = "samza.apache.org/";
pub const LABEL_JOB: &str = "samza.apache.org/job";
pub const LABEL_ROLE: &str = "samza.apache.org/role";
pub const LABEL_STANDBY: &str = "samza.apache.org/standby-replica";
pub const ANNOTATION_TEMPLATE: &str = "samza.apache.org/template";
pub const ANNOTATION_MODEL_CONFIGMAP: &str = "samza.apache.org/model-configmap";
pub const ANNOTATION_CHECKSUM: &str = "samza.apache.org/job-model-checksum";
pub const ANNOTATION_SOURCE: &str = "samza.apache.org/partition-source";
pub const ANNOTATION_SYSTEM: &str = "samza.apache.org/system";
/// Strimzi's label naming the Kafka cluster a `KafkaTopic` belongs to.
pub const LABEL_STRIMZI_CLUSTER: &str = "strimzi.io/cluster";
pub const ANNOTATION_ALLOW_UNSAFE: &str = "samza.apache.org/allow-unsafe";
/// On the config ConfigMap: `"true"` when Helm renders an upgrade (`.Release.IsUpgrade`), so the safety gate
/// refuses a job with state whose previous state is unknown.
pub const ANNOTATION_HELM_UPGRADE: &str = "samza.apache.org/helm-upgrade";
/// The data keys a config ConfigMap may hold the Samza config in.
pub const CONFIG_KEY_PROPERTIES: &str = "job.properties";
pub const CONFIG_KEY_YAML: &str = "job.yaml";
pub const CONFIG_KEY_LOCK: &str = "samza.lock";
pub const MODEL_KEY: &str = "job-model.json";
pub const MODEL_KEY_COMPRESSED: &str = "job-model.json.gz";
/// A model split over several ConfigMaps: the index (in the model ConfigMap) and each part's key (`…part-N`).
pub const MODEL_KEY_INDEX: &str = "job-model.index.json";
pub const MODEL_KEY_PART_PREFIX: &str = "job-model.json.gz.part-";
/// A model carried as its inputs, computed again by the coordinator (`model_inputs`).
pub const MODEL_KEY_INPUTS: &str = "job-model.inputs.json";
/// `samza.apache.org/role` of a ConfigMap holding one part of a split model.
pub const ROLE_MODEL_PART: &str = "model-part";
/// How the job's model is carried (`auto`, `inline`, `parts`, `inputs`), on the config ConfigMap: wins over
/// `--model-layout`.
pub const ANNOTATION_MODEL_LAYOUT: &str = "samza.apache.org/model-layout";

/// One worker StatefulSet of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    pub index: usize,
    /// `None` for the active workers; `Some(r)` for standby replica `r` (container ids `C-r`).
    pub standby: Option<u32>,
}

/// The documents (by stream index) that make up one job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobDocs {
    pub name: String,
    pub configs: Vec<usize>,
    pub workers: Vec<Worker>,
    pub coordinators: Vec<usize>,
    pub templated: Vec<usize>,
    /// Job-model ConfigMaps already in the stream (`role: model`): the stream went through helm-samza before.
    pub models: Vec<usize>,
    /// Parts of a model split over several ConfigMaps (`role: model-part`), from an earlier pass too.
    pub model_parts: Vec<usize>,
}

/// A Strimzi KafkaTopic found in the same render: partition counts known without asking Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaTopicResource {
    pub index: usize,
    /// `metadata.name`, for messages.
    pub name: String,
    /// From the `samza.apache.org/system` annotation; `None` leaves it to `cluster`.
    pub system: Option<String>,
    /// From the `strimzi.io/cluster` label: matched against the Strimzi cluster a system's bootstrap servers
    /// name (see [`strimzi_cluster`]).
    pub cluster: Option<String>,
    pub topic: String,
    pub partitions: u32,
}

#[derive(Debug, Default)]
pub struct Scan {
    /// Parsed heads of the candidate documents, by stream index.
    pub heads: BTreeMap<usize, Head>,
    pub jobs: BTreeMap<String, JobDocs>,
    pub kafka_topics: Vec<KafkaTopicResource>,
    /// Templated resources without a job label (they get the only job's plan, or every job's by name).
    pub templated_unowned: Vec<usize>,
}

/// Looks at every document once: a substring pre-filter, then a head parse of the few candidates.
pub fn scan(stream: &Stream) -> Result<Scan> {
    let mut scan = Scan::default();
    for (index, doc) in stream.documents().iter().enumerate() {
        let samza = doc.mentions(LABEL_PREFIX);
        let strimzi = doc.kind_hint() == Some("KafkaTopic") || doc.mentions("kind: KafkaTopic");
        if !samza && !strimzi {
            continue;
        }
        let Some(head) = doc.head()? else { continue };
        if head.is_hook {
            continue;
        }
        if head.kind == "KafkaTopic" && head.api_version.starts_with("kafka.strimzi.io/") {
            if let Some(topic) = kafka_topic(index, doc, &head)? {
                scan.kafka_topics.push(topic);
            }
        }
        if samza {
            classify(&mut scan, index, &head);
        }
        scan.heads.insert(index, head);
    }
    Ok(scan)
}

fn classify(scan: &mut Scan, index: usize, head: &Head) {
    let templated = head
        .annotations
        .get(ANNOTATION_TEMPLATE)
        .is_some_and(|v| v == "true");
    let Some(job) = head.labels.get(LABEL_JOB) else {
        if templated {
            scan.templated_unowned.push(index);
        }
        return;
    };
    let entry = scan.jobs.entry(job.clone()).or_insert_with(|| JobDocs {
        name: job.clone(),
        ..JobDocs::default()
    });
    match (
        head.labels.get(LABEL_ROLE).map(String::as_str),
        head.kind.as_str(),
    ) {
        (Some("config"), "ConfigMap") => entry.configs.push(index),
        (Some("worker"), "StatefulSet") => entry.workers.push(Worker {
            index,
            standby: head.labels.get(LABEL_STANDBY).and_then(|r| r.parse().ok()),
        }),
        (Some("coordinator"), "Deployment" | "StatefulSet") => entry.coordinators.push(index),
        (Some("model"), "ConfigMap") => entry.models.push(index),
        (Some(ROLE_MODEL_PART), "ConfigMap") => entry.model_parts.push(index),
        _ => {}
    }
    if templated {
        entry.templated.push(index);
    }
}

/// `None` for a KafkaTopic whose partition count is itself a template (a topic sized by the model, not a fact).
fn kafka_topic(index: usize, doc: &Document, head: &Head) -> Result<Option<KafkaTopicResource>> {
    let value = doc.value()?;
    let spec = value.get("spec");
    if spec
        .and_then(|s| s.get("partitions"))
        .and_then(serde_json::Value::as_str)
        .is_some_and(crate::template::TemplateEngine::is_template)
    {
        return Ok(None);
    }
    let topic = spec
        .and_then(|s| s.get("topicName"))
        .and_then(|t| t.as_str())
        .unwrap_or(&head.name)
        .to_string();
    // Strimzi makes spec.partitions optional (the broker's default applies): such a topic is no fact for us.
    let Some(partitions) = spec
        .and_then(|s| s.get("partitions"))
        .and_then(serde_json::Value::as_u64)
        .filter(|&p| p > 0 && p <= u64::from(u32::MAX))
    else {
        return Ok(None);
    };
    Ok(Some(KafkaTopicResource {
        index,
        name: head.name.clone(),
        system: head.annotations.get(ANNOTATION_SYSTEM).cloned(),
        cluster: head.labels.get(LABEL_STRIMZI_CLUSTER).cloned(),
        topic,
        partitions: partitions as u32,
    }))
}

/// The Strimzi cluster a bootstrap server names, from the Services Strimzi creates for cluster `C`:
/// `C-kafka-bootstrap` and `C-kafka-brokers`, bare or qualified (`C-kafka-bootstrap.NS.svc:9092`).
pub fn strimzi_cluster(server: &str) -> Option<&str> {
    // Kafka clients accept a listener-name prefix: `SSL://host:port`.
    let server = server.split_once("://").map_or(server, |(_, rest)| rest);
    let host = server.rsplit_once(':').map_or(server, |(host, _)| host);
    let service = host.split('.').next().unwrap_or(host);
    ["-kafka-bootstrap", "-kafka-brokers"]
        .iter()
        .find_map(|suffix| service.strip_suffix(suffix))
        .filter(|cluster| !cluster.is_empty())
}

/// Whether a `KafkaTopic` speaks for `system`. The `samza.apache.org/system` annotation decides when present.
/// Otherwise a topic labelled for Strimzi cluster `C` applies unless the system's bootstrap servers in the job
/// config (`systems.S.consumer.bootstrap.servers`, else the producer's) name Strimzi clusters and `C` is not
/// among them; a system whose servers name no Strimzi cluster (or that has none) takes every topic.
pub fn kafka_topic_applies(
    resource: &KafkaTopicResource,
    system: &str,
    job_config: &indexmap::IndexMap<String, String>,
) -> bool {
    if let Some(annotated) = &resource.system {
        return annotated == system;
    }
    let Some(cluster) = &resource.cluster else {
        return true;
    };
    let servers = ["consumer", "producer"]
        .iter()
        .find_map(|side| job_config.get(&format!("systems.{system}.{side}.bootstrap.servers")));
    let named: Vec<&str> = servers
        .map(|list| {
            list.split(',')
                .filter_map(|s| strimzi_cluster(s.trim()))
                .collect()
        })
        .unwrap_or_default();
    named.is_empty() || named.contains(&cluster.as_str())
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;

    use super::*;

    #[test]
    fn strimzi_cluster_comes_from_the_service_name() {
        for (server, cluster) in [
            ("my-cluster-kafka-bootstrap:9092", Some("my-cluster")),
            (
                "my-cluster-kafka-bootstrap.kafka.svc:9093",
                Some("my-cluster"),
            ),
            ("east-kafka-brokers.ns.svc.cluster.local:9092", Some("east")),
            ("my-cluster-kafka-bootstrap", Some("my-cluster")),
            (
                "SSL://my-cluster-kafka-bootstrap.kafka.svc:9093",
                Some("my-cluster"),
            ),
            ("-kafka-bootstrap:9092", None),
            ("kafka.example.com:9092", None),
            ("127.0.0.1:9092", None),
            ("my-cluster-kafka-0.my-cluster-kafka-brokers:9092", None),
        ] {
            assert_eq!(strimzi_cluster(server), cluster, "{server}");
        }
    }

    #[test]
    fn a_kafka_topic_applies_by_annotation_then_by_strimzi_cluster() {
        let resource = |system: Option<&str>, cluster: Option<&str>| KafkaTopicResource {
            index: 0,
            name: "t".into(),
            system: system.map(str::to_owned),
            cluster: cluster.map(str::to_owned),
            topic: "t".into(),
            partitions: 1,
        };
        let config: IndexMap<String, String> = [
            (
                "systems.east.consumer.bootstrap.servers",
                "a-kafka-bootstrap:9092, b-kafka-bootstrap.ns:9092",
            ),
            (
                "systems.west.producer.bootstrap.servers",
                "west-kafka-bootstrap:9092",
            ),
            ("systems.plain.consumer.bootstrap.servers", "10.0.0.1:9092"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let cases = [
            (resource(Some("west"), Some("a")), "east", false),
            (resource(Some("east"), Some("zzz")), "east", true),
            (resource(None, None), "east", true),
            (resource(None, Some("a")), "east", true),
            (resource(None, Some("b")), "east", true),
            (resource(None, Some("west")), "east", false),
            (resource(None, Some("west")), "west", true),
            (resource(None, Some("a")), "west", false),
            (resource(None, Some("a")), "plain", true),
            (resource(None, Some("a")), "unconfigured", true),
        ];
        for (resource, system, applies) in cases {
            assert_eq!(
                kafka_topic_applies(&resource, system, &config),
                applies,
                "{resource:?} for {system}"
            );
        }
    }
}
