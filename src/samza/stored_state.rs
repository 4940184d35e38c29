//! What a job's coordinator stream says about its last deployment, and what a coordinator writes back on start.
//!
//! Reading mirrors `CoordinatorStreamStore#bootstrapMessagesFromStream` and `NamespaceAwareCoordinatorStreamStore`:
//! messages are folded in offset order by (type, key) — the version is not part of it, so two spellings of one
//! key are one entry — the last message wins and a null value (a delete) removes the entry, which is also what
//! Kafka's log compaction leaves. Values are then read as the managers read them: `ChangelogStreamManager#
//! readPartitionMapping`, `TaskAssignmentManager#readTaskAssignment`/`readTaskModes`,
//! `TaskPartitionAssignmentManager#readTaskPartitionAssignments` and `CoordinatorStreamUtil#
//! readConfigFromCoordinatorStream`. A value Samza could not read fails its coordinator at start, so it is an
//! error here too, naming the offset; a bad value that a later message replaced is gone for Samza, and for us.
//! Unlike Samza, a key with a protocol version other than 1 is refused rather than read as version 1: nothing
//! has written one, and a newer writer's meaning cannot be guessed.
//!
//! Writing mirrors `ClusterBasedJobCoordinator#run` (`ChangelogStreamManager#updatePartitionMapping`: every
//! entry of `merge(new, stored)`, stored entries winning, none removed, standby tasks included) and
//! `JobModelHelper#updateTaskAssignments` (the task → container, task → mode and SSP → tasks assignments of
//! the new model, after deleting the old ones that no longer hold).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::changelog;
use super::coordinator_stream::{
    self as stream, Header, Message, MessageKey, Values, SET_CHANGELOG, SET_CONFIG,
    SET_TASK_CONTAINER, SET_TASK_MODE, SET_TASK_PARTITION,
};
use super::job_model::{JobModel, TaskMode};
use super::planner::Previous;
use super::stream::Ssp;

/// One message as read from the topic.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    /// `None` for a delete (tombstone).
    pub value: Option<&'a [u8]>,
}

/// A message the stored state cannot be read past.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message at offset {offset}{}: {reason}", key.as_ref().map(|k| format!(" (key {k})")).unwrap_or_default())]
pub struct DecodeError {
    pub offset: i64,
    /// The key as text, when it was readable enough to quote.
    pub key: Option<String>,
    pub reason: String,
}

/// The deployed job's state as Samza stored it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredState {
    /// `set-changelog`: task name → changelog partition, standby tasks included.
    pub changelog: BTreeMap<String, u32>,
    /// `set-task-container-assignment`: task name → container (processor) id, standby tasks included.
    pub task_container: BTreeMap<String, String>,
    /// `set-task-mode-assignment`: task name → mode. A task without one counts as active.
    pub task_modes: BTreeMap<String, TaskMode>,
    /// `set-task-partition-assignment`: SSP → the tasks that read it (several for broadcast inputs).
    pub task_partitions: BTreeMap<Ssp, Vec<String>>,
    /// `set-config`: the config the job was last submitted with (written by Samza's job runner).
    pub config: BTreeMap<String, String>,
    /// Messages of the types not read above (host locality, checkpoints of Samza 0.9, start points, or a type
    /// some other writer invented): how many of each type, so a reader can say what it passed over.
    pub skipped: BTreeMap<String, u64>,
}

/// An entry after folding, before it is checked: its value read for its type, or why it cannot be.
#[derive(Debug)]
enum Entry {
    Changelog(u32),
    Container(Option<String>),
    Mode(TaskMode),
    Partition(Ssp, Vec<String>),
    Config(Option<String>),
    Unread(String),
}

/// Folds records, in offset order, into a [`StoredState`].
#[derive(Debug, Default)]
pub struct StateReader {
    entries: HashMap<(String, String), (i64, Entry)>,
    /// Messages of types that hold nothing the planner needs (host locality, checkpoints of 0.9, …), by type.
    skipped: BTreeMap<String, u64>,
}

impl StateReader {
    pub fn new() -> StateReader {
        StateReader::default()
    }

