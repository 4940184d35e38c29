//! Task → container: the task-name groupers (`GroupByContainerCount` with its host-affinity `balance`,
//! `GroupByContainerIds`, `SingleContainerGrouper`) and the processor-id order Samza hands them (spec 2.1–2.5).
//!
//! Tasks arrive sorted by Java `TaskName` order and are referred to by index, so a 100,000-task plan moves
//! integers, not names. Where Samza's result depends on a Java `HashMap`'s iteration order over processor
//! ids, that order is emulated exactly (`java_hashmap_order`); where it depends on a `HashSet` of task
//! models (hash codes of whole SSP sets), sorted task order is used instead and the function says so.

use std::collections::{BTreeMap, VecDeque};

use super::config::{self, Config};
use super::SamzaError;

/// Java's `String.hashCode` (over UTF-16 code units, wrapping 32-bit arithmetic).
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// The iteration order of a `java.util.HashMap` (default capacity 16, load factor 0.75) after inserting the
/// distinct `keys` in the given order, as indices into `keys`. Buckets are visited in index order
/// (`(h ^ (h >>> 16)) & (capacity - 1)`); inside a bucket entries keep insertion order, which resizing
/// preserves. The table doubles when the size passes 3/4 of the capacity, and also when a bucket reaches 9
/// entries while the capacity is below 64 (`treeifyBin` resizes instead of building a tree there).
/// Not emulated: a bucket of 9+ entries in a table of 64+ becomes a red-black tree whose root Java moves to
/// the bucket's front; that needs nine keys with equal low hash bits, which names of tasks and processors
/// practically never have.
pub fn java_hashmap_order<S: AsRef<str>>(keys: &[S]) -> Vec<usize> {
    const TREEIFY_THRESHOLD: usize = 8;
    const MIN_TREEIFY_CAPACITY: usize = 64;
    let hashes: Vec<u32> = keys
        .iter()
        .map(|k| {
            let h = java_string_hash(k.as_ref()) as u32;
            h ^ (h >> 16)
        })
        .collect();
    let mut capacity: usize = 16;
    let mut bins: Vec<usize> = vec![0; capacity];
    let rehash = |capacity: usize, inserted: &[u32]| {
        let mut bins = vec![0usize; capacity];
        for h in inserted {
            bins[*h as usize & (capacity - 1)] += 1;
        }
        bins
    };
    for (i, h) in hashes.iter().enumerate() {
        let bin = *h as usize & (capacity - 1);
        bins[bin] += 1;
        // `putVal` appends to the bin's list; a ninth node there calls `treeifyBin`, which only resizes
        // while the table is small.
        if bins[bin] > TREEIFY_THRESHOLD && capacity < MIN_TREEIFY_CAPACITY {
            capacity *= 2;
            bins = rehash(capacity, &hashes[..=i]);
        }
        // `++size > threshold`.
        if i + 1 > capacity / 4 * 3 {
            capacity *= 2;
            bins = rehash(capacity, &hashes[..=i]);
        }
    }
    let mut order: Vec<usize> = (0..keys.len()).collect();
    // Stable: equal buckets keep insertion order.
    order.sort_by_key(|&i| hashes[i] as usize & (capacity - 1));
    order
}

/// Cluster mode's processor ids: `"0".."N-1"`, one per container of `job.container.count` (spec 2.5), held as
/// their count. A count is any `int` up to 2,147,483,647, and the groupers that refuse or truncate a count
/// larger than the task count never need more than the task count of them, so they are only ever listed as far
/// as a grouper uses them: a typo in the count fails in microseconds instead of allocating gigabytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessorIds {
    count: u32,
}

