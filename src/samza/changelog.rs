//! Changelog partition numbering and the Kafka topics a Samza job needs before its containers start
//! (spec section 3): store changelogs (+ access logs), the coordinator stream and the Kafka checkpoint topic.
//!
//! Numbering mirrors `JobModelCalculator`: a stored task → partition mapping wins forever, new task names
//! (in name order) get `max + 1, max + 2, …`, and nothing is ever dropped from the stored mapping. Topic
//! specs mirror `ChangelogStreamManager`, `KafkaConfig` and `CoordinatorStreamUtil`/`KafkaUtil`.

use std::collections::BTreeMap;

use indexmap::IndexMap;

use super::config::{self, Config};
use super::SamzaError;

/// Why a topic exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicPurpose {
    Changelog { store: String },
    AccessLog { store: String },
    CoordinatorStream,
    Checkpoint,
}

/// A topic Samza would create (or validate) for the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub system: String,
    pub name: String,
    pub partitions: u32,
    pub replication_factor: u32,
    /// Topic-level properties in the order Samza sets them.
    pub properties: IndexMap<String, String>,
    pub purpose: TopicPurpose,
}

/// Changelog partitions for `tasks` (Java name order): stored numbers are kept; unseen names get
/// `max(stored) + 1, + 2, …` in order. Returns one number per task.
pub fn number_tasks(tasks: &[&str], stored: &BTreeMap<String, u32>) -> Vec<u32> {
    // -1 when nothing is stored, so the first new task gets 0.
    let mut max: i64 = stored.values().max().map_or(-1, |&m| m as i64);
    tasks
        .iter()
        .map(|t| match stored.get(*t) {
            Some(&p) => p,
            None => {
                max += 1;
                max as u32
            }
        })
        .collect()
}

/// The mapping Samza writes back after a plan: `merge(new, previous)` with previous entries winning and
/// never removed (`ClusterBasedJobCoordinator`).
pub fn merged_mapping<'a>(
    stored: &BTreeMap<String, u32>,
    tasks: impl Iterator<Item = (&'a str, u32)>,
) -> BTreeMap<String, u32> {
    let fresh: Vec<(String, u32)> = tasks
        .filter(|(name, _)| !stored.contains_key(*name))
        .map(|(name, p)| (name.to_string(), p))
        .collect();
    if stored.is_empty() {
        // Bulk-building a BTreeMap (sort, then load) is much faster than 100,000 single inserts.
        return fresh.into_iter().collect();
    }
    let mut out = stored.clone();
    out.extend(fresh);
    out
}

fn parse_u32(key: &str, value: &str) -> Result<u32, SamzaError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| SamzaError::Config {
            key: key.to_string(),
            message: format!("value '{value}' is not a positive whole number. Set it to e.g. 3."),
        })
}

/// First configured value of `keys`, with the key it came from.
fn first_of<'a>(config: &'a Config, keys: &[String]) -> Option<(String, &'a str)> {
    keys.iter()
        .find_map(|k| config.get(k).map(|v| (k.clone(), v)))
}

fn replication_factor(config: &Config, keys: &[String], default: u32) -> Result<u32, SamzaError> {
    match first_of(config, keys) {
        Some((key, value)) => parse_u32(&key, value),
        None => Ok(default),
    }
}

fn split_system_stream(name: &str) -> (&str, &str) {
    name.split_once('.').unwrap_or(("", name))
}

