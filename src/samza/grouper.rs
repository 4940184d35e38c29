//! SSP → task: the optional SSP matcher, the three built-in SSP groupers and the partition-expansion proxy
//! (`SSPGrouperProxy`), as Samza's `JobModelCalculator` chains them (spec 1.3–1.9).
//!
//! Samza's groupers return hash maps; the only order that matters downstream is task-name order
//! (`TreeMap<TaskName, …>`), so every function here returns tasks sorted by Java string order, each with its
//! SSPs sorted and de-duplicated (they are sets in Samza). Sorting happens once, at the end of each step.

use std::collections::{BTreeSet, HashMap};

use fancy_regex::Regex;

use super::assignment::ProcessorIds;
use super::config::{self, Config};
use super::limits::check_model_ssps;
use super::stream::{java_cmp, Ssp, SystemStream};
use super::SamzaError;

/// Tasks in Java `TaskName` order, each with its SSP set in `Ssp` order.
pub type TaskGroups = Vec<(String, Vec<Ssp>)>;

/// A Java `String.matches` / `Pattern.matches`: the whole text must match.
pub fn whole_match_regex(pattern: &str, key: &str) -> Result<Regex, SamzaError> {
    Regex::new(&format!("^(?:{pattern})$")).map_err(|e| SamzaError::Config {
        key: key.to_string(),
        message: format!("'{pattern}' is not a valid regular expression ({e}). Fix the pattern (Java regex syntax)."),
    })
}

fn regex_is_match(re: &Regex, text: &str, key: &str) -> Result<bool, SamzaError> {
    re.is_match(text).map_err(|e| SamzaError::Config {
        key: key.to_string(),
        message: format!("matching '{text}' failed ({e}). Simplify the pattern."),
    })
}

/// `JobModelCalculator#getMatchedInputStreamPartitions`: the matcher runs only when
/// `job.systemstreampartition.matcher.class` is set **and** `job.factory.class` fully matches
/// `job.systemstreampartition.matcher.config.job.factory.regex` (by default only the local job factories).
pub fn match_ssps(config: &Config, ssps: Vec<Ssp>) -> Result<Vec<Ssp>, SamzaError> {
    const CLASS_KEY: &str = "job.systemstreampartition.matcher.class";
    const FACTORY_REGEX_KEY: &str = "job.systemstreampartition.matcher.config.job.factory.regex";
    let Some(class) = config.get(CLASS_KEY) else {
        return Ok(ssps);
    };
    let Some(factory) = config.get("job.factory.class") else {
        return Ok(ssps);
    };
    let factory_regex = config
        .get(FACTORY_REGEX_KEY)
        .unwrap_or(config::DEFAULT_MATCHER_JOB_FACTORY_REGEX);
    let re = whole_match_regex(factory_regex, FACTORY_REGEX_KEY)?;
    if !regex_is_match(&re, factory, FACTORY_REGEX_KEY)? {
        return Ok(ssps);
    }
    match class {
        config::RANGE_MATCHER => {
            const KEY: &str = "job.systemstreampartition.matcher.config.ranges";
            let value = config.get(KEY).ok_or_else(|| SamzaError::Config {
                key: KEY.into(),
                message: format!(
                    "Missing required configuration: '{KEY}'. Set it to partition ids or ranges, e.g. 0,2-5."
                ),
            })?;
            let mut ranges = Vec::new();
            let invalid = || {
                SamzaError::Config {
                key: KEY.into(),
                message: format!(
                    "Invalid partition range configuration '{KEY}': {value}. Use comma-separated ids or ranges without spaces, e.g. 0,2-5."
                ),
            }
            };
            // Scala's `s.toInt` after a `\\d+` match: digits only, and an `Int`.
            let number = |s: &str| {
                (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| s.parse::<i32>().ok().map(i64::from))
                    .flatten()
            };
            // `sspRanges.split(",")`: Java drops trailing empty pieces, so `0,2,` is `0,2`.
            for piece in super::stream::java_split_trailing(value.split(',').collect()) {
                let range = match piece.split_once('-') {
                    None => number(piece).map(|n| (n, n)),
                    Some((lo, hi)) => number(lo).zip(number(hi)),
                };
                ranges.push(range.ok_or_else(invalid)?);
            }
            Ok(ssps
                .into_iter()
                .filter(|s| {
                    ranges
                        .iter()
                        .any(|&(lo, hi)| lo <= s.partition as i64 && s.partition as i64 <= hi)
                })
                .collect())
        }
        config::REGEX_MATCHER => {
            const KEY: &str = "job.systemstreampartition.matcher.config.regex";
            let pattern = config.get(KEY).ok_or_else(|| SamzaError::Config {
                key: KEY.into(),
                message: format!("Missing required configuration: '{KEY}'. Set it to a regex over partition ids, e.g. [0-3]."),
            })?;
            let re = whole_match_regex(pattern, KEY)?;
            let mut out = Vec::with_capacity(ssps.len());
            for s in ssps {
                if regex_is_match(&re, &s.partition.to_string(), KEY)? {
                    out.push(s);
                }
            }
            Ok(out)
        }
        other => Err(SamzaError::Config {
            key: CLASS_KEY.into(),
            message: format!(
                "unknown SSP matcher class '{other}'. Use {} or {}, or remove the key.",
                config::RANGE_MATCHER,
                config::REGEX_MATCHER
            ),
        }),
    }
}

