//! The whole pipeline of Samza's `JobModelCalculator#calculateJobModel` (spec 2.7): regex rewriters, SSP
//! discovery and matching, SSP grouping (with the partition-expansion proxy), changelog numbering, task →
//! container assignment and standby containers, then the topics the job needs.
//!
//! What Samza reads from the outside world (partition metadata, topic lists, the coordinator stream) comes in
//! as values (`PartitionFacts`, `Previous`), so planning is a pure function of its arguments.

use std::collections::{BTreeMap, BTreeSet};

use super::assignment;
use super::changelog::{self, TopicSpec};
use super::config;
use super::grouper;
use super::job_model::{ContainerModel, TaskMode, TaskModel};
use super::limits;
use super::stream::{self, java_cmp};
use super::{Config, JobModel, SamzaError, Ssp, SystemStream};

/// What the planner needs to be told about the outside world before it can plan a job.
///
/// Regex rewriters add streams only once topic lists are known: after fetching `topic_lists`, call
/// [`apply_rewriters`] and `required_inputs` on its result to learn the counts the rewritten job needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputRequest {
    /// Streams whose partition counts are needed (from `task.inputs`).
    pub streams: BTreeSet<SystemStream>,
    /// Systems whose full topic list is needed (for `RegExTopicGenerator` rewriters).
    pub topic_lists: BTreeSet<String>,
}

/// Partition facts gathered by a partition source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionFacts {
    /// Partition count per stream.
    pub counts: BTreeMap<SystemStream, u32>,
    /// Every topic name per system (only for systems listed in `InputRequest::topic_lists`).
    pub topics: BTreeMap<String, BTreeSet<String>>,
}

/// What Samza's coordinator stream would remember from earlier deployments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Previous {
    /// `set-changelog`: task name → changelog partition. Never shrinks.
    pub changelog: BTreeMap<String, u32>,
    /// `set-task-container-assignment`: active task name → container id.
    pub task_container: BTreeMap<String, String>,
    /// Previous task → SSP assignment (active tasks), for the partition-expansion proxy.
    pub task_ssps: BTreeMap<String, BTreeSet<Ssp>>,
    /// `set-task-container-assignment` of standby tasks (`set-task-mode-assignment` `Standby`): standby task name
    /// → container id. The planner does not read it (Samza places standby tasks afresh); a plan's difference
    /// does, so a deploy that keeps its standby replicas shows no change.
    pub standby_container: BTreeMap<String, String>,
}

impl Previous {
    /// What the coordinator stream holds after `model` was deployed: the changelog numbers of every task
    /// (standby names included, as Samza writes them), the container and SSPs of every active task and the
    /// container of every standby task.
    pub fn from_model(model: &JobModel) -> Previous {
        let mut previous = Previous::default();
        for c in &model.containers {
            for t in &c.tasks {
                previous
                    .changelog
                    .insert(t.name.clone(), t.changelog_partition);
                if t.mode == TaskMode::Active {
                    previous.task_container.insert(t.name.clone(), c.id.clone());
                    previous
                        .task_ssps
                        .insert(t.name.clone(), t.ssps.iter().cloned().collect());
                } else {
                    previous
                        .standby_container
                        .insert(t.name.clone(), c.id.clone());
                }
            }
        }
        previous
    }

    /// The previous task → SSPs assignment in the order `SSPGrouperProxy` walks it: the iteration order of
    /// the `HashMap<TaskName, List<SSP>>` that `JobModelHelper#getGrouperMetadata` fills from the coordinator
    /// stream. Buckets follow `String#hashCode`; inside a bucket, insertion order counts, and Samza inserts a
    /// task when it first meets it in the stored SSP → task lists, which it wrote walking the previous model's
    /// containers (a `HashMap` keyed by container id) and each container's tasks (a `HashMap` keyed by task
    /// name). That order is rebuilt here from container ids and task names inserted in their own order; where
    /// Samza's insertion order differs (it comes from `HashSet`s whose order varies between JVMs), the result
    /// may too — only when names share a bucket.
    pub fn task_ssps_in_samza_order(&self) -> Vec<(&str, &BTreeSet<Ssp>)> {
        let mut by_container: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut unplaced: Vec<&str> = Vec::new();
        for task in self.task_ssps.keys() {
            match self.task_container.get(task) {
                Some(container) => by_container.entry(container).or_default().push(task),
                None => unplaced.push(task),
            }
        }
        let mut containers: Vec<&str> = by_container.keys().copied().collect();
        containers.sort_by(|a, b| super::job_model::container_order(a, b));
        let mut inserted: Vec<&str> = Vec::with_capacity(self.task_ssps.len());
        for i in assignment::java_hashmap_order(&containers) {
            let tasks = &by_container[containers[i]];
            inserted.extend(
                assignment::java_hashmap_order(tasks)
                    .into_iter()
                    .map(|j| tasks[j]),
            );
        }
        inserted.extend(unplaced);
        assignment::java_hashmap_order(&inserted)
            .into_iter()
            .map(|i| (inserted[i], &self.task_ssps[inserted[i]]))
            .collect()
    }
}