impl ProcessorIds {
    /// A count of 0 or less gives no ids (Samza's loop does not run).
    pub fn new(container_count: i32) -> ProcessorIds {
        ProcessorIds {
            count: container_count.max(0) as u32,
        }
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Every id as the keys of `JobModelHelper`'s processor-locality `HashMap`: 12 ids → 0,11,1,…,10.
    /// Callers bound the count first (it is at most the task count, or checked against the model limit).
    pub fn in_hashmap_order(&self) -> Vec<String> {
        let ids: Vec<String> = (0..self.count).map(|i| i.to_string()).collect();
        in_hashmap_order(&ids)
    }

    /// The `n` least ids in Java string order ("0", "1", "10", "100", …, "11", …), without listing the others:
    /// a pre-order walk of the decimal digit trie of `0..count`.
    pub fn least(&self, n: usize) -> Vec<String> {
        let count = u64::from(self.count);
        let mut out = Vec::with_capacity(n.min(self.len()));
        if count == 0 || n == 0 {
            return out;
        }
        out.push("0".to_string());
        let mut cur: u64 = 1;
        while out.len() < n && cur < count {
            out.push(cur.to_string());
            if cur * 10 < count {
                cur *= 10;
            } else {
                while cur % 10 == 9 || cur + 1 >= count {
                    cur /= 10;
                    if cur == 0 {
                        return out;
                    }
                }
                cur += 1;
            }
        }
        out
    }

    /// The ids as Samza lists them in a message (`containerIds=[…]`), abbreviated when there are many.
    pub fn describe(&self) -> String {
        const SHOWN: u32 = 16;
        if self.count <= SHOWN {
            self.in_hashmap_order().join(", ")
        } else {
            format!("0, 1, …, {} ({} ids)", self.count - 1, self.count)
        }
    }
}

/// `keys` as a `java.util.HashMap` filled with them in this order iterates them.
fn in_hashmap_order(keys: &[String]) -> Vec<String> {
    java_hashmap_order(keys)
        .into_iter()
        .map(|i| keys[i].clone())
        .collect()
}

/// One container of the active assignment: its id and indices of its tasks (ascending = name order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    pub id: String,
    pub tasks: Vec<usize>,
}

fn no_tasks() -> SamzaError {
    SamzaError::Model {
        message:
            "No tasks found. Likely due to no input partitions. Can't run a job with no tasks. \
                  Check task.inputs and the partition counts given to the planner."
                .into(),
    }
}

fn container_count_key(config: &Config) -> &'static str {
    config
        .container_count_key()
        .unwrap_or("job.container.count")
}

/// `GroupByContainerCount#group(tasks)` validation (spec 2.2).
fn validate_count(config: &Config, n: usize, t: usize) -> Result<(), SamzaError> {
    if t == 0 {
        return Err(no_tasks());
    }
    if t < n {
        let key = container_count_key(config);
        // A refusal of the model (config and partition counts together), not of the key alone.
        return Err(SamzaError::Model {
            message: format!(
                "{key}: Your container count ({n}) is larger than your task count ({t}). Can't have containers with \
                 nothing to do, so aborting. Set {key} to at most {t}, or give the inputs more partitions."
            ),
        });
    }
    Ok(())
}

/// Round-robin of the sorted tasks over `ids` in list order (`GroupByContainerCount#group`,
/// `GroupByContainerIds#group(tasks, ids)`).
fn round_robin(ids: &[String], t: usize) -> Vec<Assigned> {
    let n = ids.len();
    let mut out: Vec<Assigned> = ids
        .iter()
        .map(|id| Assigned {
            id: id.clone(),
            tasks: Vec::with_capacity(t / n + 1),
        })
        .collect();
    for i in 0..t {
        out[i % n].tasks.push(i);
    }
    out
}