/// `ChangelogStreamManager#createChangelogStreams` + `KafkaConfig#getChangelogKafkaProperties`: one topic
/// per store with a changelog, with `partitions` = the model's max-change-log-stream-partitions.
pub fn changelog_topics(config: &Config, partitions: u32) -> Result<Vec<TopicSpec>, SamzaError> {
    let mut out = Vec::new();
    let transactional = config.transactional_state_restore_enabled()?;
    for store in config.store_names() {
        let Some(full) = config.store_changelog(store)? else {
            continue;
        };
        let (system, stream) = split_system_stream(&full);
        // Kafka's defaults for the topic come from the job's changelog system (`job.changelog.system` →
        // `job.default.system`, `KafkaConfig#getDefaultChangelogStreamReplicationFactor`), not from the system
        // this store's changelog names; with neither set Samza looks up `systems.null.…`, which is never set.
        let defaults_system = config.changelog_system().unwrap_or("null");
        let mut props = IndexMap::new();
        let s = |suffix: &str| format!("stores.{store}.{suffix}");
        let ttl = config.get(&s("rocksdb.ttl.ms"));
        // A negative TTL means "no TTL" for RocksDB; only a real TTL turns compaction off.
        let ttl_set = ttl.is_some_and(|v| v.trim().parse::<i64>().map_or(true, |n| n >= 0));
        if let (true, Some(ttl)) = (ttl_set, ttl) {
            if !config.contains_key(&s("changelog.kafka.cleanup.policy")) {
                props.insert("cleanup.policy".to_string(), "delete".to_string());
                if !config.contains_key(&s("changelog.kafka.retention.ms")) {
                    props.insert("retention.ms".to_string(), ttl.to_string());
                }
            }
        } else {
            props.insert("cleanup.policy".to_string(), "compact".to_string());
            let max_bytes = config
                .get(&s("changelog.max.message.bytes"))
                .or_else(|| {
                    config.system_default_stream_property(defaults_system, "max.message.bytes")
                })
                .unwrap_or("1000012");
            props.insert("max.message.bytes".to_string(), max_bytes.to_string());
        }
        props.insert("segment.bytes".to_string(), "536870912".to_string());
        let delete_retention = config.get_long(&s("changelog.delete.retention.ms"), 86_400_000)?;
        props.insert(
            "delete.retention.ms".to_string(),
            delete_retention.to_string(),
        );
        if transactional {
            let kafka_key = s("changelog.kafka.min.compaction.lag.ms");
            if config.contains_key(&kafka_key) {
                return Err(SamzaError::Config {
                    key: kafka_key,
                    message: format!(
                        "Use {} to set kafka min.compaction.lag.ms property. Move the value to that key.",
                        s("changelog.min.compaction.lag.ms")
                    ),
                });
            }
            let default_lag =
                config.get_long("stores.default.changelog.min.compaction.lag.ms", 14_400_000)?;
            let lag = config.get_long(&s("changelog.min.compaction.lag.ms"), default_lag)?;
            props.insert("min.compaction.lag.ms".to_string(), lag.to_string());
        }
        let kafka_prefix = s("changelog.kafka.");
        for (k, v) in config.subset(&kafka_prefix) {
            props.insert(k.to_string(), v.to_string());
        }
        let rf = replication_factor(
            config,
            &[
                s("changelog.replication.factor"),
                "stores.default.changelog.replication.factor".to_string(),
                format!("systems.{defaults_system}.default.stream.replication.factor"),
            ],
            2,
        )?;
        out.push(TopicSpec {
            system: system.to_string(),
            name: stream.to_string(),
            partitions,
            replication_factor: rf,
            properties: props,
            purpose: TopicPurpose::Changelog {
                store: store.to_string(),
            },
        });
        if config.get_bool(&s("accesslog.enabled"), false) {
            // Samza creates the access log from a bare StreamSpec; the system's default stream settings apply.
            let mut props = IndexMap::new();
            for (k, v) in config.subset(&format!("systems.{system}.default.stream.")) {
                if k != "replication.factor" {
                    props.insert(k.to_string(), v.to_string());
                }
            }
            let rf = replication_factor(
                config,
                &[format!(
                    "systems.{system}.default.stream.replication.factor"
                )],
                2,
            )?;
            out.push(TopicSpec {
                system: system.to_string(),
                name: format!("{stream}-access-log"),
                partitions,
                replication_factor: rf,
                properties: props,
                purpose: TopicPurpose::AccessLog {
                    store: store.to_string(),
                },
            });
        }
    }
    Ok(out)
}

fn topic_safe(s: &str) -> String {
    s.replace('_', "-")
}

