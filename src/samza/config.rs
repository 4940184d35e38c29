//! The Samza job config: an insertion-ordered string map plus typed getters that apply Samza's defaults and
//! deprecated fallbacks (`JobConfig`, `TaskConfig`, `StorageConfig`, `ClusterManagerConfig`, `KafkaConfig`).
//!
//! Getters parse values the way Samza does (`Integer.parseInt`, `"true".equalsIgnoreCase`), so a value that
//! Samza would reject is rejected here too, with an error naming the key. Insertion order is kept because
//! the config is written back into the job model and the model's bytes must not depend on hashing.

use std::sync::Arc;

use indexmap::IndexMap;

use super::{properties, SamzaError};

pub const GROUP_BY_PARTITION: &str =
    "org.apache.samza.container.grouper.stream.GroupByPartitionFactory";
pub const GROUP_BY_SSP: &str =
    "org.apache.samza.container.grouper.stream.GroupBySystemStreamPartitionFactory";
pub const ALL_SSP_TO_SINGLE_TASK: &str =
    "org.apache.samza.container.grouper.stream.AllSspToSingleTaskGrouperFactory";
pub const GROUP_BY_CONTAINER_COUNT: &str =
    "org.apache.samza.container.grouper.task.GroupByContainerCountFactory";
pub const GROUP_BY_CONTAINER_IDS: &str =
    "org.apache.samza.container.grouper.task.GroupByContainerIdsFactory";
pub const SINGLE_CONTAINER: &str =
    "org.apache.samza.container.grouper.task.SingleContainerGrouperFactory";
pub const REGEX_TOPIC_GENERATOR: &str = "org.apache.samza.config.RegExTopicGenerator";
pub const RANGE_MATCHER: &str = "org.apache.samza.system.RangeSystemStreamPartitionMatcher";
pub const REGEX_MATCHER: &str = "org.apache.samza.system.RegexSystemStreamPartitionMatcher";
pub const KAFKA_CHECKPOINT_FACTORY: &str =
    "org.apache.samza.checkpoint.kafka.KafkaCheckpointManagerFactory";
pub const IN_MEMORY_STORE_FACTORY: &str =
    "org.apache.samza.storage.kv.inmemory.InMemoryKeyValueStorageEngineFactory";
/// `JobConfig.DEFAULT_SSP_MATCHER_CONFIG_JOB_FACTORY_REGEX`.
pub const DEFAULT_MATCHER_JOB_FACTORY_REGEX: &str =
    r"org\.apache\.samza\.job\.local(.*ProcessJobFactory|.*ThreadJobFactory)";

/// A Samza job config.
///
/// Shared on clone, copied on the first `set` (the planner keeps the config in the plan and in the model):
/// a config of a few huge values costs its size once, not once per holder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    map: Arc<IndexMap<String, String>>,
}

/// Java's `Integer.parseInt`: optional sign, ASCII digits, 32-bit range, nothing else (no whitespace).
pub fn java_parse_int(value: &str) -> Option<i32> {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse::<i32>().ok()
}

fn int_error(key: &str, value: &str) -> SamzaError {
    SamzaError::Config {
        key: key.to_string(),
        message: format!(
            "value '{value}' is not an integer (Samza reads it with Integer.parseInt). Set it to a whole number without spaces."
        ),
    }
}

impl Config {
    /// Reads Java properties text (see `properties.rs`).
    pub fn from_properties(text: &str) -> Result<Config, SamzaError> {
        Ok(Config::from_map(properties::parse(text)?))
    }

    /// A config from key/value pairs, for tests.
    #[cfg(test)]
    pub(crate) fn of(pairs: &[(&str, &str)]) -> Config {
        Config::from_map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    pub fn from_map(map: IndexMap<String, String>) -> Config {
        Config { map: Arc::new(map) }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Sets a key, keeping its position when it already exists.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        Arc::make_mut(&mut self.map).insert(key.into(), value.into());
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn as_map(&self) -> &IndexMap<String, String> {
        &self.map
    }

    pub fn into_map(self) -> IndexMap<String, String> {
        Arc::unwrap_or_clone(self.map)
    }

    /// `Config#getInt(key, default)`.
    pub fn get_int(&self, key: &str, default: i32) -> Result<i32, SamzaError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => java_parse_int(v).ok_or_else(|| int_error(key, v)),
        }
    }