/// Runs the task-name grouper of `task.name.grouper.factory`.
/// `tasks` are the active task names in Java order; `previous` is the stored task → container mapping
/// (used only with host affinity); `processor_ids` are cluster mode's ids (see [`processor_ids`]).
pub fn assign(
    config: &Config,
    tasks: &[&str],
    previous: &BTreeMap<String, String>,
    processor_ids: ProcessorIds,
) -> Result<Vec<Assigned>, SamzaError> {
    let host_affinity = config.host_affinity_enabled();
    match config.task_grouper_factory() {
        config::GROUP_BY_CONTAINER_COUNT => {
            let n = config.container_count()? as usize;
            validate_count(config, n, tasks.len())?;
            // Without host affinity Samza calls group(tasks, processorIds), which this grouper does not
            // override: it falls back to the plain group(tasks).
            if host_affinity {
                Ok(balance(n, tasks, previous))
            } else {
                let ids: Vec<String> = (0..n).map(|i| i.to_string()).collect();
                Ok(round_robin(&ids, tasks.len()))
            }
        }
        config::GROUP_BY_CONTAINER_IDS => {
            // With host affinity `group(tasks, grouperMetadata)` checks the tasks first; without it
            // `group(tasks, ids)` checks the ids first. The ids are empty exactly when the count is below 1.
            if host_affinity && tasks.is_empty() {
                return Err(no_tasks());
            }
            config.container_count()?;
            if tasks.is_empty() {
                return Err(SamzaError::Model {
                    message: format!(
                        "cannot group an empty set. containerIds=[{}]. Give the job at least one input partition \
                         (task.inputs and the partition counts given to the planner).",
                        processor_ids.describe()
                    ),
                });
            }
            if host_affinity {
                Ok(group_by_ids_with_locality(tasks.len(), processor_ids))
            } else {
                // Samza warns and keeps the lexicographically least ids when there are more ids than tasks.
                let ids = if processor_ids.len() > tasks.len() {
                    processor_ids.least(tasks.len())
                } else {
                    processor_ids.in_hashmap_order()
                };
                Ok(round_robin(&ids, tasks.len()))
            }
        }
        config::SINGLE_CONTAINER => {
            let id = config.get("processor.id").ok_or_else(|| SamzaError::Config {
                key: "processor.id".into(),
                message: "SingleContainerGrouperFactory puts every task in the container named by processor.id, \
                          which is not set. Set processor.id, or use GroupByContainerCountFactory."
                    .into(),
            })?;
            // Neither the container count nor an empty task set matters to this grouper: no inputs give one
            // container without tasks.
            Ok(vec![Assigned { id: id.to_string(), tasks: (0..tasks.len()).collect() }])
        }
        other => Err(SamzaError::Config {
            key: "task.name.grouper.factory".into(),
            message: format!(
                "unknown task name grouper factory '{other}'; the planner knows {}, {} and {}. Use one of them.",
                config::GROUP_BY_CONTAINER_COUNT,
                config::GROUP_BY_CONTAINER_IDS,
                config::SINGLE_CONTAINER
            ),
        }),
    }
}