    /// Takes the next message. Fails at once on a key that cannot be read or has another protocol version:
    /// without its key a message cannot be folded.
    pub fn push(&mut self, record: Record<'_>) -> Result<(), DecodeError> {
        let error = |key: Option<String>, reason: String| DecodeError {
            offset: record.offset,
            key,
            reason,
        };
        let Some(key_bytes) = record.key else {
            return Err(error(None, "the message has no key".into()));
        };
        let quoted = || Some(String::from_utf8_lossy(key_bytes).into_owned());
        let key = MessageKey::parse(key_bytes).map_err(|reason| error(quoted(), reason))?;
        if key.version != stream::VERSION {
            return Err(error(
                quoted(),
                format!(
                    "coordinator stream protocol version {} is not supported (helm-samza reads version {}, the \
                     only one Samza writes)",
                    key.version,
                    stream::VERSION
                ),
            ));
        }
        let Some(value) = record.value else {
            self.entries.remove(&(key.kind, key.key));
            return Ok(());
        };
        let entry = match read_entry(&key, value) {
            Some(Ok(entry)) => entry,
            Some(Err(reason)) => Entry::Unread(reason),
            None => {
                *self.skipped.entry(key.kind).or_default() += 1;
                return Ok(());
            }
        };
        self.entries
            .insert((key.kind, key.key), (record.offset, entry));
        Ok(())
    }

    /// The state the folded messages leave, or the first (lowest offset) surviving message Samza could not read.
    pub fn finish(self) -> Result<StoredState, DecodeError> {
        // Collected first and turned into maps at once: `BTreeMap`'s `FromIterator` sorts, then builds in one
        // pass, far quicker than as many single inserts.
        let mut changelog = Vec::new();
        let mut task_container = Vec::new();
        let mut task_modes = Vec::new();
        let mut config = Vec::new();
        let mut partitions: BTreeMap<Ssp, (i64, Vec<String>)> = BTreeMap::new();
        let mut unread: Option<DecodeError> = None;
        for ((kind, key), (offset, entry)) in self.entries {
            match entry {
                Entry::Changelog(partition) => changelog.push((key, partition)),
                Entry::Container(Some(container)) => task_container.push((key, container)),
                Entry::Container(None) | Entry::Config(None) => {}
                Entry::Mode(mode) => task_modes.push((key, mode)),
                Entry::Config(Some(value)) => config.push((key, value)),
                Entry::Partition(ssp, tasks) => {
                    // Two spellings of one SSP's JSON are two keys; the later message stands.
                    match partitions.get(&ssp) {
                        Some((later, _)) if *later > offset => {}
                        _ => {
                            partitions.insert(ssp, (offset, tasks));
                        }
                    }
                }
                Entry::Unread(reason) => {
                    if unread.as_ref().is_none_or(|first| offset < first.offset) {
                        unread = Some(DecodeError {
                            offset,
                            key: Some(
                                String::from_utf8_lossy(&MessageKey::new(&kind, &key).to_bytes())
                                    .into_owned(),
                            ),
                            reason,
                        });
                    }
                }
            }
        }
        if let Some(error) = unread {
            return Err(error);
        }
        Ok(StoredState {
            changelog: changelog.into_iter().collect(),
            task_container: task_container.into_iter().collect(),
            task_modes: task_modes.into_iter().collect(),
            task_partitions: partitions
                .into_iter()
                .map(|(ssp, (_, tasks))| (ssp, tasks))
                .collect(),
            config: config.into_iter().collect(),
            skipped: self.skipped,
        })
    }
}

/// Reads a value of a type the planner needs; `None` for other types.
fn read_entry(key: &MessageKey, value: &[u8]) -> Option<Result<Entry, String>> {
    type Reader = fn(&MessageKey, &Values) -> Result<Entry, String>;
    let read: Reader = match key.kind.as_str() {
        SET_CHANGELOG => read_changelog,
        SET_TASK_CONTAINER => read_container,
        SET_TASK_MODE => read_mode,
        SET_TASK_PARTITION => read_partition,
        SET_CONFIG => read_config,
        _ => return None,
    };
    Some(stream::decode_values(value).and_then(|values| read(key, &values)))
}

/// An entry of `values` Samza's getter would fail without.
fn required<'a>(key: &MessageKey, values: &'a Values, field: &str) -> Result<&'a str, String> {
    stream::value_string(values, field)?
        .ok_or_else(|| format!("`values.{field}` is missing ({} needs it)", key.kind))
}