/// A computed plan: the model plus everything derived from it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The job config after rewriters (this is the model's `config`).
    pub config: Config,
    pub model: JobModel,
    /// The changelog mapping Samza would store after this plan: previous entries win and are never dropped.
    pub changelog_mapping: BTreeMap<String, u32>,
    pub changelog_topics: Vec<TopicSpec>,
    pub internal_topics: Vec<TopicSpec>,
}

/// Names of the `RegExTopicGenerator` rewriters, in `job.config.rewriters` order. `JobModelCalculator`
/// re-applies only those (class compared ignoring case); other rewriters ran once at submission.
fn regex_rewriters(config: &Config) -> Result<Vec<String>, SamzaError> {
    let mut out = Vec::new();
    for name in config.config_rewriters() {
        let key = format!("job.config.rewriter.{name}.class");
        let class = config.get(&key).ok_or_else(|| SamzaError::Config {
            key: key.clone(),
            message: format!(
                "Unable to find class config for config rewriter {name}. Set {key}, or remove '{name}' from job.config.rewriters."
            ),
        })?;
        if class.eq_ignore_ascii_case(config::REGEX_TOPIC_GENERATOR) {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

fn rewriter_system<'a>(config: &'a Config, name: &str) -> Result<&'a str, SamzaError> {
    let key = format!("job.config.rewriter.{name}.system");
    config.get(&key).ok_or_else(|| SamzaError::Config {
        key: key.clone(),
        message: format!(
            "No system defined for {name}. Set {key} to the system whose topics the regex selects."
        ),
    })
}

/// Streams needing partition counts and systems needing topic lists.
pub fn required_inputs(config: &Config) -> Result<InputRequest, SamzaError> {
    let streams = stream::parse_inputs(config.get("task.inputs"), "task.inputs")?;
    let mut topic_lists = BTreeSet::new();
    for name in regex_rewriters(config)? {
        topic_lists.insert(rewriter_system(config, &name)?.to_string());
    }
    Ok(InputRequest {
        streams,
        topic_lists,
    })
}

/// `RegExTopicGenerator#rewrite` for every regex rewriter: matching topics (whole-name Java match) join
/// `task.inputs`, which is rewritten as the sorted `system.stream` list joined by `,`; each rewriter's
/// `job.config.rewriter.<n>.config.<k>` is copied to `systems.<system>.streams.<topic>.<k>` unless the
/// config already sets that key (the job's own config wins). New keys are appended in order.
pub fn apply_rewriters(
    config: &Config,
    topics: &BTreeMap<String, BTreeSet<String>>,
) -> Result<Config, SamzaError> {
    let mut result = config.clone();
    for name in regex_rewriters(config)? {
        let regex_key = format!("job.config.rewriter.{name}.regex");
        let pattern = result.get(&regex_key).ok_or_else(|| SamzaError::Config {
            key: regex_key.clone(),
            message: format!(
                "No {regex_key} defined in config. Set it to a Java regex over topic names."
            ),
        })?;
        let re = grouper::whole_match_regex(pattern, &regex_key)?;
        let system = rewriter_system(&result, &name)?.to_string();
        let listed = topics
            .get(&system)
            .ok_or_else(|| SamzaError::MissingTopics {
                system: system.clone(),
                key: regex_key.clone(),
            })?;
        let mut inputs = stream::parse_inputs(result.get("task.inputs"), "task.inputs")?;
        let inherited: Vec<(String, String)> = result
            .subset(&format!("job.config.rewriter.{name}.config."))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut added: Vec<(String, String)> = Vec::new();
        for topic in listed {
            let matched = re.is_match(topic).map_err(|e| SamzaError::Config {
                key: regex_key.clone(),
                message: format!("matching topic '{topic}' failed ({e}). Simplify the pattern."),
            })?;
            if !matched {
                continue;
            }
            inputs.insert(SystemStream::new(&system, topic));
            for (k, v) in &inherited {
                added.push((format!("systems.{system}.streams.{topic}.{k}"), v.clone()));
            }
        }
        let mut names: Vec<String> = inputs.iter().map(SystemStream::name).collect();
        names.sort_by(|a, b| java_cmp(a, b));
        for (k, v) in added {
            if !result.contains_key(&k) {
                result.set(k, v);
            }
        }
        result.set("task.inputs", names.join(","));
    }
    Ok(result)
}

/// Computes the job model Samza would compute for `config`, given partition facts and what an earlier
/// deployment left in the coordinator stream.
pub fn plan(
    config: &Config,
    facts: &PartitionFacts,
    previous: Option<&Previous>,
) -> Result<Plan, SamzaError> {
    let empty = Previous::default();
    let previous = previous.unwrap_or(&empty);
    // `JobModelHelper#getProcessorLocality` reads the container count (one processor id per container) before
    // the calculator starts, so a count that is not an integer is the first thing Samza refuses.
    let processor_ids = assignment::ProcessorIds::new(config.container_count_value()?);
    let config = apply_rewriters(config, &facts.topics)?;

    // Discover SSPs: one per partition of every task.inputs stream (broadcast-only streams are not queried).
    let inputs = stream::parse_inputs(config.get("task.inputs"), "task.inputs")?;
    let broadcast = stream::parse_broadcast(config.get("task.broadcast.inputs"))?;
    let total: u64 = inputs
        .iter()
        .map(|s| u64::from(facts.counts.get(s).copied().unwrap_or(0)))
        .sum();
    // Every partition is listed in at least one task (unless an SSP matcher drops it): refuse a count no
    // model can carry before making one SSP per partition.
    limits::check_model_ssps(total, || {
        let largest = inputs
            .iter()
            .filter_map(|s| facts.counts.get(s).map(|n| (n, s)))
            .max_by_key(|(n, _)| **n);
        match largest {
            Some((n, s)) => format!(
                "task.inputs has {} partitions in all; {} alone has {n}",
                total,
                s.name()
            ),
            None => format!("task.inputs has {total} partitions in all"),
        }
    })?;
    let mut ssps: Vec<Ssp> = Vec::with_capacity(total as usize);
    for s in &inputs {
        let count = facts
            .counts
            .get(s)
            .ok_or_else(|| SamzaError::MissingPartitions {
                stream: s.name(),
                key: "task.inputs".into(),
            })?;
        ssps.extend((0..*count).map(|p| Ssp::new(s, p)));
    }
    let ssps = grouper::match_ssps(&config, ssps)?;

    let mut groups = grouper::group(&config, &ssps, &broadcast, processor_ids)?;
    drop(ssps);
    // SSPGrouperProxy: only stateful jobs with a stored task → SSP assignment are kept sticky.
    if config.input_expansion_enabled()
        && config.persistent_store_count() > 0
        && !previous.task_ssps.is_empty()
    {
        groups = grouper::expansion_proxy(
            &config,
            groups,
            &previous.task_ssps_in_samza_order(),
            &broadcast,
        )?;
    }

    // Samza stores changelog partitions as Java ints, and numbers new tasks from the largest stored one: a stored
    // number past `Integer.MAX_VALUE` (a hand-edited lock) could only come back as a wrapped, duplicate number.
    if let Some((task, n)) = previous
        .changelog
        .iter()
        .find(|(_, n)| **n >= i32::MAX as u32)
    {
        return Err(SamzaError::Previous {
            message: format!(
                "task '{task}' is stored with changelog partition {n}, beyond what Samza can number (at most {}). \
                 Restore the stored mapping from a lock or model Samza wrote.",
                i32::MAX - 1
            ),
        });
    }
    let names: Vec<&str> = groups.iter().map(|(n, _)| n.as_str()).collect();
    let numbers = changelog::number_tasks(&names, &previous.changelog);
    let assigned = assignment::assign(&config, &names, &previous.task_container, processor_ids)?;
    drop(names);

    let mut tasks: Vec<Option<TaskModel>> = groups
        .into_iter()
        .zip(numbers)
        .map(|((name, ssps), changelog_partition)| {
            Some(TaskModel {
                name,
                ssps,
                changelog_partition,
                mode: TaskMode::Active,
            })
        })
        .collect();
    let mut containers: Vec<ContainerModel> = Vec::with_capacity(assigned.len());
    for a in assigned {
        let tasks = a.tasks.iter().filter_map(|&i| tasks[i].take()).collect();
        containers.push(ContainerModel { id: a.id, tasks });
    }
    let rf = config.standby_replication_factor()?;
    if rf > 1 {
        // Each standby container copies an active container's tasks with all their SSPs.
        let active: u64 = containers
            .iter()
            .flat_map(|c| &c.tasks)
            .map(|t| t.ssps.len() as u64)
            .sum();
        limits::check_model_ssps(active.saturating_mul(u64::from(rf)), || {
            format!("{active} in the active tasks × job.standbytasks.replication.factor={rf}")
        })?;
    }
    containers.extend(standby_containers(&containers, rf));

    let model = JobModel::new(config.clone(), containers);
    let changelog_mapping = changelog::merged_mapping(
        &previous.changelog,
        model
            .tasks()
            .map(|t| (t.name.as_str(), t.changelog_partition)),
    );
    let changelog_topics = changelog::changelog_topics(&config, model.max_changelog_partitions())?;
    let internal_topics = changelog::internal_topics(&config)?;
    Ok(Plan {
        config,
        model,
        changelog_mapping,
        changelog_topics,
        internal_topics,
    })
}

/// `TaskNameGrouperProxy` (spec 2.6): for replication factor RF, each active container `C` gets RF-1
/// standby containers `C-r` holding `Standby-<task>-r` copies (same SSPs and changelog partition).
fn standby_containers(active: &[ContainerModel], rf: u32) -> Vec<ContainerModel> {
    let mut out = Vec::new();
    for c in active {
        for r in 0..rf.saturating_sub(1) {
            let tasks = c
                .tasks
                .iter()
                .map(|t| TaskModel {
                    name: format!("Standby-{}-{r}", t.name),
                    ssps: t.ssps.clone(),
                    changelog_partition: t.changelog_partition,
                    mode: TaskMode::Standby,
                })
                .collect();
            out.push(ContainerModel {
                id: format!("{}-{r}", c.id),
                tasks,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samza::config::Config;

    fn facts(counts: &[(&str, u32)]) -> PartitionFacts {
        PartitionFacts {
            counts: counts
                .iter()
                .map(|(n, c)| (SystemStream::parse(n, "test").unwrap(), *c))
                .collect(),
            topics: BTreeMap::new(),
        }
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("job.name", "j"),
            ("job.default.system", "kafka"),
            ("task.inputs", "kafka.a"),
        ]
    }

    #[test]
    fn required_inputs_lists_streams_and_regex_systems() {
        let c = Config::of(&[
            ("task.inputs", "kafka.a, kafka.b"),
            ("job.config.rewriters", "r1,r2"),
            (
                "job.config.rewriter.r1.class",
                "org.apache.samza.config.RegExTopicGenerator",
            ),
            ("job.config.rewriter.r1.system", "kafka2"),
            ("job.config.rewriter.r2.class", "com.example.EnvRewriter"),
        ]);
        let req = required_inputs(&c).unwrap();
        assert_eq!(
            req.streams
                .iter()
                .map(SystemStream::name)
                .collect::<Vec<_>>(),
            ["kafka.a", "kafka.b"]
        );
        assert_eq!(req.topic_lists.into_iter().collect::<Vec<_>>(), ["kafka2"]);
        let err = required_inputs(&Config::of(&[("job.config.rewriters", "x")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Unable to find class config for config rewriter x."),
            "{err}"
        );
    }

    #[test]
    fn regex_rewriter_unions_sorts_and_copies_config() {
        let c = Config::of(&[
            ("task.inputs", "kafka.zeta"),
            ("job.config.rewriters", "re"),
            (
                "job.config.rewriter.re.class",
                "org.apache.samza.config.regextopicgenerator",
            ),
            ("job.config.rewriter.re.system", "kafka"),
            ("job.config.rewriter.re.regex", "page.*"),
            ("job.config.rewriter.re.config.samza.bootstrap", "true"),
            ("systems.kafka.streams.pageB.samza.bootstrap", "false"),
        ]);
        let mut topics = BTreeMap::new();
        topics.insert(
            "kafka".to_string(),
            ["pageB", "pageA", "xpage", "zeta"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        );
        let out = apply_rewriters(&c, &topics).unwrap();
        assert_eq!(
            out.get("task.inputs"),
            Some("kafka.pageA,kafka.pageB,kafka.zeta")
        );
        assert_eq!(
            out.get("systems.kafka.streams.pageA.samza.bootstrap"),
            Some("true")
        );
        assert_eq!(
            out.get("systems.kafka.streams.pageB.samza.bootstrap"),
            Some("false"),
            "config wins"
        );
        assert!(
            out.get("systems.kafka.streams.xpage.samza.bootstrap")
                .is_none(),
            "whole-name match only"
        );
        let err = apply_rewriters(&c, &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("kafka") && err.contains("topic list"), "{err}");
        let mut no_regex = c.clone();
        no_regex = Config::from_map(
            no_regex
                .into_map()
                .into_iter()
                .filter(|(k, _)| k != "job.config.rewriter.re.regex")
                .collect(),
        );
        let err = apply_rewriters(&no_regex, &topics).unwrap_err().to_string();
        assert!(
            err.contains("No job.config.rewriter.re.regex defined in config"),
            "{err}"
        );
    }

    #[test]
    fn missing_partition_count_names_the_stream() {
        let err = plan(&Config::of(&base()), &facts(&[]), None).unwrap_err();
        assert!(
            matches!(err, SamzaError::MissingPartitions { ref stream, .. } if stream == "kafka.a"),
            "{err}"
        );
    }

    #[test]
    fn standby_names_and_ids() {
        let mut pairs = base();
        pairs.push(("job.container.count", "2"));
        pairs.push(("job.standbytasks.replication.factor", "3"));
        let p = plan(&Config::of(&pairs), &facts(&[("kafka.a", 2)]), None).unwrap();
        let ids: Vec<&str> = p.model.containers.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["0", "1", "0-0", "0-1", "1-0", "1-1"]);
        let s = p.model.container("1-1").unwrap();
        assert_eq!(s.tasks[0].name, "Standby-Partition 1-1");
        assert_eq!(s.tasks[0].mode, TaskMode::Standby);
        assert_eq!(s.tasks[0].changelog_partition, 1);
        assert_eq!(
            s.tasks[0].ssps,
            p.model.container("1").unwrap().tasks[0].ssps
        );
        assert_eq!(p.changelog_mapping["Standby-Partition 0-0"], 0);
        assert_eq!(p.model.max_changelog_partitions(), 2);
    }

    #[test]
    fn previous_changelog_mapping_is_kept() {
        let mut pairs = base();
        pairs.push(("job.container.count", "2"));
        let c = Config::of(&pairs);
        let first = plan(&c, &facts(&[("kafka.a", 4)]), None).unwrap();
        let mut prev = Previous::from_model(&first.model);
        prev.changelog.insert("Old task".into(), 7);
        let second = plan(&c, &facts(&[("kafka.a", 6)]), Some(&prev)).unwrap();
        for (k, v) in &prev.changelog {
            assert_eq!(second.changelog_mapping.get(k), Some(v), "{k}");
        }
        let t4 = second
            .model
            .tasks()
            .find(|t| t.name == "Partition 4")
            .unwrap();
        assert_eq!(t4.changelog_partition, 8);
        assert_eq!(second.model.max_changelog_partitions(), 10);
    }

    #[test]
    fn stateful_expansion_keeps_partitions_with_previous_tasks() {
        let mut pairs = base();
        pairs.push((
            "stores.s.factory",
            "org.apache.samza.storage.kv.RocksDbKeyValueStorageEngineFactory",
        ));
        pairs.push(("stores.s.changelog", "s-log"));
        let c = Config::of(&pairs);
        let first = plan(&c, &facts(&[("kafka.a", 2)]), None).unwrap();
        let prev = Previous::from_model(&first.model);
        let second = plan(&c, &facts(&[("kafka.a", 4)]), Some(&prev)).unwrap();
        let names: Vec<&str> = second.model.tasks().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["Partition 0", "Partition 1"]);
        assert_eq!(second.changelog_topics[0].partitions, 2);
        // Stateless: no stickiness, four tasks.
        let stateless = plan(&Config::of(&base()), &facts(&[("kafka.a", 4)]), Some(&prev)).unwrap();
        assert_eq!(stateless.model.tasks().count(), 4);
    }

    #[test]
    fn broadcast_only_partition_creates_no_task() {
        let mut pairs = base();
        pairs.push(("task.inputs", "kafka.a,kafka.b"));
        pairs.push(("task.broadcast.inputs", "kafka.b#[0-2]"));
        let p = plan(
            &Config::of(&pairs),
            &facts(&[("kafka.a", 2), ("kafka.b", 3)]),
            None,
        )
        .unwrap();
        let names: Vec<&str> = p.model.tasks().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["Partition 0", "Partition 1"]);
        assert!(p.model.tasks().all(|t| t.ssps.len() == 4));
    }

    /// With AllSspToSingleTaskGrouper every previous task had partition 0; `SSPGrouperProxy` gives it to the task
    /// its `HashMap` iterates last. With 23 containers (container k holds the k-th task by name) OpenJDK 17 puts
    /// `Task-11` last when the tasks go in as Samza wrote them (containers in their id map's order), `Task-22`
    /// when they go in by name: the two share the map's last bucket.
    #[test]
    fn shared_ssps_go_to_the_task_samza_meets_last() {
        let c = |partitions: u32| {
            let mut c = Config::of(&base());
            c.set(
                "job.systemstreampartition.grouper.factory",
                config::ALL_SSP_TO_SINGLE_TASK,
            );
            c.set("job.container.count", "23");
            c.set(
                "stores.s.factory",
                "org.apache.samza.storage.kv.RocksDbKeyValueStorageEngineFactory",
            );
            (c, facts(&[("kafka.a", partitions)]))
        };
        let (c1, f1) = c(1);
        let first = plan(&c1, &f1, None).unwrap();
        let previous = Previous::from_model(&first.model);
        let order = previous.task_ssps_in_samza_order();
        assert_eq!(order.last().unwrap().0, "Task-11");
        let (c2, f2) = c(2);
        let second = plan(&c2, &f2, Some(&previous)).unwrap();
        let with_p0: Vec<&str> = second
            .model
            .tasks()
            .filter(|t| t.ssps.iter().any(|s| s.partition == 0))
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(with_p0, ["Task-11"]);
        assert!(second
            .model
            .tasks()
            .all(|t| t.ssps.iter().any(|s| s.partition == 1)));
    }

    /// Samza reads the container count before anything else, so its error comes first.
    #[test]
    fn a_bad_container_count_is_refused_first() {
        let c = Config::of(&[
            ("job.name", "j"),
            ("task.inputs", "no-dot"),
            ("job.container.count", "two"),
        ]);
        let err = plan(&c, &facts(&[]), None).unwrap_err();
        assert!(
            matches!(&err, SamzaError::Config { key, .. } if key == "job.container.count"),
            "{err}"
        );
    }

    #[test]
    fn every_error_path_surfaces() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("job.container.count", "3")],
                "Your container count (3) is larger than your task count (2)",
            ),
            (
                &[("job.container.count", "0")],
                "Must have at least one container",
            ),
            (
                &[("job.elasticity.factor", "0")],
                "Elasticity factor can not be less than 1",
            ),
            (
                &[("task.broadcast.inputs", "kafka.b")],
                "incorrect format in kafka.b.",
            ),
            (
                &[("job.systemstreampartition.grouper.factory", "x")],
                "unknown SSP grouper factory",
            ),
            (
                &[("task.name.grouper.factory", "x")],
                "unknown task name grouper factory",
            ),
        ];
        for (extra, want) in cases {
            let mut pairs = base();
            pairs.extend_from_slice(extra);
            let err = plan(&Config::of(&pairs), &facts(&[("kafka.a", 2)]), None)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{extra:?}: {err}");
        }
        let no_inputs = Config::of(&[("job.name", "j"), ("job.default.system", "kafka")]);
        let err = plan(&no_inputs, &facts(&[]), None).unwrap_err().to_string();
        assert!(err.contains("No tasks found"), "{err}");
        let no_name = Config::of(&[("task.inputs", "kafka.a")]);
        let err = plan(&no_name, &facts(&[("kafka.a", 1)]), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("job.name"), "{err}");
    }

    #[test]
    fn a_stored_changelog_partition_beyond_samzas_int_is_refused() {
        let mut previous = Previous::default();
        previous.changelog.insert("Partition 0".into(), u32::MAX);
        let err = plan(
            &Config::of(&base()),
            &facts(&[("kafka.a", 2)]),
            Some(&previous),
        )
        .unwrap_err();
        assert!(
            matches!(&err, SamzaError::Previous { message } if message.contains("changelog partition 4294967295")),
            "{err}"
        );
    }

    /// Spec 4.3: the complete HEAD example, compared with the JSON the real Samza classes produced.
    #[test]
    fn spec_example_reproduced() {
        let expected_text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/samza/example-4.3.json"
        ));
        let c = Config::of(&[
            ("job.name", "example-job"),
            ("job.id", "1"),
            ("job.container.count", "2"),
            ("job.default.system", "kafka"),
            ("task.inputs", "kafka.PageViewEvent,kafka.AdClickEvent"),
        ]);
        let p = plan(
            &c,
            &facts(&[("kafka.PageViewEvent", 4), ("kafka.AdClickEvent", 2)]),
            None,
        )
        .unwrap();
        let ours: serde_json::Value =
            serde_json::from_str(&p.model.to_json(crate::samza::SamzaVersion::default())).unwrap();
        let theirs: serde_json::Value = serde_json::from_str(expected_text).unwrap();
        // Samza's SSP arrays come from HashSets: compare them as sets. Objects compare without order.
        assert_eq!(normalize(&ours), normalize(&theirs));
        // Key order of the objects whose order Samza fixes.
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(keys(&ours), keys(&theirs), "JobModel keys");
        let (oc, tc) = (&ours["containers"]["1"], &theirs["containers"]["1"]);
        assert_eq!(keys(oc), keys(tc), "ContainerModel keys");
        let (ot, tt) = (&oc["tasks"]["Partition 3"], &tc["tasks"]["Partition 3"]);
        assert_eq!(keys(ot), keys(tt), "TaskModel keys");
        assert_eq!(
            keys(&ot["system-stream-partitions"][0]),
            keys(&tt["system-stream-partitions"][0]),
            "SSP keys"
        );
        assert_eq!(p.model.max_changelog_partitions(), 4);
        assert_eq!(
            p.internal_topics[0].name,
            "__samza_coordinator_example-job_1"
        );
    }

    fn normalize(v: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
            }
            Value::Array(a) => {
                let mut items: Vec<Value> = a.iter().map(normalize).collect();
                items.sort_by_key(|x| x.to_string());
                Value::Array(items)
            }
            other => other.clone(),
        }
    }

    /// The hello-samza job configs of the repository's test corpus.
    fn hello_samza_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/hello-samza")
    }

    /// Inputs of hello-samza's high-level (app.class) jobs, which Samza's JobPlanner writes into task.inputs
    /// from Java descriptors (spec section 9); the low-level jobs list their own.
    fn generated_inputs(file: &str) -> Option<&'static str> {
        Some(match file {
            "filter-example.properties" => "kafka.pageview-filter-input",
            "join-example.properties" => {
                "kafka.pageview-join-input,kafka.adclick-join-input,\
                 kafka.pageview-adclick-joiner-1-partition_by-pageview,kafka.pageview-adclick-joiner-1-partition_by-adclick"
            }
            "remote-table-join-example.properties" => "kafka.stock-symbol-input",
            "session-window-example.properties" => {
                "kafka.pageview-session-input,kafka.pageview-sessionizer-1-partition_by-pageview"
            }
            "stream-table-join-example.properties" => {
                "kafka.profile-table-input,kafka.pageview-join-input,kafka.pageview-profile-table-joiner-1-partition_by-join"
            }
            "tumbling-window-example.properties" => {
                "kafka.pageview-tumbling-input,kafka.tumbling-pageview-counter-1-partition_by-userId"
            }
            "wikipedia-application.properties" | "wikipedia-application-local-runner.properties" => {
                "wikipedia.#en.wikipedia,wikipedia.#en.wiktionary,wikipedia.#en.wikinews"
            }
            "azure-application-local-runner.properties" => "eventhubs.input-stream",
            _ => return None,
        })
    }

    #[test]
    fn legacy_hello_samza_configs_plan() {
        let root = hello_samza_dir();
        let mut planned = 0;
        for dir in std::fs::read_dir(&root).unwrap() {
            let dir = dir.unwrap().path();
            let is_legacy = dir
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("legacy-"));
            if !is_legacy {
                continue;
            }
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            for path in files
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "properties"))
            {
                let file = path.file_name().unwrap().to_str().unwrap().to_string();
                let text = std::fs::read_to_string(&path).unwrap();
                let mut config =
                    Config::from_properties(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
                if config.get("task.inputs").is_none() {
                    let inputs = generated_inputs(&file)
                        .unwrap_or_else(|| panic!("{file}: no inputs known"));
                    config.set("task.inputs", inputs);
                }
                let request = required_inputs(&config).unwrap();
                // Chosen counts: 8 partitions per stream, 1 for the wikipedia IRC channels (as Samza's
                // WikipediaSystemAdmin reports).
                let counts = request
                    .streams
                    .iter()
                    .map(|s| (s.clone(), if &*s.system == "wikipedia" { 1 } else { 8 }))
                    .collect();
                let facts = PartitionFacts {
                    counts,
                    topics: BTreeMap::new(),
                };
                let p = plan(&config, &facts, None)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                // Every input SSP is in exactly one task.
                let mut seen = BTreeSet::new();
                for t in p.model.tasks() {
                    for s in &t.ssps {
                        assert!(seen.insert(s.clone()), "{file}: {s} twice");
                    }
                }
                let total: u32 = facts.counts.values().sum();
                assert_eq!(seen.len() as u32, total, "{file}");
                assert_eq!(
                    p.model.containers.len() as u32,
                    config.container_count().unwrap(),
                    "{file}"
                );
                if config.store_names().contains(&"wikipedia-stats") {
                    let topic = &p.changelog_topics[0];
                    assert_eq!(topic.name, "wikipedia-stats-changelog", "{file}");
                    assert_eq!(
                        topic.partitions,
                        p.model.max_changelog_partitions(),
                        "{file}"
                    );
                }
                let back =
                    JobModel::from_json(&p.model.to_json(crate::samza::SamzaVersion::default()))
                        .unwrap();
                assert_eq!(back, p.model, "{file}");
                planned += 1;
            }
        }
        assert_eq!(
            planned,
            15,
            "expected 3 + 12 legacy configs under {}",
            root.display()
        );
    }
}