/// The coordinator stream (when a coordinator system is configured) and, with the Kafka checkpoint manager,
/// the checkpoint topic; one partition each.
pub fn internal_topics(config: &Config) -> Result<Vec<TopicSpec>, SamzaError> {
    let coordinator_stream = super::coordinator_stream::stream_name(config)?;
    let name = topic_safe(config.job_name()?);
    let id = topic_safe(config.job_id());
    let mut out = Vec::new();

    // Samza 0.10+ refuses to start without a coordinator system ("Missing job.coordinator.system
    // configuration"), but 0.9 jobs never had one and the model does not need it: the topic is listed only
    // when a system is configured, and the linter reports the missing key.
    if let Some(system) = config.coordinator_system() {
        let sys_default = |p: &str| config.system_default_stream_property(system, p);
        let mut props = IndexMap::new();
        props.insert("cleanup.policy".to_string(), "compact".to_string());
        let segment = config
            .get("job.coordinator.segment.bytes")
            .or_else(|| sys_default("segment.bytes"))
            .unwrap_or("26214400");
        props.insert("segment.bytes".to_string(), segment.to_string());
        let max_bytes = config
            .get("job.coordinator.max.message.bytes")
            .or_else(|| sys_default("max.message.bytes"))
            .unwrap_or("1000012");
        props.insert("max.message.bytes".to_string(), max_bytes.to_string());
        let rf = replication_factor(
            config,
            &[
                "job.coordinator.replication.factor".to_string(),
                format!("systems.{system}.default.stream.replication.factor"),
            ],
            3,
        )?;
        out.push(TopicSpec {
            system: system.to_string(),
            name: coordinator_stream,
            partitions: 1,
            replication_factor: rf,
            properties: props,
            purpose: TopicPurpose::CoordinatorStream,
        });
    }

    if config.get("task.checkpoint.factory") == Some(config::KAFKA_CHECKPOINT_FACTORY) {
        let system = config.checkpoint_system().ok_or_else(|| SamzaError::Config {
            key: "task.checkpoint.system".into(),
            message: "The Kafka checkpoint manager needs a system. Set task.checkpoint.system or job.default.system."
                .into(),
        })?;
        let sys_default = |p: &str| config.system_default_stream_property(system, p);
        let int = |key: &str, fallback: &str| -> Result<String, SamzaError> {
            let default = match sys_default(fallback) {
                Some(v) => config::java_parse_int(v).ok_or_else(|| SamzaError::Config {
                    key: format!("systems.{system}.default.stream.{fallback}"),
                    message: format!("value '{v}' is not an integer. Set a whole number."),
                })?,
                None if fallback == "segment.bytes" => 26_214_400,
                None => 1_000_012,
            };
            Ok(config.get_int(key, default)?.to_string())
        };
        let segment = int("task.checkpoint.segment.bytes", "segment.bytes")?;
        let max_bytes = int("task.checkpoint.max.message.bytes", "max.message.bytes")?;
        let mut props = IndexMap::new();
        if config.is_batch_mode() {
            props.insert("cleanup.policy".to_string(), "compact,delete".to_string());
            props.insert("retention.ms".to_string(), "86400000".to_string());
        } else {
            props.insert("cleanup.policy".to_string(), "compact".to_string());
        }
        props.insert("segment.bytes".to_string(), segment);
        props.insert("max.message.bytes".to_string(), max_bytes);
        let rf = replication_factor(
            config,
            &[
                "task.checkpoint.replication.factor".to_string(),
                format!("systems.{system}.default.stream.replication.factor"),
            ],
            3,
        )?;
        out.push(TopicSpec {
            system: system.to_string(),
            name: format!("__samza_checkpoint_ver_1_for_{name}_{id}"),
            partitions: 1,
            replication_factor: rf,
            properties: props,
            purpose: TopicPurpose::Checkpoint,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_partition_names(n: usize) -> Vec<String> {
        let mut v: Vec<String> = (0..n).map(|i| format!("Partition {i}")).collect();
        v.sort_by(|a, b| super::super::stream::java_cmp(a, b));
        v
    }

    #[test]
    fn fresh_numbering_follows_name_order() {
        let names = sorted_partition_names(12);
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let nums = number_tasks(&refs, &BTreeMap::new());
        let m: BTreeMap<&str, u32> = refs.iter().copied().zip(nums).collect();
        assert_eq!(m["Partition 0"], 0);
        assert_eq!(m["Partition 1"], 1);
        assert_eq!(m["Partition 10"], 2);
        assert_eq!(m["Partition 11"], 3);
        assert_eq!(m["Partition 2"], 4);
        assert_eq!(m["Partition 9"], 11);
    }

    #[test]
    fn stored_numbers_win_and_new_ones_start_after_max() {
        let stored: BTreeMap<String, u32> = [("Partition 0", 5), ("Gone", 9), ("Partition 2", 0)]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        let refs = ["Partition 0", "Partition 1", "Partition 2", "Partition 3"];
        assert_eq!(number_tasks(&refs, &stored), [5, 10, 0, 11]);
        let merged = merged_mapping(&stored, refs.iter().copied().zip([99, 10, 98, 11]));
        assert_eq!(merged["Gone"], 9, "never dropped");
        assert_eq!(merged["Partition 0"], 5, "previous wins");
        assert_eq!(merged["Partition 1"], 10);
    }

    #[test]
    fn changelog_topic_defaults_and_overrides() {
        let c = Config::of(&[
            ("job.name", "j"),
            ("job.default.system", "kafka"),
            (
                "stores.s.factory",
                "org.apache.samza.storage.kv.RocksDbKeyValueStorageEngineFactory",
            ),
            ("stores.s.changelog", "s-log"),
            ("stores.t.factory", "x"),
            ("stores.t.changelog", "other.t-log"),
            ("stores.t.rocksdb.ttl.ms", "180000"),
            ("stores.t.changelog.replication.factor", "1"),
            ("stores.t.changelog.kafka.segment.ms", "100"),
            ("stores.t.accesslog.enabled", "true"),
            ("systems.kafka.default.stream.replication.factor", "4"),
            ("systems.kafka.default.stream.max.message.bytes", "2000000"),
        ]);
        let topics = changelog_topics(&c, 8).unwrap();
        assert_eq!(topics.len(), 3);
        let s = &topics[0];
        assert_eq!(
            (
                s.system.as_str(),
                s.name.as_str(),
                s.partitions,
                s.replication_factor
            ),
            ("kafka", "s-log", 8, 4)
        );
        let props: Vec<(&str, &str)> = s
            .properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            props,
            [
                ("cleanup.policy", "compact"),
                ("max.message.bytes", "2000000"),
                ("segment.bytes", "536870912"),
                ("delete.retention.ms", "86400000"),
                ("min.compaction.lag.ms", "14400000"),
            ]
        );
        let t = &topics[1];
        assert_eq!(
            (t.system.as_str(), t.name.as_str(), t.replication_factor),
            ("other", "t-log", 1)
        );
        assert_eq!(t.properties["cleanup.policy"], "delete");
        assert_eq!(t.properties["retention.ms"], "180000");
        assert_eq!(t.properties["segment.ms"], "100");
        assert!(!t.properties.contains_key("max.message.bytes"));
        assert_eq!(topics[2].name, "t-log-access-log");
        assert_eq!(
            topics[2].purpose,
            TopicPurpose::AccessLog { store: "t".into() }
        );
        assert_eq!(topics[2].partitions, 8);
    }

    /// The system defaults come from the job's changelog system, whichever system a store's changelog names
    /// (`KafkaConfig#getDefaultChangelogStreamReplicationFactor`).
    #[test]
    fn topic_defaults_come_from_the_jobs_changelog_system() {
        let c = Config::of(&[
            ("job.default.system", "kafka"),
            ("stores.s.factory", "x"),
            ("stores.s.changelog", "other.s-log"),
            ("systems.kafka.default.stream.replication.factor", "3"),
            ("systems.kafka.default.stream.max.message.bytes", "2000000"),
            ("systems.other.default.stream.replication.factor", "1"),
            ("systems.other.default.stream.max.message.bytes", "5"),
        ]);
        let t = &changelog_topics(&c, 1).unwrap()[0];
        assert_eq!((t.system.as_str(), t.name.as_str()), ("other", "s-log"));
        assert_eq!(t.replication_factor, 3);
        assert_eq!(t.properties["max.message.bytes"], "2000000");
        let changelog_system = Config::of(&[
            ("job.default.system", "kafka"),
            ("job.changelog.system", "other"),
            ("stores.s.factory", "x"),
            ("stores.s.changelog", "kafka.s-log"),
            ("systems.kafka.default.stream.replication.factor", "3"),
            ("systems.other.default.stream.replication.factor", "1"),
        ]);
        assert_eq!(
            changelog_topics(&changelog_system, 1).unwrap()[0].replication_factor,
            1
        );
    }

    #[test]
    fn replication_factor_default_and_standby_disables_lag() {
        let c = Config::of(&[
            ("job.default.system", "kafka"),
            ("stores.s.factory", "x"),
            ("stores.s.changelog", "kafka.s"),
            ("job.standbytasks.replication.factor", "2"),
        ]);
        let t = &changelog_topics(&c, 1).unwrap()[0];
        assert_eq!(t.replication_factor, 2);
        assert!(!t.properties.contains_key("min.compaction.lag.ms"));
        let bad = Config::of(&[
            ("stores.s.factory", "x"),
            ("stores.s.changelog", "kafka.s"),
            ("stores.s.changelog.replication.factor", "two"),
        ]);
        let err = changelog_topics(&bad, 1).unwrap_err().to_string();
        assert!(
            err.contains("stores.s.changelog.replication.factor"),
            "{err}"
        );
        let lag = Config::of(&[
            ("stores.s.factory", "x"),
            ("stores.s.changelog", "kafka.s"),
            ("stores.s.changelog.kafka.min.compaction.lag.ms", "5"),
        ]);
        let err = changelog_topics(&lag, 1).unwrap_err().to_string();
        assert!(
            err.contains("Use stores.s.changelog.min.compaction.lag.ms"),
            "{err}"
        );
    }

    #[test]
    fn coordinator_and_checkpoint_topics() {
        let c = Config::of(&[
            ("job.name", "my_job"),
            ("job.id", "a_1"),
            ("job.default.system", "kafka"),
            ("job.coordinator.replication.factor", "1"),
            ("task.checkpoint.factory", config::KAFKA_CHECKPOINT_FACTORY),
            ("systems.kafka.default.stream.segment.bytes", "1000"),
        ]);
        let topics = internal_topics(&c).unwrap();
        assert_eq!(topics[0].name, "__samza_coordinator_my-job_a-1");
        assert_eq!(topics[0].replication_factor, 1);
        assert_eq!(topics[0].properties["segment.bytes"], "1000");
        assert_eq!(topics[0].properties["max.message.bytes"], "1000012");
        assert_eq!(topics[1].name, "__samza_checkpoint_ver_1_for_my-job_a-1");
        assert_eq!(topics[1].replication_factor, 3);
        assert_eq!(topics[1].properties["segment.bytes"], "1000");
        assert_eq!(topics[1].purpose, TopicPurpose::Checkpoint);
        // No Kafka checkpoint manager → no checkpoint topic.
        let c2 = Config::of(&[("job.name", "j"), ("job.coordinator.system", "k")]);
        let topics = internal_topics(&c2).unwrap();
        assert_eq!(topics.len(), 1);
        assert_eq!(topics[0].name, "__samza_coordinator_j_1");
        assert_eq!(topics[0].replication_factor, 3);
        // No coordinator system (a 0.9-era job): no coordinator topic, no error.
        assert!(internal_topics(&Config::of(&[("job.name", "j")]))
            .unwrap()
            .is_empty());
        let kafka_checkpoints = Config::of(&[
            ("job.name", "j"),
            ("task.checkpoint.factory", config::KAFKA_CHECKPOINT_FACTORY),
        ]);
        let err = internal_topics(&kafka_checkpoints).unwrap_err().to_string();
        assert!(err.contains("task.checkpoint.system"), "{err}");
    }
}