/// `SetChangelogMapping#getPartition`: `Integer.parseInt`, and a partition number cannot be negative.
fn read_changelog(key: &MessageKey, values: &Values) -> Result<Entry, String> {
    let text = required(key, values, "Partition")?;
    super::config::java_parse_int(text)
        .and_then(|n| u32::try_from(n).ok())
        .map(Entry::Changelog)
        .ok_or_else(|| format!("`values.Partition` \"{text}\" is not a changelog partition number"))
}

/// `SetTaskContainerMapping#getTaskAssignment`: `containerId` (Samza 0.x), else `processorId`; neither is skipped.
fn read_container(_: &MessageKey, values: &Values) -> Result<Entry, String> {
    let id = match stream::value_string(values, "containerId")? {
        Some(id) => Some(id),
        None => stream::value_string(values, "processorId")?,
    };
    Ok(Entry::Container(id.map(str::to_owned)))
}

/// `TaskMode.valueOf`: exactly the enum's names.
fn read_mode(key: &MessageKey, values: &Values) -> Result<Entry, String> {
    match required(key, values, "taskMode")? {
        "Active" => Ok(Entry::Mode(TaskMode::Active)),
        "Standby" => Ok(Entry::Mode(TaskMode::Standby)),
        other => Err(format!(
            "`values.taskMode` \"{other}\" is not Active or Standby"
        )),
    }
}

/// `TaskPartitionAssignmentManager#readTaskPartitionAssignments`: the key is the SSP, the value a JSON list.
fn read_partition(key: &MessageKey, values: &Values) -> Result<Entry, String> {
    let ssp = stream::parse_ssp_key(&key.key)?;
    let tasks = serde_json::from_str(required(key, values, "taskNames")?)
        .map_err(|e| format!("`values.taskNames` is not a JSON list of task names ({e})"))?;
    Ok(Entry::Partition(ssp, tasks))
}

/// `CoordinatorStreamUtil#readConfigFromCoordinatorStream`: a null value is skipped.
fn read_config(_: &MessageKey, values: &Values) -> Result<Entry, String> {
    Ok(Entry::Config(
        stream::value_string(values, "value")?.map(str::to_owned),
    ))
}

impl StoredState {
    /// Folds a whole stream (see [`StateReader`]).
    pub fn decode<'a>(
        records: impl IntoIterator<Item = Record<'a>>,
    ) -> Result<StoredState, DecodeError> {
        let mut reader = StateReader::new();
        for record in records {
            reader.push(record)?;
        }
        reader.finish()
    }

    /// Whether a task counts as active: `JobModelHelper#isActiveTask` (no stored mode, or `Active`).
    fn is_active(&self, task: &str) -> bool {
        self.task_modes
            .get(task)
            .is_none_or(|mode| *mode == TaskMode::Active)
    }

    /// The planner's previous state, as `JobModelHelper#getGrouperMetadata` builds it: every changelog entry,
    /// and the container and SSPs of active tasks only; standby tasks' containers are kept apart (for a plan's
    /// difference; Samza's grouper does not read them).
    pub fn previous(&self) -> Previous {
        let mut previous = Previous {
            changelog: self.changelog.clone(),
            ..Previous::default()
        };
        for (task, container) in &self.task_container {
            let into = if self.is_active(task) {
                &mut previous.task_container
            } else {
                &mut previous.standby_container
            };
            into.insert(task.clone(), container.clone());
        }
        for (ssp, tasks) in &self.task_partitions {
            for task in tasks.iter().filter(|task| self.is_active(task)) {
                previous
                    .task_ssps
                    .entry(task.clone())
                    .or_default()
                    .insert(ssp.clone());
            }
        }
        previous
    }

    /// The changelog mapping Samza's coordinator stores after starting `model`: every stored entry as it is,
    /// plus the model's tasks not stored yet (standby tasks included). The rule itself is
    /// [`changelog::merged_mapping`].
    pub fn merged_changelog(&self, model: &JobModel) -> BTreeMap<String, u32> {
        changelog::merged_mapping(
            &self.changelog,
            model
                .tasks()
                .map(|task| (task.name.as_str(), task.changelog_partition)),
        )
    }
}