fn sort_groups(mut groups: TaskGroups) -> TaskGroups {
    for (_, ssps) in groups.iter_mut() {
        ssps.sort_unstable();
        ssps.dedup();
    }
    groups.sort_unstable_by(|a, b| java_cmp(&a.0, &b.0));
    groups
}

/// Runs the SSP grouper named by `job.systemstreampartition.grouper.factory`.
/// `processor_ids` is what Samza injects as `processor.list` (cluster mode: "0".."N-1" in HashMap order).
/// `job.elasticity.factor` is read (and validated) only by the two groupers that use it.
pub fn group(
    config: &Config,
    ssps: &[Ssp],
    broadcast: &BTreeSet<Ssp>,
    processor_ids: ProcessorIds,
) -> Result<TaskGroups, SamzaError> {
    let is_broadcast = |s: &Ssp| !broadcast.is_empty() && broadcast.contains(s);
    let with_broadcast = |mut groups: TaskGroups| {
        if !broadcast.is_empty() {
            let entries = groups.iter().map(|(_, v)| v.len() as u64).sum::<u64>()
                + groups.len() as u64 * broadcast.len() as u64;
            check_model_ssps(entries, || {
                format!(
                    "{} broadcast partitions of task.broadcast.inputs in each of {} tasks",
                    broadcast.len(),
                    groups.len()
                )
            })?;
            for (_, v) in groups.iter_mut() {
                v.extend(broadcast.iter().cloned());
            }
        }
        Ok(sort_groups(groups))
    };
    // Each SSP is in `factor` tasks (one per key bucket): refuse before making them.
    let check_elasticity = |factor: u32| {
        check_model_ssps(ssps.len() as u64 * u64::from(factor), || {
            format!(
                "{} input partitions × job.elasticity.factor={factor}",
                ssps.len()
            )
        })
    };
    match config.ssp_grouper_factory() {
        config::GROUP_BY_PARTITION => {
            let factor = config.elasticity_factor()?;
            check_elasticity(factor)?;
            // Keyed by (partition, bucket); task names are built once per task, not per SSP.
            let mut by_key: HashMap<(u32, i32), Vec<Ssp>> = HashMap::new();
            for s in ssps.iter().filter(|s| !is_broadcast(s)) {
                if factor == 1 {
                    by_key.entry((s.partition, -1)).or_default().push(s.clone());
                } else {
                    for i in 0..factor as i32 {
                        by_key.entry((s.partition, i)).or_default().push(s.with_key_bucket(i));
                    }
                }
            }
            let groups = by_key
                .into_iter()
                .map(|((p, bucket), v)| {
                    let name =
                        if bucket == -1 { format!("Partition {p}") } else { format!("Partition {p} {bucket}") };
                    (name, v)
                })
                .collect();
            with_broadcast(groups)
        }
        config::GROUP_BY_SSP => {
            let factor = config.elasticity_factor()?;
            check_elasticity(factor)?;
            let mut groups: TaskGroups = Vec::with_capacity(ssps.len() * factor as usize);
            for s in ssps.iter().filter(|s| !is_broadcast(s)) {
                if factor == 1 {
                    groups.push((s.to_string(), vec![s.clone()]));
                } else {
                    for i in 0..factor as i32 {
                        let b = s.with_key_bucket(i);
                        groups.push((b.to_string(), vec![b]));
                    }
                }
            }
            // Duplicate input SSPs would be one map entry in Samza.
            groups.sort_unstable_by(|a, b| java_cmp(&a.0, &b.0));
            groups.dedup_by(|a, b| a.0 == b.0);
            with_broadcast(groups)
        }
        config::ALL_SSP_TO_SINGLE_TASK => {
            // Samza refuses when the broadcast streams are not empty, not when the key merely exists.
            if !broadcast.is_empty() {
                return Err(SamzaError::Config {
                    key: "task.broadcast.inputs".into(),
                    message: "The job configured with AllSspToSingleTaskGrouper cannot have broadcast streams. \
                              Remove task.broadcast.inputs or choose another SSP grouper."
                        .into(),
                });
            }
            if ssps.is_empty() {
                return Err(SamzaError::Model {
                    message: "Cannot process stream task with no input system stream partitions. \
                              Give the job at least one input stream with partitions (task.inputs)."
                        .into(),
                });
            }
            let mut all = ssps.to_vec();
            all.sort_unstable();
            all.dedup();
            // Samza joins the processor ids with "," and splits them again: no processors (a container
            // count of 0) is one empty id, so one task "Task-".
            let ids = if processor_ids.is_empty() {
                vec![String::new()]
            } else {
                // One task per processor, each holding every SSP.
                check_model_ssps(processor_ids.len() as u64 * all.len() as u64, || {
                    format!(
                        "AllSspToSingleTaskGrouper gives each of {} processors (the container count) a task holding \
                         all {} input partitions",
                        processor_ids.len(),
                        all.len()
                    )
                })?;
                processor_ids.in_hashmap_order()
            };
            let groups = ids.iter().map(|p| (format!("Task-{p}"), all.clone())).collect();
            Ok(sort_groups(groups))
        }
        other => Err(SamzaError::Config {
            key: "job.systemstreampartition.grouper.factory".into(),
            message: format!(
                "unknown SSP grouper factory '{other}'; the planner knows {}, {} and {}. Use one of them \
                 (a custom grouper cannot be planned outside the JVM).",
                config::GROUP_BY_PARTITION,
                config::GROUP_BY_SSP,
                config::ALL_SSP_TO_SINGLE_TASK
            ),
        }),
    }
}