/// `GroupByContainerCount#group(tasks, grouperMetadata)` — the balance path (spec 2.3), after validation.
///
/// A stored assignment Samza cannot use (another task count, ids that are not exactly "0".."k-1", such as a
/// `SingleContainerGrouper`'s `processor.id`) gives the plain grouping: `getPreviousContainers(GrouperMetadata,
/// ..)` returns null for it (`getOrderedContainers` throws, and the exception is caught). Samza before 1.1 read
/// the mapping through `TaskAssignmentManager` and threw "cannot handle non-integer processorIds" instead.
///
/// Deviation (docs/samza-fidelity.md): when the previous mapping has as many tasks as now but other names
/// (e.g. a new SSP grouper renamed them), Samza fails to start (`getPreviousContainers` checks only the task
/// count, and `TaskGroup.buildContainerModels` meets a null `TaskModel`). This falls back to the plain grouping
/// instead, which is what a fresh mapping would give; for a job with state the safety gate refuses the rename
/// (`tasks-removed`), since it orphans every old task's state.
fn balance(n: usize, tasks: &[&str], previous: &BTreeMap<String, String>) -> Vec<Assigned> {
    let t = tasks.len();
    let plain = || round_robin(&(0..n).map(|i| i.to_string()).collect::<Vec<_>>(), t);
    if previous.is_empty() || previous.len() != t {
        return plain();
    }
    let index: std::collections::HashMap<&str, usize> =
        tasks.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    if previous
        .keys()
        .any(|name| !index.contains_key(name.as_str()))
    {
        return plain();
    }
    // Old containers must be exactly "0".."k-1".
    let mut by_id: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (name, id) in previous {
        let numeric = id.parse::<usize>().ok().filter(|v| v.to_string() == *id);
        let Some(num) = numeric else {
            return plain();
        };
        by_id.entry(num).or_default().push(index[name.as_str()]);
    }
    let k = by_id.len();
    if by_id.keys().copied().ne(0..k) {
        return plain();
    }
    if k == 1 || n == 1 {
        return plain();
    }
    // Task indices are in name order, so sorting indices sorts names (Samza sorts each old list by name).
    let mut old: Vec<Vec<usize>> = by_id
        .into_values()
        .map(|mut v| {
            v.sort_unstable();
            v
        })
        .collect();
    if k == n {
        return old
            .into_iter()
            .enumerate()
            .map(|(i, tasks)| Assigned {
                id: i.to_string(),
                tasks,
            })
            .collect();
    }
    let expected: Vec<usize> = (0..k.max(n))
        .map(|i| {
            if i < n {
                t / n + usize::from(t % n > i)
            } else {
                0
            }
        })
        .collect();
    let mut queue: VecDeque<usize> = VecDeque::new();
    for (i, c) in old.iter_mut().enumerate() {
        while c.len() > expected[i] {
            queue.push_back(c.pop().expect("non-empty"));
        }
    }
    old.resize_with(n, Vec::new);
    for (i, c) in old.iter_mut().enumerate() {
        while c.len() < expected[i] {
            match queue.pop_front() {
                Some(task) => c.push(task),
                None => break,
            }
        }
    }
    old.into_iter()
        .enumerate()
        .map(|(i, mut tasks)| {
            tasks.sort_unstable();
            Assigned {
                id: i.to_string(),
                tasks,
            }
        })
        .collect()
}