/// The messages a coordinator writes when it starts `model` over `stored` (`None`: the stream was empty or
/// absent), in the order Samza's cluster-based coordinator writes them: first the task assignments
/// (`JobModelHelper#updateTaskAssignments`), then the changelog mapping (`ClusterBasedJobCoordinator#run`).
///
/// - If the number of active tasks differs from the stored active task → container entries, those entries
///   (and their modes) are deleted, and so are the SSP entries of the new model's SSPs, before being rewritten.
/// - If the set of standby tasks changed, the stored standby tasks' entries are deleted.
/// - Every task of every container gets its container and mode; every SSP its task names.
/// - Every entry of [`StoredState::merged_changelog`] is written, stored ones unchanged.
pub fn start_messages(
    stored: Option<&StoredState>,
    model: &JobModel,
    header: &Header,
) -> Vec<Message> {
    let mut messages = Vec::new();
    for_each_start_message(stored, model, header, &mut |message| messages.push(message));
    messages
}

/// [`start_messages`] one at a time, as they are made: a model of a million tasks makes millions of messages,
/// which a writer hands to Kafka as they come instead of holding them all.
pub fn for_each_start_message(
    stored: Option<&StoredState>,
    model: &JobModel,
    header: &Header,
    emit: &mut dyn FnMut(Message),
) {
    let empty = StoredState::default();
    let stored = stored.unwrap_or(&empty);
    let previous = stored.previous();
    let mut messages = Emit(emit);

    let active: BTreeSet<&str> = model
        .tasks()
        .filter(|task| task.mode == TaskMode::Active)
        .map(|task| task.name.as_str())
        .collect();
    let standby: BTreeSet<&str> = model
        .tasks()
        .filter(|task| task.mode == TaskMode::Standby)
        .map(|task| task.name.as_str())
        .collect();
    let mut ssp_tasks: BTreeMap<&Ssp, Vec<&str>> = BTreeMap::new();
    for task in model.tasks() {
        for ssp in &task.ssps {
            ssp_tasks.entry(ssp).or_default().push(task.name.as_str());
        }
    }

    let delete_task = |messages: &mut Emit, task: &str| {
        messages.push(Message::delete(SET_TASK_CONTAINER, task));
        messages.push(Message::delete(SET_TASK_MODE, task));
    };
    if active.len() != previous.task_container.len() {
        for task in previous.task_container.keys() {
            delete_task(&mut messages, task);
        }
        for ssp in ssp_tasks.keys() {
            messages.push(Message::delete(SET_TASK_PARTITION, &stream::ssp_key(ssp)));
        }
    }
    let stored_standby: BTreeSet<&str> = stored
        .task_modes
        .iter()
        .filter(|(_, mode)| **mode == TaskMode::Standby)
        .map(|(task, _)| task.as_str())
        .collect();
    if stored_standby != standby {
        for task in stored_standby {
            delete_task(&mut messages, task);
        }
    }

    for container in &model.containers {
        for task in &container.tasks {
            messages.push(Message::set(
                SET_TASK_CONTAINER,
                &task.name,
                header,
                &[("processorId", &container.id)],
            ));
            messages.push(Message::set(
                SET_TASK_MODE,
                &task.name,
                header,
                &[("taskMode", task.mode.as_str())],
            ));
        }
    }
    for (ssp, tasks) in &ssp_tasks {
        let names = super::job_model::jackson_json(tasks);
        messages.push(Message::set(
            SET_TASK_PARTITION,
            &stream::ssp_key(ssp),
            header,
            &[("taskNames", &names)],
        ));
    }

    for (task, partition) in stored.merged_changelog(model) {
        messages.push(Message::set(
            SET_CHANGELOG,
            &task,
            header,
            &[("Partition", &partition.to_string())],
        ));
    }
}

/// The caller's sink, spelled like the `Vec` the rules were first written for.
struct Emit<'a>(&'a mut dyn FnMut(Message));