/// Invariants over random jobs: partitions, tasks and changelog numbers are each accounted for exactly once,
/// and a stored changelog mapping is never altered.
#[cfg(test)]
mod proptests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;

    fn job(
        counts: &[u32],
        containers: u32,
        by_ssp: bool,
        host_affinity: bool,
        standby: u32,
        broadcast: bool,
    ) -> (Config, PartitionFacts) {
        let mut c = Config::default();
        c.set("job.name", "prop");
        c.set("job.default.system", "kafka");
        let names: Vec<String> = (0..counts.len()).map(|i| format!("kafka.s{i}")).collect();
        c.set("task.inputs", names.join(","));
        c.set("job.container.count", containers.to_string());
        if by_ssp {
            c.set(
                "job.systemstreampartition.grouper.factory",
                config::GROUP_BY_SSP,
            );
        }
        if host_affinity {
            c.set("job.host-affinity.enabled", "true");
        }
        c.set("job.standbytasks.replication.factor", standby.to_string());
        if broadcast {
            c.set("task.broadcast.inputs", "kafka.s0#0");
        }
        let counts = names
            .iter()
            .zip(counts)
            .map(|(n, c)| (SystemStream::parse(n, "t").unwrap(), *c))
            .collect();
        (
            c,
            PartitionFacts {
                counts,
                topics: BTreeMap::new(),
            },
        )
    }

    fn task_count(counts: &[u32], by_ssp: bool) -> u32 {
        if by_ssp {
            counts.iter().sum()
        } else {
            counts.iter().copied().max().unwrap_or(0)
        }
    }

    fn check(p: &Plan, facts: &PartitionFacts, broadcast: bool) -> Result<(), TestCaseError> {
        let broadcast_ssp = Ssp::new(&SystemStream::new("kafka", "s0"), 0);
        let mut owner: BTreeMap<Ssp, usize> = BTreeMap::new();
        let mut task_names = BTreeSet::new();
        let mut numbers = BTreeSet::new();
        for c in &p.model.containers {
            for t in &c.tasks {
                prop_assert!(
                    task_names.insert(t.name.clone()),
                    "task {} in two containers",
                    t.name
                );
                if t.mode != TaskMode::Active {
                    continue;
                }
                prop_assert!(
                    numbers.insert(t.changelog_partition),
                    "changelog {} twice",
                    t.changelog_partition
                );
                for s in &t.ssps {
                    if broadcast && *s == broadcast_ssp {
                        continue;
                    }
                    *owner.entry(s.clone()).or_default() += 1;
                }
                if broadcast {
                    prop_assert!(t.ssps.contains(&broadcast_ssp));
                }
            }
        }
        let expected: u32 = facts.counts.values().sum::<u32>() - u32::from(broadcast);
        prop_assert_eq!(owner.len() as u32, expected);
        prop_assert!(
            owner.values().all(|&n| n == 1),
            "an SSP is in more than one active task"
        );
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        #[test]
        fn plans_account_for_everything_once(
            counts in prop::collection::vec(1u32..30, 1..4),
            containers_seed in 1u32..40,
            by_ssp in any::<bool>(),
            standby in 1u32..3,
            broadcast in any::<bool>(),
        ) {
            // With a broadcast SSP, partition 0 of s0 creates a task only if another stream has a partition 0.
            let tasks = task_count(&counts, by_ssp) - u32::from(broadcast && (by_ssp || counts.len() == 1));
            prop_assume!(tasks > 0);
            let containers = 1 + containers_seed % tasks;
            let (c, facts) = job(&counts, containers, by_ssp, false, standby, broadcast);
            let p = plan(&c, &facts, None).unwrap();
            check(&p, &facts, broadcast)?;
            prop_assert_eq!(p.model.containers.len() as u32, containers * standby);
        }

        #[test]
        fn replans_keep_stored_changelog_and_balance(
            counts in prop::collection::vec(1u32..30, 1..3),
            grow in 0u32..20,
            first_seed in 1u32..40,
            second_seed in 1u32..40,
            host_affinity in any::<bool>(),
            extra in prop::collection::btree_map("[A-Z][a-z]{0,6}", 0u32..50, 0..4),
        ) {
            let tasks = task_count(&counts, false);
            let (c1, f1) = job(&counts, 1 + first_seed % tasks, false, host_affinity, 1, false);
            let first = plan(&c1, &f1, None).unwrap();
            let mut previous = Previous::from_model(&first.model);
            // Unrelated stored entries (tasks that disappeared) must survive too.
            for (k, v) in &extra {
                previous.changelog.entry(k.clone()).or_insert(*v + 1000);
            }
            let grown: Vec<u32> = counts.iter().map(|c| c + grow).collect();
            let tasks2 = task_count(&grown, false);
            let containers2 = 1 + second_seed % tasks2;
            let (c2, f2) = job(&grown, containers2, false, host_affinity, 1, false);
            let second = plan(&c2, &f2, Some(&previous)).unwrap();
            check(&second, &f2, false)?;
            for (k, v) in &previous.changelog {
                prop_assert_eq!(second.changelog_mapping.get(k), Some(v), "stored entry {} changed", k);
            }
            for t in second.model.tasks() {
                if let Some(v) = previous.changelog.get(&t.name) {
                    prop_assert_eq!(t.changelog_partition, *v);
                }
            }
            prop_assert_eq!(second.model.containers.len() as u32, containers2);
            if host_affinity && grow == 0 {
                // Balance keeps sizes within one of each other unless the old mapping is reused verbatim.
                let sizes: Vec<usize> = second.model.containers.iter().map(|c| c.tasks.len()).collect();
                let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                prop_assert!(max - min <= 1, "sizes {:?}", sizes);
            }
        }
    }
}