    /// `Config#getLong(key, default)`.
    pub fn get_long(&self, key: &str, default: i64) -> Result<i64, SamzaError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => {
                let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(int_error(key, v));
                }
                v.parse::<i64>().map_err(|_| int_error(key, v))
            }
        }
    }

    /// `Config#getBoolean(key, default)`: present → `"true".equalsIgnoreCase(value)`; anything else is false.
    pub fn get_bool(&self, key: &str, default: bool) -> bool {
        match self.get(key) {
            None => default,
            Some(v) => v.eq_ignore_ascii_case("true"),
        }
    }

    /// Keys under `prefix`, with the prefix stripped (`Config#subset(prefix, true)`), in config order.
    pub fn subset<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.iter()
            .filter_map(move |(k, v)| k.strip_prefix(prefix).map(|rest| (rest, v)))
    }

    /// `ApplicationConfig#getAppName`: `app.name`, else `job.name`. The planner writes `job.name` from it
    /// for high-level jobs (`JobPlanner`), so both spellings name the job.
    pub fn job_name(&self) -> Result<&str, SamzaError> {
        self.get("app.name")
            .or_else(|| self.get("job.name"))
            .ok_or_else(|| SamzaError::Config {
                key: "job.name".into(),
                message: "Missing job name. Set job.name (or app.name) to the job's name.".into(),
            })
    }

    /// `app.id` → `job.id` → `"1"`.
    pub fn job_id(&self) -> &str {
        self.get("app.id")
            .or_else(|| self.get("job.id"))
            .unwrap_or("1")
    }

    /// The key `JobConfig#getContainerCount` reads: `job.autosizing.container.count` when autosizing is on
    /// and it is set, else `job.container.count`, else the deprecated `yarn.container.count`; `None` = default 1.
    pub fn container_count_key(&self) -> Option<&'static str> {
        if self.get_bool("job.autosizing.enabled", false)
            && self.contains_key("job.autosizing.container.count")
        {
            Some("job.autosizing.container.count")
        } else if self.contains_key("job.container.count") {
            Some("job.container.count")
        } else if self.contains_key("yarn.container.count") {
            Some("yarn.container.count")
        } else {
            None
        }
    }

    /// `JobConfig#getContainerCount` as Samza reads it for every job (`Integer.parseInt`, default 1): the
    /// coordinator makes one processor id per container from it, so zero or a negative count simply gives
    /// none. Only the task-name groupers that divide tasks by the count refuse that ([`Config::container_count`]).
    pub fn container_count_value(&self) -> Result<i32, SamzaError> {
        match self.container_count_key() {
            None => Ok(1),
            Some(key) => self.get_int(key, 1),
        }
    }

    /// The container count as `GroupByContainerCount` and `GroupByContainerIds` use it: at least 1
    /// ("Must have at least one container"). Other groupers never read it, so they never refuse it.
    pub fn container_count(&self) -> Result<u32, SamzaError> {
        let n = self.container_count_value()?;
        if n <= 0 {
            let key = self.container_count_key().unwrap_or("job.container.count");
            return Err(SamzaError::Config {
                key: key.into(),
                message: format!(
                    "Must have at least one container (got {n}). Set {key} to 1 or more."
                ),
            });
        }
        Ok(n as u32)
    }

    /// `job.host-affinity.enabled`, else the deprecated `yarn.samza.host-affinity.enabled`, default false.
    pub fn host_affinity_enabled(&self) -> bool {
        if self.contains_key("job.host-affinity.enabled") {
            self.get_bool("job.host-affinity.enabled", false)
        } else {
            self.get_bool("yarn.samza.host-affinity.enabled", false)
        }
    }

    pub fn ssp_grouper_factory(&self) -> &str {
        self.get("job.systemstreampartition.grouper.factory")
            .unwrap_or(GROUP_BY_PARTITION)
    }

    pub fn task_grouper_factory(&self) -> &str {
        self.get("task.name.grouper.factory")
            .unwrap_or(GROUP_BY_CONTAINER_COUNT)
    }

    /// `job.standbytasks.replication.factor` (default 1; standby containers exist when > 1).
    pub fn standby_replication_factor(&self) -> Result<u32, SamzaError> {
        let rf = self.get_int("job.standbytasks.replication.factor", 1)?;
        // Samza does not validate this; a value below 1 simply means "no standby" there too.
        Ok(rf.max(1) as u32)
    }

    /// `JobConfig#getElasticityFactor`: 1..=16.
    pub fn elasticity_factor(&self) -> Result<u32, SamzaError> {
        const KEY: &str = "job.elasticity.factor";
        let f = self.get_int(KEY, 1)?;
        if !(1..=16).contains(&f) {
            return Err(SamzaError::Config {
                key: KEY.into(),
                message: format!(
                    "Elasticity factor can not be less than 1 or greater than 16 (got {f}). Set {KEY} between 1 and 16, or remove it."
                ),
            });
        }
        Ok(f as u32)
    }

    /// The elasticity factor the job's SSP grouper works with. Only `GroupByPartition` and
    /// `GroupBySystemStreamPartition` read `job.elasticity.factor` (and so validate it); for any other grouper
    /// Samza never looks at the key, whatever it holds, and the factor is 1.
    pub fn grouper_elasticity_factor(&self) -> Result<u32, SamzaError> {
        match self.ssp_grouper_factory() {
            GROUP_BY_PARTITION | GROUP_BY_SSP => self.elasticity_factor(),
            _ => Ok(1),
        }
    }

    /// `job.systemstreampartition.input.expansion.enabled` (default true).
    pub fn input_expansion_enabled(&self) -> bool {
        self.get_bool("job.systemstreampartition.input.expansion.enabled", true)
    }

    pub fn default_system(&self) -> Option<&str> {
        self.get("job.default.system")
    }

    /// `job.changelog.system` → `job.default.system`.
    pub fn changelog_system(&self) -> Option<&str> {
        self.get("job.changelog.system")
            .or_else(|| self.default_system())
    }

    /// `job.coordinator.system` → `job.default.system`.
    pub fn coordinator_system(&self) -> Option<&str> {
        self.get("job.coordinator.system")
            .or_else(|| self.default_system())
    }

    /// `task.checkpoint.system` → `job.default.system`.
    pub fn checkpoint_system(&self) -> Option<&str> {
        self.get("task.checkpoint.system")
            .or_else(|| self.default_system())
    }

    /// `StorageConfig#getStoreNames`: every `stores.<name>.factory` (and side-input processor factory), in
    /// config order. Store names may contain dots.
    pub fn store_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for (rest, _) in self.subset("stores.") {
            let name = rest
                .strip_suffix(".side.inputs.processor.factory")
                .or_else(|| rest.strip_suffix(".factory"));
            if let Some(name) = name {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// `StorageConfig#getNumPersistentStores`: stores whose factory is not the in-memory one.
    pub fn persistent_store_count(&self) -> usize {
        self.persistent_store_names().len()
    }

    /// The stores `StorageConfig#getNumPersistentStores` counts (their data lives on local disk), in config order.
    pub fn persistent_store_names(&self) -> Vec<&str> {
        self.store_names()
            .into_iter()
            .filter(|s| {
                self.get(&format!("stores.{s}.factory"))
                    .is_some_and(|f| f != IN_MEMORY_STORE_FACTORY)
            })
            .collect()
    }

    /// `StorageConfig#getChangelogStream`: `system.stream` of the store's changelog, if it has one.
    /// A bare stream name gets `job.changelog.system` → `job.default.system` as prefix; in batch mode
    /// (`app.mode=BATCH` with `app.run.id`) `-<runId>` is appended (`StreamManager#createUniqueNameForBatch`).
    pub fn store_changelog(&self, store: &str) -> Result<Option<String>, SamzaError> {
        let key = format!("stores.{store}.changelog");
        let Some(raw) = self.get(&key).map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let mut name = if raw.contains('.') {
            raw.to_string()
        } else {
            let system = self.changelog_system().ok_or_else(|| SamzaError::Config {
                key: key.clone(),
                message: format!(
                    "changelog system is not defined:{raw}. Write the changelog as <system>.{raw}, or set job.changelog.system or job.default.system."
                ),
            })?;
            format!("{system}.{raw}")
        };
        if self.is_batch_mode() {
            if let Some(run_id) = self.get("app.run.id") {
                name = format!("{name}-{run_id}");
            }
        }
        Ok(Some(name))
    }

    /// `app.mode` = `BATCH` (default `STREAM`).
    pub fn is_batch_mode(&self) -> bool {
        self.get("app.mode")
            .is_some_and(|m| m.eq_ignore_ascii_case("BATCH"))
    }

    /// `systems.<system>.default.stream.<property>`.
    pub fn system_default_stream_property(&self, system: &str, property: &str) -> Option<&str> {
        self.get(&format!("systems.{system}.default.stream.{property}"))
    }

    /// `TaskConfig#getTransactionalStateRestoreEnabled`: on by default, off with standby tasks or async commit.
    pub fn transactional_state_restore_enabled(&self) -> Result<bool, SamzaError> {
        let standby = self.standby_replication_factor()? > 1;
        let async_commit = self.get_bool("task.async.commit", false);
        Ok(!standby
            && !async_commit
            && self.get_bool("task.transactional.state.restore.enabled", true))
    }

    /// `job.config.rewriters` as Samza splits it (on `,`, no trimming).
    pub fn config_rewriters(&self) -> Vec<&str> {
        match self.get("job.config.rewriters") {
            None => Vec::new(),
            Some(v) => {
                let mut parts: Vec<&str> = v.split(',').collect();
                while parts.len() > 1 && parts.last() == Some(&"") {
                    parts.pop();
                }
                if parts == [""] && !v.is_empty() {
                    parts.clear();
                }
                parts
            }
        }
    }
}

impl<'a> IntoIterator for &'a Config {
    type Item = (&'a String, &'a String);
    type IntoIter = indexmap::map::Iter<'a, String, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_name_and_id_fallbacks() {
        assert_eq!(Config::of(&[("job.name", "j")]).job_name().unwrap(), "j");
        assert_eq!(
            Config::of(&[("job.name", "j"), ("app.name", "a")])
                .job_name()
                .unwrap(),
            "a"
        );
        assert!(Config::of(&[])
            .job_name()
            .unwrap_err()
            .to_string()
            .contains("job.name"));
        assert_eq!(Config::of(&[]).job_id(), "1");
        assert_eq!(Config::of(&[("job.id", "7")]).job_id(), "7");
        assert_eq!(
            Config::of(&[("job.id", "7"), ("app.id", "9")]).job_id(),
            "9"
        );
    }

    #[test]
    fn container_count_sources() {
        let cases: &[(&[(&str, &str)], u32)] = &[
            (&[], 1),
            (&[("job.container.count", "3")], 3),
            (&[("yarn.container.count", "4")], 4),
            (
                &[("yarn.container.count", "4"), ("job.container.count", "2")],
                2,
            ),
            (
                &[
                    ("job.autosizing.container.count", "8"),
                    ("job.container.count", "2"),
                ],
                2,
            ),
            (
                &[
                    ("job.autosizing.enabled", "TRUE"),
                    ("job.autosizing.container.count", "8"),
                    ("job.container.count", "2"),
                ],
                8,
            ),
            (
                &[
                    ("job.autosizing.enabled", "true"),
                    ("job.container.count", "2"),
                ],
                2,
            ),
            (&[("job.container.count", "+5")], 5),
        ];
        for (pairs, want) in cases {
            assert_eq!(
                Config::of(pairs).container_count().unwrap(),
                *want,
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn container_count_errors_name_the_key() {
        for (pairs, key, text) in [
            (
                &[("job.container.count", "0")][..],
                "job.container.count",
                "Must have at least one container",
            ),
            (
                &[("job.container.count", "-2")][..],
                "job.container.count",
                "Must have at least one container",
            ),
            (
                &[("yarn.container.count", "two")][..],
                "yarn.container.count",
                "not an integer",
            ),
            (
                &[("job.container.count", "2 ")][..],
                "job.container.count",
                "not an integer",
            ),
            (
                &[("job.container.count", "99999999999")][..],
                "job.container.count",
                "not an integer",
            ),
        ] {
            match Config::of(pairs).container_count().unwrap_err() {
                SamzaError::Config { key: k, message } => {
                    assert_eq!(k, key);
                    assert!(message.contains(text), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn booleans_and_defaults() {
        assert!(!Config::of(&[]).host_affinity_enabled());
        assert!(Config::of(&[("job.host-affinity.enabled", "True")]).host_affinity_enabled());
        assert!(Config::of(&[("yarn.samza.host-affinity.enabled", "true")]).host_affinity_enabled());
        assert!(!Config::of(&[
            ("job.host-affinity.enabled", "false"),
            ("yarn.samza.host-affinity.enabled", "true")
        ])
        .host_affinity_enabled());
        assert!(!Config::of(&[("job.host-affinity.enabled", "yes")]).host_affinity_enabled());
        assert!(Config::of(&[]).input_expansion_enabled());
        assert!(
            !Config::of(&[("job.systemstreampartition.input.expansion.enabled", "false")])
                .input_expansion_enabled()
        );
        assert_eq!(Config::of(&[]).ssp_grouper_factory(), GROUP_BY_PARTITION);
        assert_eq!(
            Config::of(&[]).task_grouper_factory(),
            GROUP_BY_CONTAINER_COUNT
        );
        assert_eq!(Config::of(&[]).standby_replication_factor().unwrap(), 1);
        assert_eq!(
            Config::of(&[("job.standbytasks.replication.factor", "3")])
                .standby_replication_factor()
                .unwrap(),
            3
        );
    }

    #[test]
    fn elasticity_bounds() {
        assert_eq!(Config::of(&[]).elasticity_factor().unwrap(), 1);
        assert_eq!(
            Config::of(&[("job.elasticity.factor", "16")])
                .elasticity_factor()
                .unwrap(),
            16
        );
        for bad in ["0", "17", "-1"] {
            let err = Config::of(&[("job.elasticity.factor", bad)])
                .elasticity_factor()
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("job.elasticity.factor") && err.contains("can not be less than 1"),
                "{err}"
            );
        }
    }

    #[test]
    fn systems_and_stores() {
        let c = Config::of(&[
            ("job.default.system", "kafka"),
            (
                "stores.a.factory",
                "org.apache.samza.storage.kv.RocksDbKeyValueStorageEngineFactory",
            ),
            ("stores.a.changelog", " a-log "),
            ("stores.b.c.factory", IN_MEMORY_STORE_FACTORY),
            ("stores.b.c.changelog", "other.b-log"),
            ("stores.d.changelog", "kafka.orphan"),
        ]);
        assert_eq!(c.store_names(), vec!["a", "b.c"]);
        assert_eq!(c.persistent_store_count(), 1);
        assert_eq!(
            c.store_changelog("a").unwrap().as_deref(),
            Some("kafka.a-log")
        );
        assert_eq!(
            c.store_changelog("b.c").unwrap().as_deref(),
            Some("other.b-log")
        );
        assert_eq!(c.coordinator_system(), Some("kafka"));
        assert_eq!(c.checkpoint_system(), Some("kafka"));
        let mut c2 = Config::of(&[("stores.a.factory", "x"), ("stores.a.changelog", "a-log")]);
        let err = c2.store_changelog("a").unwrap_err().to_string();
        assert!(
            err.contains("stores.a.changelog") && err.contains("job.changelog.system"),
            "{err}"
        );
        c2.set("job.changelog.system", "cl");
        c2.set("app.mode", "BATCH");
        c2.set("app.run.id", "r1");
        assert_eq!(
            c2.store_changelog("a").unwrap().as_deref(),
            Some("cl.a-log-r1")
        );
    }

    #[test]
    fn transactional_restore_rules() {
        assert!(Config::of(&[])
            .transactional_state_restore_enabled()
            .unwrap());
        assert!(!Config::of(&[("job.standbytasks.replication.factor", "2")])
            .transactional_state_restore_enabled()
            .unwrap());
        assert!(!Config::of(&[("task.async.commit", "true")])
            .transactional_state_restore_enabled()
            .unwrap());
        assert!(
            !Config::of(&[("task.transactional.state.restore.enabled", "false")])
                .transactional_state_restore_enabled()
                .unwrap()
        );
    }

    #[test]
    fn rewriter_names() {
        assert!(Config::of(&[]).config_rewriters().is_empty());
        assert_eq!(
            Config::of(&[("job.config.rewriters", "a,b")]).config_rewriters(),
            vec!["a", "b"]
        );
        assert_eq!(
            Config::of(&[("job.config.rewriters", "a, b")]).config_rewriters(),
            vec!["a", " b"]
        );
    }
}
