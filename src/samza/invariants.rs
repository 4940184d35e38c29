//! Property tests: the guarantees Samza's job model gives, over generated jobs (every SSP grouper and task
//! grouper, broadcast inputs, elasticity, standby, stores, host affinity, a previous deployment). They hold for
//! any correct planner, so they cannot show that ours is Samza's; the regression cases of the differential test
//! do that. Samza's own refusals are accepted as outcomes; anything else failing is a bug.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::config::{self, Config};
use super::job_model::{TaskMode, TaskModel};
use super::planner::{plan, PartitionFacts, Plan, Previous};
use super::{JobModel, SamzaError, SamzaVersion, Ssp, SystemStream};

/// A generated job; also used by the previous-state equivalence test (`previous`).
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) counts: Vec<u32>,
    pub(crate) ssp_grouper: &'static str,
    pub(crate) task_grouper: &'static str,
    pub(crate) containers: u32,
    pub(crate) elasticity: u32,
    pub(crate) broadcast: bool,
    pub(crate) standby: u32,
    pub(crate) store: bool,
    pub(crate) host_affinity: bool,
}

impl Job {
    pub(crate) fn config(&self) -> Config {
        let mut c = Config::default();
        c.set("job.name", "prop");
        c.set("job.default.system", "kafka");
        let names: Vec<String> = (0..self.counts.len())
            .map(|i| format!("kafka.s{i}"))
            .collect();
        c.set("task.inputs", names.join(","));
        c.set(
            "job.systemstreampartition.grouper.factory",
            self.ssp_grouper,
        );
        c.set("task.name.grouper.factory", self.task_grouper);
        c.set("processor.id", "0");
        c.set("job.container.count", self.containers.to_string());
        c.set("job.elasticity.factor", self.elasticity.to_string());
        c.set(
            "job.standbytasks.replication.factor",
            self.standby.to_string(),
        );
        if self.broadcast {
            c.set("task.broadcast.inputs", "kafka.s0#0");
        }
        if self.store {
            c.set(
                "stores.st.factory",
                "org.apache.samza.storage.kv.RocksDbKeyValueStorageEngineFactory",
            );
            c.set("stores.st.changelog", "kafka.st-changelog");
        }
        if self.host_affinity {
            c.set("job.host-affinity.enabled", "true");
        }
        c
    }

    pub(crate) fn facts(&self) -> PartitionFacts {
        PartitionFacts {
            counts: self
                .counts
                .iter()
                .enumerate()
                .map(|(i, n)| (SystemStream::new("kafka", &format!("s{i}")), *n))
                .collect(),
            topics: BTreeMap::new(),
        }
    }

    fn broadcast_ssp(&self) -> Option<Ssp> {
        self.broadcast
            .then(|| Ssp::new(&SystemStream::new("kafka", "s0"), 0))
    }

    /// The SSP units a grouper hands out: every input SSP (one per key bucket with elasticity), broadcast ones
    /// excepted.
    fn units(&self) -> BTreeSet<Ssp> {
        let factor = match self.ssp_grouper {
            config::ALL_SSP_TO_SINGLE_TASK => 1,
            _ => self.elasticity,
        };
        let mut out = BTreeSet::new();
        for (i, n) in self.counts.iter().enumerate() {
            let stream = SystemStream::new("kafka", &format!("s{i}"));
            for p in 0..*n {
                let ssp = Ssp::new(&stream, p);
                if Some(&ssp) == self.broadcast_ssp().as_ref() {
                    continue;
                }
                if factor == 1 {
                    out.insert(ssp);
                } else {
                    out.extend((0..factor as i32).map(|b| ssp.with_key_bucket(b)));
                }
            }
        }
        out
    }
}