/// `GroupByContainerIds#group(tasks, grouperMetadata)` without known task locations (the planner has no
/// hosts). Samza copies the processor locality into a `TreeMap` (ids in string order; with more processors
/// than tasks, the first T of them collected into a new `HashMap`) and builds the processor → task-group map as
/// a `HashMap`. Each task goes to the first processor of that `HashMap` holding fewer than `q = T / P` tasks,
/// else to the next processor of a cycle over the locality map's keys: string order, so with 11 processors and
/// 14 tasks processors 0, 1 and 10 get the extra tasks.
///
/// Deviation: Samza iterates the tasks as a `HashSet<TaskModel>`, whose order depends on hash codes of
/// whole SSP sets; tasks are taken in name order here. Which processors get how many tasks is exact; which
/// tasks they get may differ.
fn group_by_ids_with_locality(t: usize, processor_ids: ProcessorIds) -> Vec<Assigned> {
    let sorted = processor_ids.least(t);
    // The locality map's key order: a TreeMap's, or, when truncated, the new HashMap's.
    let locality_keys: Vec<String> = if processor_ids.len() > t {
        in_hashmap_order(&sorted)
    } else {
        sorted
    };
    // The task-group HashMap, filled in the locality map's key order.
    let ids = in_hashmap_order(&locality_keys);
    let q = t / ids.len();
    let mut groups: Vec<Assigned> = ids
        .iter()
        .map(|id| Assigned {
            id: id.clone(),
            tasks: Vec::new(),
        })
        .collect();
    let slot_of: BTreeMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(slot, id)| (id.as_str(), slot))
        .collect();
    let mut cycle = locality_keys.iter().cycle();
    // Groups only grow, so the first group below `q` never moves back: one pass, not one scan per task.
    let mut open = 0;
    for task in 0..t {
        while open < groups.len() && groups[open].tasks.len() >= q {
            open += 1;
        }
        let slot = if open < groups.len() {
            open
        } else {
            slot_of[cycle.next().expect("cycle over a non-empty list").as_str()]
        };
        groups[slot].tasks.push(task);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samza::stream::java_cmp;

    /// The extra tasks go round the processor ids in string order (Samza's `TreeMap`): "0", "1", "10", …
    #[test]
    fn group_by_ids_with_locality_gives_extra_tasks_in_string_order_of_ids() {
        for (processors, tasks, with_extra) in [
            (11, 14, vec!["0", "1", "10"]),
            (12, 14, vec!["0", "1"]),
            (3, 7, vec!["0"]),
            (20, 25, vec!["0", "1", "10", "11", "12"]),
        ] {
            let groups = group_by_ids_with_locality(tasks, ProcessorIds::new(processors));
            assert_eq!(groups.len(), processors as usize);
            let mut extra: Vec<&str> = groups
                .iter()
                .filter(|g| g.tasks.len() > tasks / processors as usize)
                .map(|g| g.id.as_str())
                .collect();
            extra.sort_by(|a, b| java_cmp(a, b));
            assert_eq!(extra, with_extra, "{processors} processors, {tasks} tasks");
            let mut all: Vec<usize> = groups.iter().flat_map(|g| g.tasks.clone()).collect();
            all.sort_unstable();
            assert_eq!(all, (0..tasks).collect::<Vec<_>>());
        }
        // More processors than tasks: the least ids in string order, one task each.
        let groups = group_by_ids_with_locality(3, ProcessorIds::new(12));
        let mut ids: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["0", "1", "10"]);
        assert!(groups.iter().all(|g| g.tasks.len() == 1));
    }

    /// "Partition 0".."Partition n-1" sorted as Samza sorts task names.
    fn partition_names(n: usize) -> Vec<String> {
        let mut v: Vec<String> = (0..n).map(|i| format!("Partition {i}")).collect();
        v.sort_by(|a, b| java_cmp(a, b));
        v
    }

    fn names_of(tasks: &[String], a: &Assigned) -> Vec<String> {
        a.tasks.iter().map(|&i| tasks[i].clone()).collect()
    }

    fn short(tasks: &[String], a: &Assigned) -> Vec<String> {
        names_of(tasks, a)
            .into_iter()
            .map(|n| n.replace("Partition ", "P"))
            .collect()
    }

    fn run(
        pairs: &[(&str, &str)],
        tasks: &[String],
        previous: &BTreeMap<String, String>,
    ) -> Result<Vec<Assigned>, SamzaError> {
        let c = Config::of(pairs);
        let refs: Vec<&str> = tasks.iter().map(String::as_str).collect();
        assign(
            &c,
            &refs,
            previous,
            ProcessorIds::new(c.container_count_value().unwrap_or(1)),
        )
    }

    fn mapping(tasks: &[String], groups: &[Assigned]) -> BTreeMap<String, String> {
        groups
            .iter()
            .flat_map(|g| g.tasks.iter().map(|&i| (tasks[i].clone(), g.id.clone())))
            .collect()
    }

    /// Orders printed by `java.util.HashMap` (OpenJDK 17) after `put`ting the keys in the given order.
    #[test]
    fn java_hashmap_order_matches_java() {
        let cases = [
            ("Task-0,Task-1", "Task-1,Task-0"),
            (
                "Task-0,Task-1,Task-2,Task-3,Task-4,Task-5,Task-6,Task-7,Task-8,Task-9,Task-10,Task-11",
                "Task-10,Task-9,Task-8,Task-3,Task-2,Task-1,Task-0,Task-7,Task-6,Task-5,Task-4,Task-11",
            ),
            // Nine keys in one bucket of a 16-table: the ninth makes `treeifyBin` resize (twice) instead.
            (
                "Partition 2,Partition 19,Partition 80,Partition 91,Partition 160,Partition 171,Partition 182,\
                 Partition 193,Partition 209",
                "Partition 80,Partition 91,Partition 160,Partition 171,Partition 182,Partition 193,Partition 2,\
                 Partition 19,Partition 209",
            ),
        ];
        for (inserted, iterated) in cases {
            let keys: Vec<&str> = inserted.split(',').collect();
            let order: Vec<&str> = java_hashmap_order(&keys)
                .into_iter()
                .map(|i| keys[i])
                .collect();
            assert_eq!(order.join(","), iterated);
        }
    }

    #[test]
    fn least_processor_ids_are_the_first_of_all_ids_in_string_order() {
        for count in [0, 1, 2, 9, 10, 11, 12, 99, 100, 101, 109, 110, 1000, 1234] {
            let mut all: Vec<String> = (0..count).map(|i: i32| i.to_string()).collect();
            all.sort_by(|a, b| java_cmp(a, b));
            for n in [0, 1, 2, 3, 10, 11, 50, count as usize, count as usize + 5] {
                let want: Vec<String> = all.iter().take(n).cloned().collect();
                assert_eq!(
                    ProcessorIds::new(count).least(n),
                    want,
                    "count {count}, n {n}"
                );
            }
        }
        // The largest count Samza accepts: only as many ids as asked for are made.
        let ids = ProcessorIds::new(i32::MAX);
        assert_eq!(ids.least(4), ["0", "1", "10", "100"]);
        assert_eq!(ids.len(), 2_147_483_647);
        assert!(ids.describe().ends_with("(2147483647 ids)"));
    }

    #[test]
    fn hashmap_order_of_processor_ids_matches_samza() {
        let cases: &[(i32, &str)] = &[
            (3, "0,1,2"),
            (11, "0,1,2,3,4,5,6,7,8,9,10"),
            (12, "0,11,1,2,3,4,5,6,7,8,9,10"),
            (13, "11,12,0,1,2,3,4,5,6,7,8,9,10"),
            (16, "11,12,13,14,15,0,1,2,3,4,5,6,7,8,9,10"),
            (20, "11,12,13,14,15,16,17,18,19,0,1,2,3,4,5,6,7,8,9,10"),
        ];
        for (n, want) in cases {
            assert_eq!(
                ProcessorIds::new(*n).in_hashmap_order().join(","),
                *want,
                "n={n}"
            );
        }
        assert_eq!(java_string_hash("10"), 1567);
        assert_eq!(java_string_hash("hello"), 99162322);
    }

    #[test]
    fn plain_grouping_21_tasks_on_2_containers() {
        let tasks = partition_names(21);
        let g = run(&[("job.container.count", "2")], &tasks, &BTreeMap::new()).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(
            short(&tasks, &g[0]).join(","),
            "P0,P10,P12,P14,P16,P18,P2,P3,P5,P7,P9"
        );
        assert_eq!(g[1].tasks.len(), 10);
    }

    #[test]
    fn grouping_errors() {
        let tasks = partition_names(2);
        let err = run(&[("job.container.count", "3")], &tasks, &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("Your container count (3) is larger than your task count (2). Can't have containers with nothing to do, so aborting."), "{err}");
        assert!(err.contains("job.container.count"), "{err}");
        let err = run(&[], &[], &BTreeMap::new()).unwrap_err().to_string();
        assert!(
            err.contains("No tasks found. Likely due to no input partitions."),
            "{err}"
        );
        let err = run(
            &[("task.name.grouper.factory", "x.Y")],
            &tasks,
            &BTreeMap::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("task.name.grouper.factory") && err.contains("GroupByContainerIdsFactory"),
            "{err}"
        );
        let err = run(
            &[("task.name.grouper.factory", config::SINGLE_CONTAINER)],
            &tasks,
            &BTreeMap::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("processor.id"), "{err}");
        let err = run(
            &[("task.name.grouper.factory", config::GROUP_BY_CONTAINER_IDS)],
            &[],
            &BTreeMap::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("cannot group an empty set. containerIds=[0]"),
            "{err}"
        );
        // With host affinity GroupByContainerIds checks the tasks before the processors.
        let err = run(
            &[
                ("task.name.grouper.factory", config::GROUP_BY_CONTAINER_IDS),
                ("job.container.count", "0"),
                HA,
            ],
            &[],
            &BTreeMap::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("No tasks found"), "{err}");
        let err = run(
            &[
                ("task.name.grouper.factory", config::GROUP_BY_CONTAINER_IDS),
                ("job.container.count", "0"),
            ],
            &[],
            &BTreeMap::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("Must have at least one container"), "{err}");
    }

    /// `SingleContainerGrouper` reads neither the container count nor cares about an empty task set.
    #[test]
    fn single_container_accepts_no_tasks_and_any_container_count() {
        for count in ["0", "-1", "1", "3"] {
            let g = run(
                &[
                    ("task.name.grouper.factory", config::SINGLE_CONTAINER),
                    ("processor.id", "0"),
                    ("job.container.count", count),
                ],
                &[],
                &BTreeMap::new(),
            )
            .unwrap();
            assert_eq!(
                g,
                vec![Assigned {
                    id: "0".into(),
                    tasks: vec![]
                }],
                "count {count}"
            );
        }
    }

    const HA: (&str, &str) = ("job.host-affinity.enabled", "true");

    #[test]
    fn balance_worked_examples() {
        let tasks = partition_names(9);
        let two = mapping(
            &tasks,
            &run(&[("job.container.count", "2")], &tasks, &BTreeMap::new()).unwrap(),
        );
        let four = run(&[("job.container.count", "4"), HA], &tasks, &two).unwrap();
        let got: Vec<Vec<String>> = four.iter().map(|a| short(&tasks, a)).collect();
        // 2 → 4: C2 = {P8, P6}, C3 = {P7, P5}; the first two keep what they can.
        assert_eq!(
            got,
            [
                vec!["P0", "P2", "P4"],
                vec!["P1", "P3"],
                vec!["P6", "P8"],
                vec!["P5", "P7"]
            ]
        );

        let four_plain = mapping(
            &tasks,
            &run(&[("job.container.count", "4")], &tasks, &BTreeMap::new()).unwrap(),
        );
        let back = run(&[("job.container.count", "2"), HA], &tasks, &four_plain).unwrap();
        let got: Vec<Vec<String>> = back.iter().map(|a| short(&tasks, a)).collect();
        // 4 → 2: C0 += P6, P2; C1 += P7, P3.
        assert_eq!(
            got,
            [
                vec!["P0", "P2", "P4", "P6", "P8"],
                vec!["P1", "P3", "P5", "P7"]
            ]
        );

        let three = run(&[("job.container.count", "3"), HA], &tasks, &four_plain).unwrap();
        let got: Vec<Vec<String>> = three.iter().map(|a| short(&tasks, a)).collect();
        // 4 → 3: C1 += P7, C2 += P3.
        assert_eq!(
            got,
            [
                vec!["P0", "P4", "P8"],
                vec!["P1", "P5", "P7"],
                vec!["P2", "P3", "P6"]
            ]
        );
    }

    #[test]
    fn balance_uneven_previous_mapping() {
        let tasks = partition_names(6);
        let mut prev = BTreeMap::new();
        prev.insert("Partition 0".to_string(), "0".to_string());
        for i in 1..6 {
            prev.insert(format!("Partition {i}"), "1".to_string());
        }
        let g = run(&[("job.container.count", "3"), HA], &tasks, &prev).unwrap();
        let got: Vec<Vec<String>> = g.iter().map(|a| short(&tasks, a)).collect();
        assert_eq!(got, [vec!["P0", "P5"], vec!["P1", "P2"], vec!["P3", "P4"]]);
        // Same container count: the previous (unbalanced) mapping is reused verbatim.
        let same = run(&[("job.container.count", "2"), HA], &tasks, &prev).unwrap();
        assert_eq!(same[0].tasks.len(), 1);
        assert_eq!(same[1].tasks.len(), 5);
    }

    #[test]
    fn balance_falls_back_to_plain_grouping() {
        let tasks = partition_names(4);
        let plain = run(&[("job.container.count", "2")], &tasks, &BTreeMap::new()).unwrap();
        let mk = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(t, c)| (t.to_string(), c.to_string()))
                .collect()
        };
        let cases = [
            // previous mapping of another size
            mk(&[("Partition 0", "1"), ("Partition 1", "0")]),
            // same size, other names (Samza: NullPointerException; here: plain grouping)
            mk(&[
                ("Partition 0", "1"),
                ("Partition 1", "1"),
                ("Partition 2", "0"),
                ("Partition 9", "0"),
            ]),
            // ids not 0..k-1
            mk(&[
                ("Partition 0", "1"),
                ("Partition 1", "2"),
                ("Partition 2", "1"),
                ("Partition 3", "2"),
            ]),
            // a single old container
            mk(&[
                ("Partition 0", "0"),
                ("Partition 1", "0"),
                ("Partition 2", "0"),
                ("Partition 3", "0"),
            ]),
        ];
        for prev in cases {
            let g = run(&[("job.container.count", "2"), HA], &tasks, &prev).unwrap();
            assert_eq!(g, plain, "{prev:?}");
        }
    }

    #[test]
    fn group_by_container_ids_cluster_order() {
        let tasks = partition_names(12);
        let g = run(
            &[
                ("job.container.count", "12"),
                ("task.name.grouper.factory", config::GROUP_BY_CONTAINER_IDS),
            ],
            &tasks,
            &BTreeMap::new(),
        )
        .unwrap();
        let owner: BTreeMap<String, String> = mapping(&tasks, &g);
        assert_eq!(owner["Partition 1"], "11");
        assert_eq!(owner["Partition 0"], "0");
        assert_eq!(owner["Partition 10"], "1");
    }

    #[test]
    fn group_by_container_ids_more_ids_than_tasks_keeps_least_ids() {
        let tasks = partition_names(3);
        let c = Config::of(&[("task.name.grouper.factory", config::GROUP_BY_CONTAINER_IDS)]);
        let refs: Vec<&str> = tasks.iter().map(String::as_str).collect();
        for count in [12, i32::MAX] {
            let g = assign(&c, &refs, &BTreeMap::new(), ProcessorIds::new(count)).unwrap();
            let got: Vec<&str> = g.iter().map(|a| a.id.as_str()).collect();
            assert_eq!(got, ["0", "1", "10"], "{count} ids");
        }
        // Fewer ids than tasks: the HashMap's order is kept.
        let g = assign(&c, &refs, &BTreeMap::new(), ProcessorIds::new(2)).unwrap();
        assert_eq!((g[0].id.as_str(), g[0].tasks.clone()), ("0", vec![0, 2]));
    }

    #[test]
    fn group_by_container_ids_with_host_affinity_balances_counts() {
        let tasks = partition_names(7);
        let g = run(
            &[
                ("job.container.count", "3"),
                ("task.name.grouper.factory", config::GROUP_BY_CONTAINER_IDS),
                HA,
            ],
            &tasks,
            &BTreeMap::new(),
        )
        .unwrap();
        let counts: Vec<usize> = g.iter().map(|a| a.tasks.len()).collect();
        assert_eq!(counts, [3, 2, 2]);
    }

    #[test]
    fn single_container() {
        let tasks = partition_names(3);
        let g = run(
            &[
                ("task.name.grouper.factory", config::SINGLE_CONTAINER),
                ("processor.id", "p-7"),
            ],
            &tasks,
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(
            g,
            vec![Assigned {
                id: "p-7".into(),
                tasks: vec![0, 1, 2]
            }]
        );
    }

    #[test]
    fn balance_ignores_a_stored_assignment_with_other_ids() {
        let tasks = partition_names(4);
        let plain = run(
            &[("job.container.count", "2"), HA],
            &tasks,
            &BTreeMap::new(),
        )
        .unwrap();
        for ids in [
            ["0", "p-1", "0", "p-1"],
            ["01", "0", "01", "0"],
            ["foo", "foo", "foo", "foo"],
        ] {
            let prev: BTreeMap<String, String> = tasks
                .iter()
                .zip(ids)
                .map(|(t, c)| (t.clone(), c.to_string()))
                .collect();
            assert_eq!(
                run(&[("job.container.count", "2"), HA], &tasks, &prev).unwrap(),
                plain,
                "{ids:?}"
            );
        }
    }
}