impl Emit<'_> {
    fn push(&mut self, message: Message) {
        (self.0)(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samza::job_model::{ContainerModel, TaskModel};
    use crate::samza::Config;

    /// A message as (key, value) bytes; `None` is a delete.
    type Raw<'a> = (&'a [u8], Option<&'a [u8]>);
    /// A task of a test model: name, changelog partition, mode, input partitions.
    type TaskSpec<'a> = (&'a str, u32, TaskMode, &'a [u32]);

    /// Records from (key, value) byte strings, offsets from 0.
    fn records<'a>(messages: &'a [(&'a [u8], Option<&'a [u8]>)]) -> Vec<Record<'a>> {
        messages
            .iter()
            .enumerate()
            .map(|(offset, (key, value))| Record {
                offset: offset as i64,
                key: Some(key),
                value: *value,
            })
            .collect()
    }

    fn decode(messages: &[(&[u8], Option<&[u8]>)]) -> Result<StoredState, DecodeError> {
        StoredState::decode(records(messages))
    }

    /// A stream as a Samza 1.x job on YARN leaves it, typed out by hand from the message classes' documented
    /// format: compact keys, header fields in `HashMap` order, `timestamp` a number, deletes as null values.
    /// Not produced by our encoder.
    const SAMZA_STREAM: &[(&[u8], Option<&[u8]>)] = &[
        (
            br#"[1,"set-config","job.name"]"#,
            Some(br#"{"host":"10.1.2.3","source":"job-runner","values":{"value":"page-view-counter"},"username":"yarn","timestamp":1700000000000}"#),
        ),
        (
            br#"[1,"set-config","job.obsolete"]"#,
            Some(br#"{"host":"10.1.2.3","source":"job-runner","values":{"value":"x"},"username":"yarn","timestamp":1700000000001}"#),
        ),
        (br#"[1,"set-config","job.obsolete"]"#, None),
        (
            br#"[1,"set-changelog","Partition 0"]"#,
            Some(br#"{"host":"10.1.2.4","source":"SamzaContainer","values":{"Partition":"0"},"username":"yarn","timestamp":1700000000100}"#),
        ),
        (
            br#"[1,"set-changelog","Partition 1"]"#,
            Some(br#"{"host":"10.1.2.4","source":"SamzaContainer","values":{"Partition":"7"},"username":"yarn","timestamp":1700000000101}"#),
        ),
        (
            br#"[1,"set-changelog","Standby-Partition 0-0"]"#,
            Some(br#"{"host":"10.1.2.4","source":"SamzaContainer","values":{"Partition":"0"},"username":"yarn","timestamp":1700000000102}"#),
        ),
        // A later message for the same task wins.
        (
            br#"[1,"set-changelog","Partition 1"]"#,
            Some(br#"{"host":"10.1.2.4","source":"SamzaContainer","values":{"Partition":"1"},"username":"yarn","timestamp":1700000000103}"#),
        ),
        (
            br#"[1,"set-task-container-assignment","Partition 0"]"#,
            Some(br#"{"host":"10.1.2.4","source":"SamzaContainer","values":{"processorId":"0"},"username":"yarn","timestamp":1700000000200}"#),
        ),
        // Samza 0.x wrote `containerId`.
        (
            br#"[1,"set-task-container-assignment","Partition 1"]"#,
            Some(br#"{"host":"10.1.2.4","source":"SamzaTaskAssignmentManager","values":{"containerId":"1"},"username":"yarn","timestamp":1456177487325}"#),
        ),
        (
            br#"[1,"set-task-container-assignment","Standby-Partition 0-0"]"#,
            Some(br#"{"host":"10.1.2.4","source":"SamzaContainer","values":{"processorId":"0-0"},"username":"yarn","timestamp":1700000000201}"#),
        ),
        (
            br#"[1,"set-task-mode-assignment","Standby-Partition 0-0"]"#,
            Some(br#"{"host":"10.1.2.4","source":"SamzaContainer","values":{"taskMode":"Standby"},"username":"yarn","timestamp":1700000000202}"#),
        ),
        (
            br#"[1,"set-task-partition-assignment","{\"system\":\"kafka\",\"partition\":0,\"stream\":\"PageViewEvent\",\"keyBucket\":-1}"]"#,
            Some(br#"{"host":"10.1.2.4","source":"SamzaContainer","values":{"taskNames":"[\"Partition 0\",\"Standby-Partition 0-0\"]"},"username":"yarn","timestamp":1700000000300}"#),
        ),
        (
            br#"[1,"set-task-partition-assignment","{\"system\":\"kafka\",\"partition\":1,\"stream\":\"PageViewEvent\",\"keyBucket\":-1}"]"#,
            Some(br#"{"host":"10.1.2.4","source":"SamzaContainer","values":{"taskNames":"[\"Partition 1\"]"},"username":"yarn","timestamp":1700000000301}"#),
        ),
        // Types the planner does not need are skipped whatever their values hold.
        (
            br#"[1,"set-container-host-assignment","0"]"#,
            Some(br#"{"host":"10.1.2.4","source":"SamzaContainer","values":{"hostname":"node-7","jmx-url":""},"username":"yarn","timestamp":1700000000400}"#),
        ),
    ];

    fn ssp(partition: u32) -> Ssp {
        Ssp {
            system: "kafka".into(),
            stream: "PageViewEvent".into(),
            partition,
            key_bucket: -1,
        }
    }

    fn owned(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_samza_stream_decodes_to_its_last_values() {
        let state = decode(SAMZA_STREAM).unwrap();
        assert_eq!(
            state.changelog,
            BTreeMap::from([
                ("Partition 0".to_owned(), 0),
                ("Partition 1".to_owned(), 1),
                ("Standby-Partition 0-0".to_owned(), 0),
            ])
        );
        assert_eq!(
            state.task_container,
            owned(&[
                ("Partition 0", "0"),
                ("Partition 1", "1"),
                ("Standby-Partition 0-0", "0-0")
            ])
        );
        assert_eq!(
            state.task_modes,
            BTreeMap::from([("Standby-Partition 0-0".to_owned(), TaskMode::Standby)])
        );
        assert_eq!(
            state.skipped,
            BTreeMap::from([("set-container-host-assignment".to_owned(), 1)])
        );
        assert_eq!(
            state.task_partitions,
            BTreeMap::from([
                (
                    ssp(0),
                    vec!["Partition 0".to_owned(), "Standby-Partition 0-0".to_owned()]
                ),
                (ssp(1), vec!["Partition 1".to_owned()]),
            ])
        );
        assert_eq!(state.config, owned(&[("job.name", "page-view-counter")]));

        // The planner sees active tasks only in the assignments, and every changelog entry.
        let previous = state.previous();
        assert_eq!(previous.changelog, state.changelog);
        assert_eq!(
            previous.task_container,
            owned(&[("Partition 0", "0"), ("Partition 1", "1")])
        );
        assert_eq!(
            previous.task_ssps,
            BTreeMap::from([
                ("Partition 0".to_owned(), BTreeSet::from([ssp(0)])),
                ("Partition 1".to_owned(), BTreeSet::from([ssp(1)])),
            ])
        );
    }

    #[test]
    fn a_delete_removes_and_a_later_set_restores() {
        let set = |n: &'static str| -> Option<&'static [u8]> {
            Some(match n {
                "4" => br#"{"values":{"Partition":"4"}}"#,
                _ => br#"{"values":{"Partition":"5"}}"#,
            })
        };
        let key: &[u8] = br#"[1,"set-changelog","t"]"#;
        assert!(decode(&[(key, set("4")), (key, None)])
            .unwrap()
            .changelog
            .is_empty());
        assert_eq!(
            decode(&[(key, set("4")), (key, None), (key, set("5"))])
                .unwrap()
                .changelog,
            BTreeMap::from([("t".to_owned(), 5)])
        );
        // Two spellings of one key are one entry, as Samza folds by (type, key).
        let spaced: &[u8] = br#"[1, "set-changelog", "t"]"#;
        assert_eq!(
            decode(&[(key, set("4")), (spaced, set("5"))])
                .unwrap()
                .changelog,
            BTreeMap::from([("t".to_owned(), 5)])
        );
    }

    #[test]
    fn unreadable_messages_name_their_offset_and_reason() {
        let good: &[u8] = br#"{"values":{"Partition":"1"}}"#;
        let cases: &[(&[Raw], i64, &str)] = &[
            (
                &[
                    (br#"[1,"set-changelog","a"]"#, Some(good)),
                    (b"garbage", Some(good)),
                ],
                1,
                "not a JSON array",
            ),
            (
                &[(br#"[2,"set-changelog","a"]"#, Some(good))],
                0,
                "protocol version 2 is not supported",
            ),
            (
                &[(br#"[1,"set-changelog","a"]"#, Some(b"{not json"))],
                0,
                "not a JSON object",
            ),
            (
                &[(
                    br#"[1,"set-changelog","a"]"#,
                    Some(br#"{"values":{"Partition":"-1"}}"#),
                )],
                0,
                "\"-1\" is not a changelog partition number",
            ),
            (
                &[(br#"[1,"set-changelog","a"]"#, Some(br#"{"values":{}}"#))],
                0,
                "`values.Partition` is missing",
            ),
            (
                &[(
                    br#"[1,"set-task-mode-assignment","a"]"#,
                    Some(br#"{"values":{"taskMode":"active"}}"#),
                )],
                0,
                "\"active\" is not Active or Standby",
            ),
            (
                &[(
                    br#"[1,"set-task-partition-assignment","kafka.a.0"]"#,
                    Some(br#"{"values":{"taskNames":"[]"}}"#),
                )],
                0,
                "not a system stream partition",
            ),
        ];
        for (messages, offset, reason) in cases {
            let error = decode(messages).unwrap_err();
            assert_eq!(error.offset, *offset, "{error}");
            assert!(error.to_string().contains(reason), "{error}");
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("message at offset {offset} (key ")),
                "{error}"
            );
        }
        let keyless = StoredState::decode([Record {
            offset: 9,
            key: None,
            value: Some(good),
        }])
        .unwrap_err();
        assert_eq!(
            keyless.to_string(),
            "message at offset 9: the message has no key"
        );
    }

    /// An SSP key written by another JSON writer (fields in another order, no keyBucket) is another Kafka key
    /// but the same partition: the later message stands.
    #[test]
    fn one_ssp_spelled_twice_keeps_the_later_tasks() {
        let jackson: &[u8] = br#"[1,"set-task-partition-assignment","{\"system\":\"kafka\",\"partition\":0,\"stream\":\"PageViewEvent\",\"keyBucket\":-1}"]"#;
        let other: &[u8] = br#"[1,"set-task-partition-assignment","{\"stream\":\"PageViewEvent\",\"system\":\"kafka\",\"partition\":0}"]"#;
        let first: &[u8] = br#"{"values":{"taskNames":"[\"Partition 0\"]"}}"#;
        let second: &[u8] = br#"{"values":{"taskNames":"[\"Partition 9\"]"}}"#;
        for (earlier, later) in [(jackson, other), (other, jackson)] {
            let state = decode(&[(earlier, Some(first)), (later, Some(second))]).unwrap();
            assert_eq!(
                state.task_partitions,
                BTreeMap::from([(ssp(0), vec!["Partition 9".to_owned()])])
            );
        }
    }

    /// Samza reads only the last value of a key, so a bad value that was replaced or deleted is no error.
    #[test]
    fn a_replaced_bad_value_is_no_error() {
        let key: &[u8] = br#"[1,"set-changelog","a"]"#;
        let bad: &[u8] = br#"{"values":{"Partition":"x"}}"#;
        let good: &[u8] = br#"{"values":{"Partition":"2"}}"#;
        assert_eq!(
            decode(&[(key, Some(bad)), (key, Some(good))])
                .unwrap()
                .changelog,
            BTreeMap::from([("a".to_owned(), 2)])
        );
        assert!(decode(&[(key, Some(bad)), (key, None)])
            .unwrap()
            .changelog
            .is_empty());
        assert_eq!(
            decode(&[(key, Some(good)), (key, Some(bad))])
                .unwrap_err()
                .offset,
            1
        );
    }

    fn model(containers: &[(&str, &[TaskSpec])]) -> JobModel {
        JobModel::new(
            Config::of(&[("job.name", "j")]),
            containers
                .iter()
                .map(|(id, tasks)| ContainerModel {
                    id: (*id).to_owned(),
                    tasks: tasks
                        .iter()
                        .map(|(name, changelog, mode, partitions)| TaskModel {
                            name: (*name).to_owned(),
                            ssps: partitions.iter().map(|p| ssp(*p)).collect(),
                            changelog_partition: *changelog,
                            mode: *mode,
                        })
                        .collect(),
                })
                .collect(),
        )
    }

    fn decoded(messages: &[Message]) -> StoredState {
        StoredState::decode(messages.iter().enumerate().map(|(offset, m)| Record {
            offset: offset as i64,
            key: Some(&m.key),
            value: m.value.as_deref(),
        }))
        .unwrap()
    }

    #[test]
    fn start_messages_keep_stored_changelog_entries_and_add_standby_tasks() {
        use TaskMode::{Active, Standby};
        let stored = decode(SAMZA_STREAM).unwrap();
        // Grown to three tasks; the model numbered "Partition 1" differently, which the stored entry overrides.
        let model = model(&[
            (
                "0",
                &[
                    ("Partition 0", 0, Active, &[0]),
                    ("Partition 2", 2, Active, &[2]),
                ],
            ),
            ("1", &[("Partition 1", 9, Active, &[1])]),
            (
                "0-0",
                &[
                    ("Standby-Partition 0-0", 0, Standby, &[0]),
                    ("Standby-Partition 2-0", 2, Standby, &[2]),
                ],
            ),
            ("1-0", &[("Standby-Partition 1-0", 9, Standby, &[1])]),
        ]);
        let header = Header::helm_samza(1_750_000_000_000);
        let messages = start_messages(Some(&stored), &model, &header);
        // Written over what was there, as on the topic.
        let mut all: Vec<Message> = SAMZA_STREAM
            .iter()
            .map(|(k, v)| Message {
                key: k.to_vec(),
                value: v.map(<[u8]>::to_vec),
            })
            .collect();
        all.extend(messages.iter().cloned());
        let after = decoded(&all);
        assert_eq!(
            after.changelog,
            BTreeMap::from([
                ("Partition 0".to_owned(), 0),
                ("Partition 1".to_owned(), 1),
                ("Partition 2".to_owned(), 2),
                ("Standby-Partition 0-0".to_owned(), 0),
                ("Standby-Partition 1-0".to_owned(), 9),
                ("Standby-Partition 2-0".to_owned(), 2),
            ])
        );
        assert_eq!(after.changelog, stored.merged_changelog(&model));
        assert_eq!(
            after.task_container,
            owned(&[
                ("Partition 0", "0"),
                ("Partition 1", "1"),
                ("Partition 2", "0"),
                ("Standby-Partition 0-0", "0-0"),
                ("Standby-Partition 1-0", "1-0"),
                ("Standby-Partition 2-0", "0-0"),
            ])
        );
        assert_eq!(after.task_modes.len(), 6);
        assert_eq!(
            after.task_partitions[&ssp(2)],
            ["Partition 2", "Standby-Partition 2-0"]
        );
        // Three active tasks where two were stored: the old assignments are deleted before the new ones.
        let first_set = messages.iter().position(|m| m.value.is_some()).unwrap();
        assert!(messages[..first_set].iter().all(|m| m.value.is_none()));
        assert!(messages[..first_set].contains(&Message::delete(SET_TASK_CONTAINER, "Partition 0")));
        // What helm-samza writes has Samza's shape.
        let changelog = messages
            .iter()
            .find(|m| m.key == br#"[1,"set-changelog","Partition 2"]"#)
            .unwrap();
        assert_eq!(
            changelog.value.as_deref().unwrap(),
            br#"{"host":"","source":"helm-samza","values":{"Partition":"2"},"username":"helm-samza","timestamp":1750000000000}"#
        );
    }

    #[test]
    fn start_messages_on_a_first_deploy_write_the_model() {
        let model = model(&[("0", &[("Partition 0", 0, TaskMode::Active, &[0])])]);
        let messages = start_messages(None, &model, &Header::helm_samza(1));
        // Samza deletes the new model's SSP entries whenever the active task count changed, from none too.
        let deletes: Vec<&Message> = messages.iter().filter(|m| m.value.is_none()).collect();
        assert_eq!(
            deletes,
            [&Message::delete(
                SET_TASK_PARTITION,
                &stream::ssp_key(&ssp(0))
            )]
        );
        let after = decoded(&messages);
        assert_eq!(
            after.changelog,
            BTreeMap::from([("Partition 0".to_owned(), 0)])
        );
        assert_eq!(after.previous(), Previous::from_model(&model));
    }
}