/// Samza's documented refusals: no tasks (a broadcast-only partition makes none), more containers than tasks,
/// an input grown by a non-multiple while the expansion proxy is on, a previous SSP owner that no longer exists
/// (Samza's NullPointerException).
pub(crate) fn is_samza_refusal(e: &SamzaError) -> bool {
    let text = e.to_string();
    [
        "No tasks found",
        "cannot group an empty set",
        "is larger than your task count",
        "should be a multiple of previous partition count",
        "but that task no longer exists",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

pub(crate) fn job() -> impl Strategy<Value = Job> {
    (
        prop::collection::vec(1u32..9, 1..4),
        prop::sample::select(vec![
            config::GROUP_BY_PARTITION,
            config::GROUP_BY_SSP,
            config::ALL_SSP_TO_SINGLE_TASK,
        ]),
        prop::sample::select(vec![
            config::GROUP_BY_CONTAINER_COUNT,
            config::GROUP_BY_CONTAINER_IDS,
            config::SINGLE_CONTAINER,
        ]),
        1u32..7,
        1u32..3,
        any::<bool>(),
        1u32..4,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(counts, ssp, task, containers, elasticity, broadcast, standby, store, ha)| Job {
                counts,
                ssp_grouper: ssp,
                task_grouper: task,
                containers,
                elasticity,
                // AllSspToSingleTaskGrouper refuses broadcast streams outright.
                broadcast: broadcast && ssp != config::ALL_SSP_TO_SINGLE_TASK,
                standby,
                store,
                host_affinity: ha,
            },
        )
}

fn check(job: &Job, previous: Option<&Previous>, p: &Plan) -> Result<(), TestCaseError> {
    let model = &p.model;
    let active: Vec<(&str, &TaskModel)> = model
        .containers
        .iter()
        .flat_map(|c| c.tasks.iter().map(move |t| (c.id.as_str(), t)))
        .filter(|(_, t)| t.mode == TaskMode::Active)
        .collect();
    let broadcast = job.broadcast_ssp();
    let units = job.units();

    // Every input SSP unit in exactly one active task; AllSspToSingleTask gives every task all of them, unless
    // the expansion proxy (a stateful job with a previous assignment) moved shared SSPs to their previous owner.
    if job.ssp_grouper == config::ALL_SSP_TO_SINGLE_TASK {
        let proxied = job.store && previous.is_some_and(|p| !p.task_ssps.is_empty());
        let mut seen = BTreeSet::new();
        for (_, t) in &active {
            let own: BTreeSet<Ssp> = t.ssps.iter().cloned().collect();
            prop_assert!(proxied || own == units, "{} lacks SSPs", t.name);
            seen.extend(own);
        }
        prop_assert_eq!(&seen, &units);
    } else {
        let mut owners: BTreeMap<&Ssp, usize> = BTreeMap::new();
        for (_, t) in &active {
            for s in &t.ssps {
                if Some(s) != broadcast.as_ref() {
                    *owners.entry(s).or_default() += 1;
                }
            }
            if let Some(b) = &broadcast {
                prop_assert!(t.ssps.contains(b), "{} lacks the broadcast SSP", t.name);
            }
        }
        let owned: BTreeSet<Ssp> = owners.keys().map(|s| (*s).clone()).collect();
        prop_assert_eq!(&owned, &units);
        prop_assert!(
            owners.values().all(|&n| n == 1),
            "an SSP in two active tasks"
        );
    }

    // Changelog partitions: unique per active task, kept for every task Samza remembers, new ones above the
    // remembered maximum.
    let mut numbers = BTreeSet::new();
    let stored_max = previous.and_then(|p| p.changelog.values().max().copied());
    for (_, t) in &active {
        prop_assert!(
            numbers.insert(t.changelog_partition),
            "changelog {} twice",
            t.changelog_partition
        );
        match previous.and_then(|p| p.changelog.get(&t.name)) {
            Some(&kept) => prop_assert_eq!(t.changelog_partition, kept, "{} moved", &t.name),
            None => {
                if let Some(max) = stored_max {
                    prop_assert!(
                        t.changelog_partition > max,
                        "new {} reuses {}",
                        t.name,
                        t.changelog_partition
                    );
                }
            }
        }
    }
    if let Some(previous) = previous {
        for (task, number) in &previous.changelog {
            prop_assert_eq!(
                p.changelog_mapping.get(task),
                Some(number),
                "stored {} forgotten",
                task
            );
        }
    }

    // Standby containers `C-r` mirror active container C with `Standby-<task>-r`, never in C itself.
    let by_id: BTreeMap<&str, &Vec<TaskModel>> = model
        .containers
        .iter()
        .map(|c| (c.id.as_str(), &c.tasks))
        .collect();
    let active_ids: Vec<&str> = model
        .containers
        .iter()
        .filter(|c| !model.is_standby(c))
        .map(|c| c.id.as_str())
        .collect();
    prop_assert!(
        active_ids.iter().all(|id| !id.contains('-')),
        "{:?}",
        active_ids
    );
    prop_assert_eq!(model.active_container_count(), active_ids.len());
    for id in &active_ids {
        for r in 0..job.standby - 1 {
            let standby_id = format!("{id}-{r}");
            let standby = by_id.get(standby_id.as_str());
            prop_assert!(standby.is_some(), "no standby container {}", standby_id);
            let standby = standby.unwrap();
            let tasks = by_id[id];
            prop_assert_eq!(standby.len(), tasks.len());
            for t in tasks.iter() {
                let name = format!("Standby-{}-{r}", t.name);
                let s = standby.iter().find(|s| s.name == name);
                prop_assert!(s.is_some(), "no {} in {}", name, standby_id);
                let s = s.unwrap();
                prop_assert_eq!(s.mode, TaskMode::Standby);
                prop_assert_eq!(&s.ssps, &t.ssps);
                prop_assert_eq!(s.changelog_partition, t.changelog_partition);
            }
        }
    }
    prop_assert_eq!(
        model.containers.len(),
        active_ids.len() * job.standby as usize
    );

    // Container count and balance as each task grouper defines them.
    let sizes: Vec<usize> = active_ids.iter().map(|id| by_id[id].len()).collect();
    let tasks = active.len();
    let balanced = sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1;
    match job.task_grouper {
        config::SINGLE_CONTAINER => {
            prop_assert_eq!(&active_ids, &vec!["0"]);
        }
        config::GROUP_BY_CONTAINER_IDS => {
            prop_assert_eq!(active_ids.len(), (job.containers as usize).min(tasks));
            prop_assert!(balanced, "sizes {:?}", sizes);
        }
        _ => {
            prop_assert_eq!(active_ids.len(), job.containers as usize);
            // With host affinity and as many containers as before, Samza keeps the old placement as it was.
            let reused = job.host_affinity
                && previous.is_some_and(|p| {
                    p.task_container.len() == tasks
                        && p.task_container.values().collect::<BTreeSet<_>>().len()
                            == job.containers as usize
                });
            prop_assert!(reused || balanced, "sizes {:?}", sizes);
        }
    }

    // Same input, same bytes; the bytes read back to the same model.
    let json = model.to_json(SamzaVersion::default());
    prop_assert_eq!(&JobModel::from_json(&json).unwrap(), model);
    Ok(())
}

/// Plans `job`, accepting only Samza's own refusals as failures.
fn plan_or_refusal(job: &Job, previous: Option<&Previous>) -> Result<Option<Plan>, TestCaseError> {
    match plan(&job.config(), &job.facts(), previous) {
        Ok(p) => Ok(Some(p)),
        Err(e) if is_samza_refusal(&e) => Ok(None),
        Err(e) => Err(TestCaseError::fail(format!("{e} for {job:?}"))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fresh_and_replanned_models_keep_samzas_invariants(
        current in job(),
        earlier_containers in 1u32..7,
        grow in 1u32..3,
        redeploy in any::<bool>(),
    ) {
        let Some(first) = plan_or_refusal(&current, None)? else { return Ok(()) };
        check(&current, None, &first)?;
        let again = plan(&current.config(), &current.facts(), None).unwrap();
        prop_assert_eq!(
            first.model.to_json(SamzaVersion::default()),
            again.model.to_json(SamzaVersion::default())
        );
        if !redeploy {
            return Ok(());
        }
        // An earlier deployment of the same job with fewer partitions (the inputs then grew by `grow`) and
        // another container count, remembered as Samza's coordinator stream remembers it.
        let earlier = Job {
            containers: earlier_containers,
            counts: current.counts.iter().map(|c| c.div_ceil(grow)).collect(),
            ..current.clone()
        };
        let grown = Job {
            counts: earlier.counts.iter().map(|c| c * grow).collect(),
            ..current.clone()
        };
        let Some(before) = plan_or_refusal(&earlier, None)? else { return Ok(()) };
        let previous = Previous::from_model(&before.model);
        if let Some(after) = plan_or_refusal(&grown, Some(&previous))? {
            check(&grown, Some(&previous), &after)?;
        }
    }
}