const MAPPER_KEY: &str = "job.system.stream.partition.mapper.factory";
const HASH_MAPPER: &str =
    "org.apache.samza.container.grouper.stream.HashSystemStreamPartitionMapperFactory";

fn stream_counts<'a>(lists: impl Iterator<Item = &'a Ssp>) -> HashMap<SystemStream, usize> {
    let mut counts: HashMap<SystemStream, usize> = HashMap::new();
    for s in lists {
        *counts.entry(s.system_stream()).or_default() += 1;
    }
    counts
}

/// `SSPGrouperProxy#group` (spec 1.9): keeps SSPs with the task that had them before, and after a partition
/// count change sends partition `p` to the previous owner of partition `p % previousCount`.
/// Like Samza, stream partition counts are counted over (task, SSP) pairs, broadcast SSPs included.
///
/// `previous` is the previous task → SSPs assignment in the order Samza's `HashMap<TaskName, …>` iterates it
/// (`Previous::task_ssps_in_samza_order`): `getPreviousSSPToTaskMapping` walks it and, for an SSP that several
/// tasks had (AllSspToSingleTaskGrouper gives every task every SSP), keeps the task met last.
pub fn expansion_proxy(
    config: &Config,
    groups: TaskGroups,
    previous: &[(&str, &BTreeSet<Ssp>)],
    broadcast: &BTreeSet<Ssp>,
) -> Result<TaskGroups, SamzaError> {
    if previous.is_empty() {
        return Ok(groups);
    }
    if let Some(mapper) = config.get(MAPPER_KEY).filter(|m| *m != HASH_MAPPER) {
        return Err(SamzaError::Config {
            key: MAPPER_KEY.into(),
            message: format!(
                "unknown partition mapper factory '{mapper}'. Remove the key to use {HASH_MAPPER}."
            ),
        });
    }
    let mut prev_owner: HashMap<&Ssp, &str> = HashMap::new();
    for (task, ssps) in previous {
        for s in ssps.iter().filter(|s| !broadcast.contains(s)) {
            prev_owner.insert(s, task);
        }
    }
    let prev_counts = stream_counts(previous.iter().flat_map(|(_, ssps)| ssps.iter()));
    let cur_counts = stream_counts(groups.iter().flat_map(|(_, v)| v.iter()));
    let index: HashMap<&str, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.as_str(), i))
        .collect();

    let mut moved: Vec<Vec<Ssp>> = vec![Vec::new(); groups.len()];
    for (i, (task, ssps)) in groups.iter().enumerate() {
        for s in ssps {
            let target = if broadcast.contains(s) {
                None
            } else {
                let stream = s.system_stream();
                let prev = prev_counts.get(&stream).copied().unwrap_or(0);
                let cur = cur_counts.get(&stream).copied().unwrap_or(0);
                if prev > 0 && cur != prev {
                    // HashSystemStreamPartitionMapper.
                    if cur % prev != 0 {
                        return Err(SamzaError::Model {
                            message: format!(
                                "New partition count: {cur} should be a multiple of previous partition count: {prev} \
                                 (stream {}). Samza only supports growing an input stream by a whole multiple when \
                                 the job has persistent stores; choose such a count or set \
                                 job.systemstreampartition.input.expansion.enabled=false.",
                                stream.name()
                            ),
                        });
                    }
                    let prev_ssp = Ssp::new(&stream, s.partition % prev as u32);
                    prev_owner.get(&prev_ssp).copied()
                } else {
                    prev_owner.get(s).copied()
                }
            };
            let dest = match target {
                Some(t) if t != task => *index.get(t).ok_or_else(|| SamzaError::Model {
                    message: format!(
                        "{s} belonged to task '{t}' before, but that task no longer exists: the task names changed \
                         (a new SSP grouper or elasticity factor), which would orphan the old tasks' state. Samza \
                         fails here with a NullPointerException. Restore the previous grouper and input partitions, \
                         or turn off partition-expansion stickiness with \
                         job.systemstreampartition.input.expansion.enabled=false (the safety gate then weighs the \
                         change)."
                    ),
                })?,
                _ => i,
            };
            moved[dest].push(s.clone());
        }
    }
    let regrouped: TaskGroups = groups
        .into_iter()
        .zip(moved)
        .filter(|(_, v)| !v.is_empty())
        .map(|((name, _), v)| (name, v))
        .collect();
    Ok(sort_groups(regrouped))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn ssps(stream: &str, n: u32) -> Vec<Ssp> {
        let s = SystemStream::new("kafka", stream);
        (0..n).map(|p| Ssp::new(&s, p)).collect()
    }

    fn names(g: &TaskGroups) -> Vec<&str> {
        g.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn group_by_partition_names_and_order() {
        let mut input = ssps("a", 12);
        input.extend(ssps("b", 2));
        let g = group(
            &Config::of(&[]),
            &input,
            &BTreeSet::new(),
            ProcessorIds::new(0),
        )
        .unwrap();
        assert_eq!(
            names(&g)[..4],
            ["Partition 0", "Partition 1", "Partition 10", "Partition 11"]
        );
        assert_eq!(g[0].1.len(), 2);
        assert_eq!(g[2].1.len(), 1);
    }

    #[test]
    fn elasticity_task_names_and_buckets() {
        let g = group(
            &Config::of(&[("job.elasticity.factor", "2")]),
            &ssps("a", 2),
            &BTreeSet::new(),
            ProcessorIds::new(0),
        )
        .unwrap();
        assert_eq!(
            names(&g),
            [
                "Partition 0 0",
                "Partition 0 1",
                "Partition 1 0",
                "Partition 1 1"
            ]
        );
        assert_eq!(g[1].1[0].key_bucket, 1);
        let g = group(
            &Config::of(&[
                ("job.elasticity.factor", "2"),
                (
                    "job.systemstreampartition.grouper.factory",
                    config::GROUP_BY_SSP,
                ),
            ]),
            &ssps("a", 1),
            &BTreeSet::new(),
            ProcessorIds::new(0),
        )
        .unwrap();
        assert_eq!(
            names(&g),
            [
                "SystemStreamPartition [kafka, a, 0, 0]",
                "SystemStreamPartition [kafka, a, 0, 1]"
            ]
        );
    }

    #[test]
    fn broadcast_partition_only_in_broadcast_creates_no_task() {
        // Stream b is broadcast (#[0-2]) and also in the inputs; partition 2 exists only in b.
        let mut input = ssps("a", 2);
        input.extend(ssps("b", 3));
        let broadcast: BTreeSet<Ssp> = ssps("b", 3).into_iter().collect();
        let g = group(
            &Config::of(&[("task.broadcast.inputs", "kafka.b#[0-2]")]),
            &input,
            &broadcast,
            ProcessorIds::new(0),
        )
        .unwrap();
        assert_eq!(names(&g), ["Partition 0", "Partition 1"]);
        for (_, v) in &g {
            assert_eq!(
                v.len(),
                4,
                "own partition of a plus all three broadcast SSPs"
            );
        }
    }

    #[test]
    fn group_by_ssp_names() {
        let c = Config::of(&[(
            "job.systemstreampartition.grouper.factory",
            config::GROUP_BY_SSP,
        )]);
        let g = group(
            &c,
            &ssps("PageViewEvent", 11),
            &BTreeSet::new(),
            ProcessorIds::new(0),
        )
        .unwrap();
        assert_eq!(g[0].0, "SystemStreamPartition [kafka, PageViewEvent, 0]");
        assert_eq!(g[1].0, "SystemStreamPartition [kafka, PageViewEvent, 10]");
    }

    #[test]
    fn all_ssp_to_single_task() {
        let c = Config::of(&[(
            "job.systemstreampartition.grouper.factory",
            config::ALL_SSP_TO_SINGLE_TASK,
        )]);
        let ids = ProcessorIds::new(2);
        let g = group(&c, &ssps("k", 3), &BTreeSet::new(), ids).unwrap();
        assert_eq!(names(&g), ["Task-0", "Task-1"]);
        assert!(g.iter().all(|(_, v)| v.len() == 3));
        let err = group(&c, &[], &BTreeSet::new(), ids)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Cannot process stream task with no input system stream partitions"),
            "{err}"
        );
        let mut c2 = c.clone();
        c2.set("task.broadcast.inputs", "kafka.x#0");
        let broadcast: BTreeSet<Ssp> = ssps("x", 1).into_iter().collect();
        let err = group(&c2, &ssps("k", 1), &broadcast, ids)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot have broadcast streams"), "{err}");
        // A broadcast entry that names no partition (`#[3-1]`) leaves no broadcast stream: Samza accepts it.
        c2.set("task.broadcast.inputs", "kafka.x#[3-1]");
        let none = super::super::stream::parse_broadcast(c2.get("task.broadcast.inputs")).unwrap();
        assert!(none.is_empty());
        assert!(group(&c2, &ssps("k", 1), &none, ids).is_ok());
    }

    #[test]
    fn range_matcher_reads_ranges_as_scala_does() {
        let local = (
            "job.factory.class",
            "org.apache.samza.job.local.ProcessJobFactory",
        );
        let kept = |ranges: &str| {
            match_ssps(
                &Config::of(&[
                    (
                        "job.systemstreampartition.matcher.class",
                        config::RANGE_MATCHER,
                    ),
                    ("job.systemstreampartition.matcher.config.ranges", ranges),
                    local,
                ]),
                ssps("a", 6),
            )
            .map(|v| v.iter().map(|s| s.partition).collect::<Vec<_>>())
        };
        // Java's split drops trailing empty pieces; a leading or inner empty piece is still an error.
        assert_eq!(kept("0,2,").unwrap(), [0, 2]);
        assert_eq!(kept("0,2,,").unwrap(), [0, 2]);
        assert_eq!(kept("5-3").unwrap(), Vec::<u32>::new());
        for bad in [",0", "0,,2", "2147483648", "1-2-3", ""] {
            assert!(kept(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unknown_grouper_lists_known_ones() {
        let c = Config::of(&[(
            "job.systemstreampartition.grouper.factory",
            "com.example.Mine",
        )]);
        let err = group(&c, &ssps("a", 1), &BTreeSet::new(), ProcessorIds::new(0)).unwrap_err();
        let SamzaError::Config { key, message } = err else {
            panic!()
        };
        assert_eq!(key, "job.systemstreampartition.grouper.factory");
        assert!(
            message.contains("com.example.Mine") && message.contains(config::GROUP_BY_SSP),
            "{message}"
        );
    }

    #[test]
    fn matcher_activation_and_filters() {
        let base = [
            (
                "job.systemstreampartition.matcher.class",
                config::RANGE_MATCHER,
            ),
            ("job.systemstreampartition.matcher.config.ranges", "1,3-4"),
        ];
        // Not active without a local job factory.
        assert_eq!(
            match_ssps(&Config::of(&base), ssps("a", 6)).unwrap().len(),
            6
        );
        let mut with_local = base.to_vec();
        with_local.push((
            "job.factory.class",
            "org.apache.samza.job.local.ProcessJobFactory",
        ));
        let kept: Vec<u32> = match_ssps(&Config::of(&with_local), ssps("a", 6))
            .unwrap()
            .iter()
            .map(|s| s.partition)
            .collect();
        assert_eq!(kept, [1, 3, 4]);
        // A YARN/Kubernetes factory ignores the matcher unless the factory regex is overridden.
        let mut yarn = base.to_vec();
        yarn.push((
            "job.factory.class",
            "org.apache.samza.job.yarn.YarnJobFactory",
        ));
        assert_eq!(
            match_ssps(&Config::of(&yarn), ssps("a", 6)).unwrap().len(),
            6
        );
        yarn.push((
            "job.systemstreampartition.matcher.config.job.factory.regex",
            ".*Yarn.*",
        ));
        assert_eq!(
            match_ssps(&Config::of(&yarn), ssps("a", 6)).unwrap().len(),
            3
        );

        let regex = [
            (
                "job.systemstreampartition.matcher.class",
                config::REGEX_MATCHER,
            ),
            ("job.systemstreampartition.matcher.config.regex", "1.?"),
            (
                "job.factory.class",
                "org.apache.samza.job.local.ThreadJobFactory",
            ),
        ];
        let kept: Vec<u32> = match_ssps(&Config::of(&regex), ssps("a", 12))
            .unwrap()
            .iter()
            .map(|s| s.partition)
            .collect();
        assert_eq!(kept, [1, 10, 11]);
    }

    #[test]
    fn matcher_errors() {
        let local = (
            "job.factory.class",
            "org.apache.samza.job.local.ProcessJobFactory",
        );
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("job.systemstreampartition.matcher.class", config::RANGE_MATCHER), local], "Missing required configuration: 'job.systemstreampartition.matcher.config.ranges'"),
            (
                &[
                    ("job.systemstreampartition.matcher.class", config::RANGE_MATCHER),
                    ("job.systemstreampartition.matcher.config.ranges", "1, 2"),
                    local,
                ],
                "Invalid partition range configuration 'job.systemstreampartition.matcher.config.ranges': 1, 2",
            ),
            (&[("job.systemstreampartition.matcher.class", config::REGEX_MATCHER), local], "Missing required configuration: 'job.systemstreampartition.matcher.config.regex'"),
            (&[("job.systemstreampartition.matcher.class", "x.Y"), local], "unknown SSP matcher class"),
        ];
        for (pairs, text) in cases {
            let err = match_ssps(&Config::of(pairs), ssps("a", 2))
                .unwrap_err()
                .to_string();
            assert!(err.contains(text), "{err}");
        }
    }

    fn in_name_order(previous: &BTreeMap<String, BTreeSet<Ssp>>) -> Vec<(&str, &BTreeSet<Ssp>)> {
        previous.iter().map(|(t, s)| (t.as_str(), s)).collect()
    }

    fn prev(entries: &[(&str, &[(&str, u32)])]) -> BTreeMap<String, BTreeSet<Ssp>> {
        entries
            .iter()
            .map(|(t, s)| {
                (
                    t.to_string(),
                    s.iter()
                        .map(|(st, p)| Ssp::new(&SystemStream::new("kafka", st), *p))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn expansion_proxy_doubles_partitions_onto_previous_owners() {
        let c = Config::of(&[]);
        let g = group(&c, &ssps("a", 4), &BTreeSet::new(), ProcessorIds::new(0)).unwrap();
        let previous = prev(&[("Partition 0", &[("a", 0)]), ("Partition 1", &[("a", 1)])]);
        let out = expansion_proxy(&c, g, &in_name_order(&previous), &BTreeSet::new()).unwrap();
        assert_eq!(names(&out), ["Partition 0", "Partition 1"]);
        let parts: Vec<u32> = out[0].1.iter().map(|s| s.partition).collect();
        assert_eq!(parts, [0, 2]);
        let parts: Vec<u32> = out[1].1.iter().map(|s| s.partition).collect();
        assert_eq!(parts, [1, 3]);
    }

    #[test]
    fn expansion_proxy_keeps_unchanged_assignment_and_rejects_non_multiples() {
        let c = Config::of(&[]);
        let g = group(&c, &ssps("a", 2), &BTreeSet::new(), ProcessorIds::new(0)).unwrap();
        // Previous model had the SSPs swapped between tasks: stickiness wins.
        let previous = prev(&[("Partition 0", &[("a", 1)]), ("Partition 1", &[("a", 0)])]);
        let out =
            expansion_proxy(&c, g.clone(), &in_name_order(&previous), &BTreeSet::new()).unwrap();
        assert_eq!(out[0].1[0].partition, 1);
        let g3 = group(&c, &ssps("a", 3), &BTreeSet::new(), ProcessorIds::new(0)).unwrap();
        let err = expansion_proxy(
            &c,
            g3,
            &in_name_order(&prev(&[
                ("Partition 0", &[("a", 0)]),
                ("Partition 1", &[("a", 1)]),
            ])),
            &BTreeSet::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(
                "New partition count: 3 should be a multiple of previous partition count: 2"
            ),
            "{err}"
        );
    }

    #[test]
    fn expansion_proxy_errors() {
        let c = Config::of(&[]);
        let g = group(&c, &ssps("a", 2), &BTreeSet::new(), ProcessorIds::new(0)).unwrap();
        // The previous owner of a/0 is a task that no longer exists (Samza: NullPointerException).
        let previous = prev(&[("Old", &[("a", 0)]), ("Partition 1", &[("a", 1)])]);
        let err = expansion_proxy(&c, g.clone(), &in_name_order(&previous), &BTreeSet::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("belonged to task 'Old'") && err.contains("input.expansion.enabled"),
            "{err}"
        );
        let custom = Config::of(&[(MAPPER_KEY, "com.example.Mapper")]);
        let err = expansion_proxy(&custom, g, &in_name_order(&previous), &BTreeSet::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(MAPPER_KEY) && err.contains("com.example.Mapper"),
            "{err}"
        );
    }
}
