//! The job model (`JobModel`, `ContainerModel`, `TaskModel`) and its JSON as every Samza version's
//! `SamzaObjectMapper` wrote it (spec section 4), plus a short human summary.
//!
//! Samza writes maps and sets from Java `HashMap`s/`HashSet`s, so its byte order is hash order and its readers
//! do not care. Here the order is fixed instead, so the same model always gives the same bytes: containers by
//! numeric id (standby `<id>-<r>` after their active container's ids, other ids last), tasks by Java
//! `TaskName` order, SSPs by `SystemStreamPartition` order, config in insertion order. Key order inside each
//! object follows the version table of spec 4.2.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, PrettyFormatter};

use super::config::Config;
use super::stream::{java_cmp, Ssp, SystemStream};
use super::SamzaError;

/// `TaskMode` (1.1+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskMode {
    Active,
    Standby,
}

impl TaskMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskMode::Active => "Active",
            TaskMode::Standby => "Standby",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskModel {
    pub name: String,
    /// Sorted, no duplicates (a set in Samza).
    pub ssps: Vec<Ssp>,
    pub changelog_partition: u32,
    pub mode: TaskMode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerModel {
    /// The processor id (`"0"`, `"1"`, standby `"0-0"`).
    pub id: String,
    /// Sorted by Java task-name order.
    pub tasks: Vec<TaskModel>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobModel {
    pub config: Config,
    /// Sorted by [`container_order`].
    pub containers: Vec<ContainerModel>,
}

/// The order containers are listed in: numeric ids ascending, then standby ids `<n>-<r>` by (n, r), then
/// any other id in Java string order.
pub fn container_order(a: &str, b: &str) -> Ordering {
    fn key(id: &str) -> (u8, u64, u64) {
        if let Ok(n) = id.parse::<u64>() {
            if n.to_string() == id {
                return (0, n, 0);
            }
        }
        if let Some((c, r)) = id.rsplit_once('-') {
            if let (Ok(c), Ok(r)) = (c.parse::<u64>(), r.parse::<u64>()) {
                return (1, c, r);
            }
        }
        (2, 0, 0)
    }
    key(a).cmp(&key(b)).then_with(|| java_cmp(a, b))
}

/// Which Samza release's JSON shape to write (spec 4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SamzaVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Default for SamzaVersion {
    /// 1.7+ (HEAD) shape.
    fn default() -> Self {
        SamzaVersion {
            major: 1,
            minor: 7,
            patch: 0,
        }
    }
}

impl std::str::FromStr for SamzaVersion {
    type Err = SamzaError;

    /// `"1.6"`, `"1.8.0"`, `"0.14.1"`, `"1.9.0-SNAPSHOT"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let core = s.trim().split(['-', '+']).next().unwrap_or("");
        let parts: Vec<&str> = core.split('.').collect();
        let num = |i: usize| -> Option<u32> {
            match parts.get(i) {
                None => Some(0),
                Some(p) => p.parse().ok(),
            }
        };
        match (parts.len(), num(0), num(1), num(2)) {
            (2..=3, Some(major), Some(minor), Some(patch)) => Ok(SamzaVersion {
                major,
                minor,
                patch,
            }),
            _ => Err(SamzaError::Model {
                message: format!(
                    "'{s}' is not a Samza version. Write it as <major>.<minor>, e.g. 1.8 or 0.14."
                ),
            }),
        }
    }
}

impl SamzaVersion {
    pub fn parse(s: &str) -> Result<SamzaVersion, SamzaError> {
        s.parse()
    }

    fn at_least(self, major: u32, minor: u32, patch: u32) -> bool {
        (self.major, self.minor, self.patch) >= (major, minor, patch)
    }
}

impl SamzaVersion {
    pub const fn new(major: u32, minor: u32) -> Self {
        SamzaVersion {
            major,
            minor,
            patch: 0,
        }
    }

    /// Refuses a config that asks for what the target release does not have. The model's JSON shape follows
    /// `--samza-version`, and so must its content: a 1.0 container cannot run the standby tasks of 1.1, and a
    /// 1.6 container reads an elastic task's SSPs without their key buckets, so that two tasks would each
    /// consume the whole partition.
    pub fn check_features(self, config: &super::Config) -> Result<(), SamzaError> {
        let features = [
            (
                "job.standbytasks.replication.factor",
                config.standby_replication_factor()? > 1,
                SamzaVersion::new(1, 1),
                "standby tasks",
            ),
            (
                "job.elasticity.factor",
                config.grouper_elasticity_factor()? > 1,
                SamzaVersion::new(1, 7),
                "elasticity",
            ),
        ];
        for (key, used, since, what) in features {
            if used && self < since {
                return Err(SamzaError::Config {
                    key: key.into(),
                    message: format!(
                        "{what} came with Samza {}.{}, and the model is written for Samza {self} \
                         (--samza-version). Remove the key or target a later Samza.",
                        since.major, since.minor
                    ),
                });
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for SamzaVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// String escapes as Jackson's generators write them (`CharTypes.sOutputEscapes128` with the upper-case
/// `HEX_CHARS`, identical in codehaus Jackson 1.x and Jackson 2): `\"`, `\\`, `\b`, `\t`, `\n`, `\f`, `\r`,
/// every other character below U+0020 as `\u00XX` with upper-case hex, and nothing else (`/`, U+007F and
/// non-ASCII text are written as they are). serde_json agrees on all of it except the hex case.
struct JacksonEscapes<F>(F);

impl<F: Formatter> Formatter for JacksonEscapes<F> {
    fn write_char_escape<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> std::io::Result<()> {
        match escape {
            CharEscape::AsciiControl(byte) => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                writer.write_all(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 0xF)],
                ])
            }
            other => self.0.write_char_escape(writer, other),
        }
    }

    // The pretty formatter keeps state (indentation): every structural call goes to it.
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Compact JSON with Jackson's escapes, for anything Samza writes through its object mapper (the coordinator
/// stream's keys and values too).
pub fn jackson_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(64);
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut out, JacksonEscapes(CompactFormatter));
    value
        .serialize(&mut serializer)
        .expect("strings and lists of strings always serialize");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Streams `value` into `writer` with `formatter`; only the writer can fail.
fn write_with<W: std::io::Write, F: Formatter>(
    value: &impl Serialize,
    writer: W,
    formatter: F,
) -> std::io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(writer, formatter);
    value
        .serialize(&mut serializer)
        .map_err(std::io::Error::from)
}

fn int_container_id(id: &str) -> i64 {
    // Only 0.x wrote an integer id; there all ids were numeric. Anything else gets -1 so old readers fail loudly.
    id.parse::<i64>().unwrap_or(-1)
}

/// The items of `sorted` with runs of equal keys reduced to their last item: what a Java map keeps when the same
/// key is put twice (e.g. two containers of a previous model that claim one processor id).
fn last_of_each_key<'a, T>(
    sorted: &'a [T],
    key: impl Fn(&T) -> &str + 'a,
) -> impl Iterator<Item = &'a T> + 'a {
    sorted
        .iter()
        .enumerate()
        .filter(move |&(i, item)| sorted.get(i + 1).is_none_or(|next| key(next) != key(item)))
        .map(|(_, item)| item)
}

impl JobModel {
    /// Builds a model, putting containers, tasks and SSPs in the documented order.
    pub fn new(config: Config, mut containers: Vec<ContainerModel>) -> JobModel {
        for c in containers.iter_mut() {
            for t in c.tasks.iter_mut() {
                t.ssps.sort_unstable();
                t.ssps.dedup();
            }
            c.tasks.sort_by(|a, b| java_cmp(&a.name, &b.name));
        }
        containers.sort_by(|a, b| container_order(&a.id, &b.id));
        JobModel { config, containers }
    }

    pub fn container(&self, id: &str) -> Option<&ContainerModel> {
        self.containers.iter().find(|c| c.id == id)
    }

    pub fn tasks(&self) -> impl Iterator<Item = &TaskModel> {
        self.containers.iter().flat_map(|c| c.tasks.iter())
    }

    /// `JobModel#maxChangeLogStreamPartitions`: max changelog partition + 1 over all tasks, 0 without tasks.
    pub fn max_changelog_partitions(&self) -> u32 {
        self.tasks()
            .map(|t| t.changelog_partition + 1)
            .max()
            .unwrap_or(0)
    }

    /// The partition count of each input stream that this model was computed with: the highest partition any
    /// task reads, plus one. Partitions are numbered from 0, so this is exact unless an SSP matcher
    /// (`job.systemstreampartition.matcher.class`) left out the highest ones; counting distinct partitions
    /// instead would also miss every partition left out in the middle. The model holds nothing more exact.
    pub fn input_partition_counts(&self) -> BTreeMap<SystemStream, u32> {
        let mut counts: BTreeMap<SystemStream, u32> = BTreeMap::new();
        for ssp in self.tasks().flat_map(|t| t.ssps.iter()) {
            let count = counts.entry(ssp.system_stream()).or_default();
            *count = (*count).max(ssp.partition.saturating_add(1));
        }
        counts
    }

    /// Number of active containers (what a StatefulSet's replicas should be, standby excluded).
    pub fn active_container_count(&self) -> usize {
        self.containers
            .iter()
            .filter(|c| !self.is_standby(c))
            .count()
    }

    /// A standby container holds standby tasks; one without tasks (its active container has none) is known by
    /// its id, `<active id>-<replica>` (`TaskNameGrouperProxy`).
    pub fn is_standby(&self, container: &ContainerModel) -> bool {
        if let Some(t) = container.tasks.first() {
            return t.mode == TaskMode::Standby;
        }
        container
            .id
            .rsplit_once('-')
            .is_some_and(|(active, replica)| {
                replica.bytes().all(|b| b.is_ascii_digit())
                    && !replica.is_empty()
                    && self.containers.iter().any(|c| c.id == active)
            })
    }

    /// Writes compact JSON in the shape `version` wrote, escaped as Jackson escapes strings, as a stream: the
    /// serializer makes many small writes, so give it a buffered writer (or a `Vec`).
    pub fn write_json<W: std::io::Write>(
        &self,
        version: SamzaVersion,
        writer: W,
    ) -> std::io::Result<()> {
        write_with(
            &ModelJson(self, version),
            writer,
            JacksonEscapes(CompactFormatter),
        )
    }

    /// Writes indented JSON (for people; Samza itself writes the compact form), as [`JobModel::write_json`].
    pub fn write_json_pretty<W: std::io::Write>(
        &self,
        version: SamzaVersion,
        writer: W,
    ) -> std::io::Result<()> {
        write_with(
            &ModelJson(self, version),
            writer,
            JacksonEscapes(PrettyFormatter::new()),
        )
    }

    /// Compact JSON in the shape `version` wrote, escaped as Jackson escapes strings.
    pub fn to_json(&self, version: SamzaVersion) -> String {
        let mut out = Vec::with_capacity(self.json_size_hint());
        self.write_json(version, &mut out)
            .expect("writing to memory");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// Indented JSON (for people; Samza itself writes the compact form), escaped as Jackson escapes strings.
    pub fn to_json_pretty(&self, version: SamzaVersion) -> String {
        let mut out = Vec::with_capacity(self.json_size_hint() * 2);
        self.write_json_pretty(version, &mut out)
            .expect("writing to memory");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// `sha256:<hex>` of the model's JSON in the shape of `version`, hashed as the writer streams it (the JSON is
    /// never held), and the JSON's length: the checksum helm-samza puts on pod templates.
    pub fn json_digest(&self, version: SamzaVersion) -> (String, u64) {
        use sha2::{Digest, Sha256};
        use std::io::Write;
        struct Counted {
            hasher: Sha256,
            bytes: u64,
        }
        impl Write for Counted {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.hasher.update(buf);
                self.bytes += buf.len() as u64;
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut counted = Counted {
            hasher: Sha256::new(),
            bytes: 0,
        };
        let mut writer = std::io::BufWriter::with_capacity(64 * 1024, &mut counted);
        self.write_json(version, &mut writer)
            .and_then(|()| writer.flush())
            .expect("hashing in memory");
        drop(writer);
        (
            format!("sha256:{:x}", counted.hasher.finalize()),
            counted.bytes,
        )
    }

    /// About the length of the compact JSON, a little over, so that building it in memory never grows (copies)
    /// the buffer.
    fn json_size_hint(&self) -> usize {
        let config: usize = self.config.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
        let tasks: usize = self
            .tasks()
            .map(|t| {
                let ssps: usize = t
                    .ssps
                    .iter()
                    .map(|s| s.system.len() + s.stream.len() + 64)
                    .sum();
                2 * t.name.len() + 100 + ssps
            })
            .sum();
        config + tasks + 64 * self.containers.len() + 128
    }

    /// Reads any shape Samza ever wrote: `processor-id` or integer `container-id`, with or without
    /// `task-mode` (missing or `""` = Active) and `keyBucket`; unknown fields are ignored.
    ///
    /// The JSON is read as it streams, straight into the model (`read`): a JSON value tree of a large model costs
    /// ten times its text, and the coordinator reads models of up to a million partitions.
    pub fn from_json(text: &str) -> Result<JobModel, SamzaError> {
        let err = |message: String| SamzaError::Previous { message };
        if text.trim_start().as_bytes().first() != Some(&b'{') {
            return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Err(e) => err(format!("not JSON ({e})")),
                Ok(_) => err("the document is not a JSON object".into()),
            });
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let read = serde::de::DeserializeSeed::deserialize(read::Root, &mut de)
            .and_then(|model| de.end().map(|()| model));
        read.map_err(|e| match e.classify() {
            serde_json::error::Category::Data => err(e.to_string()),
            _ => err(format!("not JSON ({e})")),
        })
    }

    /// A short table for people: per container its tasks, input partitions and changelog partitions.
    pub fn summary(&self) -> String {
        let mut rows: Vec<[String; 4]> = Vec::new();
        let (mut tasks, mut ssps) = (0usize, 0usize);
        for c in &self.containers {
            let standby = c.tasks.iter().any(|t| t.mode == TaskMode::Standby);
            let n_ssps: usize = c.tasks.iter().map(|t| t.ssps.len()).sum();
            let mut parts: Vec<u32> = c.tasks.iter().map(|t| t.changelog_partition).collect();
            parts.sort_unstable();
            let id = if standby {
                format!("{} (standby)", c.id)
            } else {
                c.id.clone()
            };
            rows.push([
                id,
                c.tasks.len().to_string(),
                n_ssps.to_string(),
                ranges(&parts),
            ]);
            tasks += c.tasks.len();
            ssps += n_ssps;
        }
        rows.push([
            "total".into(),
            tasks.to_string(),
            ssps.to_string(),
            format!("{} changelog partitions", self.max_changelog_partitions()),
        ]);
        let header = ["container", "tasks", "partitions", "changelog partitions"];
        let width = |i: usize| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        };
        let (w0, w1, w2) = (width(0), width(1), width(2));
        let mut out = String::new();
        let mut line = |a: &str, b: &str, c: &str, d: &str| {
            let _ = writeln!(out, "{a:<w0$}  {b:>w1$}  {c:>w2$}  {d}");
        };
        line(header[0], header[1], header[2], header[3]);
        for r in &rows {
            line(&r[0], &r[1], &r[2], &r[3]);
        }
        out
    }
}

/// `0-3,7,9-10`: sorted numbers as compact ranges.
fn ranges(sorted: &[u32]) -> String {
    let mut all: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] <= end + 1 {
            i += 1;
            end = sorted[i];
        }
        all.push(if end == start {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    // A table for people: a container of thousands of scattered partitions shows its first and last ones.
    const SHOWN: usize = 12;
    if all.len() > SHOWN {
        let hidden = all.len() - SHOWN + 2;
        let last = all.split_off(all.len() - 2);
        all.truncate(SHOWN - 4);
        all.push(format!("… {hidden} more …"));
        all.extend(last);
    }
    all.join(",")
}

// The model is written straight from its structs, without a JSON value tree in between: a tree costs ten times
// the text it becomes. Each object's key order is the order Samza's Jackson writes for `version`.

/// `JobModel` as `version` wrote it.
struct ModelJson<'a>(&'a JobModel, SamzaVersion);

impl Serialize for ModelJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let ModelJson(model, v) = *self;
        let mut root = ser.serialize_map(None)?;
        root.serialize_entry("config", &ConfigJson(&model.config))?;
        root.serialize_entry("containers", &ContainersJson(&model.containers, v))?;
        if v.at_least(0, 10, 0) {
            root.serialize_entry(
                "max-change-log-stream-partitions",
                &model.max_changelog_partitions(),
            )?;
        }
        // 0.10.1–1.5 also serialized the (auto-detected) locality getter; hosts are unknown here.
        if v.at_least(0, 10, 1) && !v.at_least(1, 6, 0) {
            root.serialize_entry("all-container-locality", &LocalityJson(&model.containers))?;
        }
        root.end()
    }
}

struct ConfigJson<'a>(&'a Config);

impl Serialize for ConfigJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_map(self.0.iter())
    }
}

struct LocalityJson<'a>(&'a [ContainerModel]);

impl Serialize for LocalityJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_map(last_of_each_key(self.0, |c| &c.id).map(|c| (&c.id, ())))
    }
}

struct ContainersJson<'a>(&'a [ContainerModel], SamzaVersion);

impl Serialize for ContainersJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let v = self.1;
        ser.collect_map(last_of_each_key(self.0, |c| &c.id).map(|c| (&c.id, ContainerJson(c, v))))
    }
}

struct ContainerJson<'a>(&'a ContainerModel, SamzaVersion);

impl Serialize for ContainerJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let ContainerJson(c, v) = *self;
        let tasks = TasksJson(&c.tasks, v);
        let mut m = ser.serialize_map(None)?;
        if v.at_least(1, 7, 0) {
            m.serialize_entry("processor-id", &c.id)?;
            m.serialize_entry("tasks", &tasks)?;
        } else if v.at_least(1, 0, 0) {
            m.serialize_entry("tasks", &tasks)?;
            m.serialize_entry("processor-id", &c.id)?;
        } else if v.at_least(0, 13, 0) {
            m.serialize_entry("tasks", &tasks)?;
            m.serialize_entry("container-id", &int_container_id(&c.id))?;
            m.serialize_entry("processor-id", &c.id)?;
        } else {
            m.serialize_entry("container-id", &int_container_id(&c.id))?;
            m.serialize_entry("tasks", &tasks)?;
        }
        m.end()
    }
}

struct TasksJson<'a>(&'a [TaskModel], SamzaVersion);

impl Serialize for TasksJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let v = self.1;
        ser.collect_map(last_of_each_key(self.0, |t| &t.name).map(|t| (&t.name, TaskJson(t, v))))
    }
}

struct TaskJson<'a>(&'a TaskModel, SamzaVersion);

impl Serialize for TaskJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let TaskJson(t, v) = *self;
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("task-name", &t.name)?;
        m.serialize_entry("system-stream-partitions", &SspsJson(&t.ssps, v))?;
        m.serialize_entry("changelog-partition", &t.changelog_partition)?;
        if v.at_least(1, 1, 0) {
            m.serialize_entry("task-mode", t.mode.as_str())?;
        }
        m.end()
    }
}

struct SspsJson<'a>(&'a [Ssp], SamzaVersion);

impl Serialize for SspsJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let v = self.1;
        ser.collect_seq(self.0.iter().map(|s| SspJson(s, v)))
    }
}

struct SspJson<'a>(&'a Ssp, SamzaVersion);

impl Serialize for SspJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let SspJson(s, v) = *self;
        // Samza builds this object from a HashMap, whose order for these keys is system, partition, stream,
        // keyBucket.
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("system", &*s.system)?;
        m.serialize_entry("partition", &s.partition)?;
        m.serialize_entry("stream", &*s.stream)?;
        if v.at_least(1, 7, 0) {
            m.serialize_entry("keyBucket", &s.key_bucket)?;
        }
        m.end()
    }
}

/// [`JobModel::from_json`]'s reader: serde visitors that build the model while the JSON streams, with the
/// messages of a reader of values (each names what is missing and where). Repeated keys keep the last value at
/// the first one's place, as a JSON value would.
mod read {
    use std::collections::HashMap;
    use std::fmt;
    use std::sync::Arc;

    use indexmap::IndexMap;
    use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde_json::Value;

    use super::{ContainerModel, JobModel, TaskMode, TaskModel};
    use crate::samza::config::Config;
    use crate::samza::stream::Ssp;

    /// One `Arc` per distinct system or stream name keeps a large model's SSPs cheap.
    #[derive(Default)]
    struct Names(HashMap<String, Arc<str>>);

    impl Names {
        fn get(&mut self, name: &str) -> Arc<str> {
            if let Some(found) = self.0.get(name) {
                return Arc::clone(found);
            }
            let new: Arc<str> = Arc::from(name);
            self.0.insert(name.to_string(), Arc::clone(&new));
            new
        }
    }

    pub(super) struct Root;

    impl<'de> DeserializeSeed<'de> for Root {
        type Value = JobModel;
        fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<JobModel, D::Error> {
            de.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Root {
        type Value = JobModel;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a job model (a JSON object)")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JobModel, A::Error> {
            let mut config: Option<Value> = None;
            let mut containers: Option<IndexMap<String, ContainerModel>> = None;
            let mut names = Names::default();
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "config" => config = Some(map.next_value()?),
                    "containers" => containers = Some(map.next_value_seed(Containers(&mut names))?),
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            let config_obj = config
                .as_ref()
                .and_then(Value::as_object)
                .ok_or_else(|| A::Error::custom("missing object 'config'"))?;
            let mut entries = IndexMap::new();
            for (k, val) in config_obj {
                let s = val.as_str().ok_or_else(|| {
                    A::Error::custom(format!("config value of '{k}' is not a string"))
                })?;
                entries.insert(k.clone(), s.to_string());
            }
            let containers =
                containers.ok_or_else(|| A::Error::custom("missing object 'containers'"))?;
            Ok(JobModel::new(
                Config::from_map(entries),
                containers.into_values().collect(),
            ))
        }
    }

    struct Containers<'n>(&'n mut Names);

    impl<'de> DeserializeSeed<'de> for Containers<'_> {
        type Value = IndexMap<String, ContainerModel>;
        fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
            de.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Containers<'_> {
        type Value = IndexMap<String, ContainerModel>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("missing object 'containers' (an object of containers)")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = IndexMap::new();
            while let Some(key) = map.next_key::<String>()? {
                let container = map.next_value_seed(Container {
                    key: &key,
                    names: &mut *self.0,
                })?;
                out.insert(key, container);
            }
            Ok(out)
        }
    }

    struct Container<'k, 'n> {
        key: &'k str,
        names: &'n mut Names,
    }

    impl<'de> DeserializeSeed<'de> for Container<'_, '_> {
        type Value = ContainerModel;
        fn deserialize<D: serde::Deserializer<'de>>(
            self,
            de: D,
        ) -> Result<ContainerModel, D::Error> {
            de.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Container<'_, '_> {
        type Value = ContainerModel;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "container '{}' to be an object", self.key)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContainerModel, A::Error> {
            let key = self.key;
            let (mut processor, mut number, mut tasks) = (None, None, None);
            while let Some(field) = map.next_key::<String>()? {
                match field.as_str() {
                    "processor-id" => processor = Some(map.next_value::<Value>()?),
                    "container-id" => number = Some(map.next_value::<Value>()?),
                    "tasks" => {
                        tasks = Some(map.next_value_seed(Tasks {
                            container: key,
                            names: &mut *self.names,
                        })?)
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            let id = match (processor, number) {
                (Some(Value::String(p)), _) => p,
                (_, Some(Value::Number(n))) => n.to_string(),
                _ => {
                    return Err(A::Error::custom(format!(
                        "container '{key}' has neither 'processor-id' nor an integer 'container-id'"
                    )))
                }
            };
            let tasks: IndexMap<String, TaskModel> = tasks.ok_or_else(|| {
                A::Error::custom(format!("container '{key}' has no object 'tasks'"))
            })?;
            Ok(ContainerModel {
                id,
                tasks: tasks.into_values().collect(),
            })
        }
    }

    struct Tasks<'k, 'n> {
        container: &'k str,
        names: &'n mut Names,
    }

    impl<'de> DeserializeSeed<'de> for Tasks<'_, '_> {
        type Value = IndexMap<String, TaskModel>;
        fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
            de.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Tasks<'_, '_> {
        type Value = IndexMap<String, TaskModel>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "container '{}' has no object 'tasks'", self.container)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = IndexMap::new();
            while let Some(key) = map.next_key::<String>()? {
                let task = map.next_value_seed(Task {
                    place: format!("task '{key}' of container '{}'", self.container),
                    names: &mut *self.names,
                })?;
                out.insert(key, task);
            }
            Ok(out)
        }
    }

    struct Task<'n> {
        place: String,
        names: &'n mut Names,
    }

    impl<'de> DeserializeSeed<'de> for Task<'_> {
        type Value = TaskModel;
        fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<TaskModel, D::Error> {
            de.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Task<'_> {
        type Value = TaskModel;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "{} is not an object", self.place)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TaskModel, A::Error> {
            let place = &self.place;
            let (mut name, mut changelog, mut mode, mut ssps) = (None, None, None, None);
            while let Some(field) = map.next_key::<String>()? {
                match field.as_str() {
                    "task-name" => name = Some(map.next_value::<Value>()?),
                    "changelog-partition" => changelog = Some(map.next_value::<Value>()?),
                    "task-mode" => mode = Some(map.next_value::<Value>()?),
                    "system-stream-partitions" => {
                        ssps = Some(map.next_value_seed(Ssps {
                            place,
                            names: &mut *self.names,
                        })?)
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            let name = match name {
                Some(Value::String(name)) => name,
                _ => {
                    return Err(A::Error::custom(format!(
                        "{place} has no string 'task-name'"
                    )))
                }
            };
            let changelog_partition = changelog
                .as_ref()
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    A::Error::custom(format!("{place} has no integer 'changelog-partition'"))
                })?;
            let mode = match mode {
                None | Some(Value::Null) => TaskMode::Active,
                Some(Value::String(s)) if s.is_empty() || s == "Active" => TaskMode::Active,
                Some(Value::String(s)) if s == "Standby" => TaskMode::Standby,
                Some(other) => {
                    return Err(A::Error::custom(format!(
                        "{place} has unknown task-mode {other}"
                    )))
                }
            };
            let ssps = ssps.ok_or_else(|| {
                A::Error::custom(format!("{place} has no array 'system-stream-partitions'"))
            })?;
            Ok(TaskModel {
                name,
                ssps,
                changelog_partition,
                mode,
            })
        }
    }

    struct Ssps<'p, 'n> {
        place: &'p str,
        names: &'n mut Names,
    }

    impl<'de> DeserializeSeed<'de> for Ssps<'_, '_> {
        type Value = Vec<Ssp>;
        fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Vec<Ssp>, D::Error> {
            de.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for Ssps<'_, '_> {
        type Value = Vec<Ssp>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "{} has no array 'system-stream-partitions'", self.place)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Ssp>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(ssp) = seq.next_element::<Value>()? {
                let field = |f: &str| ssp.get(f);
                let (Some(system), Some(stream), Some(partition)) = (
                    field("system").and_then(Value::as_str),
                    field("stream").and_then(Value::as_str),
                    field("partition")
                        .and_then(Value::as_u64)
                        .and_then(|p| u32::try_from(p).ok()),
                ) else {
                    return Err(A::Error::custom(format!(
                        "an SSP of {} lacks string 'system', string 'stream' or integer 'partition': {ssp}",
                        self.place
                    )));
                };
                let key_bucket = match field("keyBucket") {
                    None | Some(Value::Null) => -1,
                    Some(v) => v
                        .as_i64()
                        .and_then(|b| i32::try_from(b).ok())
                        .ok_or_else(|| {
                            A::Error::custom(format!(
                                "an SSP of {} has a non-integer keyBucket",
                                self.place
                            ))
                        })?,
                };
                out.push(Ssp {
                    system: self.names.get(system),
                    stream: self.names.get(stream),
                    partition,
                    key_bucket,
                });
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samza::stream::SystemStream;
    use serde_json::Value;

    /// The serializer before it streamed: the model built as a `serde_json::Value` tree, then written. The
    /// streaming writer must give the same bytes.
    mod tree {
        use super::super::*;
        use serde_json::{json, Map, Value};

        fn int_container_id(id: &str) -> Value {
            id.parse::<i64>().map_or(json!(-1), Value::from)
        }

        pub fn to_value(model: &JobModel, v: SamzaVersion) -> Value {
            let mut root = Map::new();
            let config: Map<String, Value> = model
                .config
                .iter()
                .map(|(k, val)| (k.to_string(), Value::String(val.to_string())))
                .collect();
            root.insert("config".into(), Value::Object(config));
            let mut containers = Map::new();
            for c in &model.containers {
                containers.insert(c.id.clone(), container_value(c, v));
            }
            root.insert("containers".into(), Value::Object(containers));
            if v.at_least(0, 10, 0) {
                root.insert(
                    "max-change-log-stream-partitions".into(),
                    json!(model.max_changelog_partitions()),
                );
            }
            if v.at_least(0, 10, 1) && !v.at_least(1, 6, 0) {
                let locality: Map<String, Value> = model
                    .containers
                    .iter()
                    .map(|c| (c.id.clone(), Value::Null))
                    .collect();
                root.insert("all-container-locality".into(), Value::Object(locality));
            }
            Value::Object(root)
        }

        pub fn write<F: Formatter>(value: &Value, formatter: F) -> String {
            let mut out = Vec::new();
            let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
            serde::Serialize::serialize(value, &mut serializer).unwrap();
            String::from_utf8(out).unwrap()
        }

        fn ssp_value(s: &Ssp, v: SamzaVersion) -> Value {
            // Samza builds this object from a HashMap, whose order for these keys is system, partition, stream, keyBucket.
            let mut m = Map::new();
            m.insert("system".into(), Value::String(s.system.to_string()));
            m.insert("partition".into(), json!(s.partition));
            m.insert("stream".into(), Value::String(s.stream.to_string()));
            if v.at_least(1, 7, 0) {
                m.insert("keyBucket".into(), json!(s.key_bucket));
            }
            Value::Object(m)
        }

        fn task_value(t: &TaskModel, v: SamzaVersion) -> Value {
            let mut m = Map::new();
            m.insert("task-name".into(), Value::String(t.name.clone()));
            m.insert(
                "system-stream-partitions".into(),
                Value::Array(t.ssps.iter().map(|s| ssp_value(s, v)).collect()),
            );
            m.insert("changelog-partition".into(), json!(t.changelog_partition));
            if v.at_least(1, 1, 0) {
                m.insert("task-mode".into(), Value::String(t.mode.as_str().into()));
            }
            Value::Object(m)
        }

        fn container_value(c: &ContainerModel, v: SamzaVersion) -> Value {
            let tasks: Map<String, Value> = c
                .tasks
                .iter()
                .map(|t| (t.name.clone(), task_value(t, v)))
                .collect();
            let mut m = Map::new();
            if v.at_least(1, 7, 0) {
                m.insert("processor-id".into(), Value::String(c.id.clone()));
                m.insert("tasks".into(), Value::Object(tasks));
            } else if v.at_least(1, 0, 0) {
                m.insert("tasks".into(), Value::Object(tasks));
                m.insert("processor-id".into(), Value::String(c.id.clone()));
            } else if v.at_least(0, 13, 0) {
                m.insert("tasks".into(), Value::Object(tasks));
                m.insert("container-id".into(), int_container_id(&c.id));
                m.insert("processor-id".into(), Value::String(c.id.clone()));
            } else {
                m.insert("container-id".into(), int_container_id(&c.id));
                m.insert("tasks".into(), Value::Object(tasks));
            }
            Value::Object(m)
        }
    }

    fn model() -> JobModel {
        let s = SystemStream::new("kafka", "PV");
        let task = |name: &str, p: u32, c: u32, mode| TaskModel {
            name: name.into(),
            ssps: vec![Ssp::new(&s, p)],
            changelog_partition: c,
            mode,
        };
        let mut config = Config::default();
        config.set("job.name", "j");
        JobModel::new(
            config,
            vec![
                ContainerModel {
                    id: "0-0".into(),
                    tasks: vec![task("Standby-Partition 0-0", 0, 0, TaskMode::Standby)],
                },
                ContainerModel {
                    id: "10".into(),
                    tasks: vec![],
                },
                ContainerModel {
                    id: "0".into(),
                    tasks: vec![
                        task("Partition 2", 2, 2, TaskMode::Active),
                        task("Partition 0", 0, 0, TaskMode::Active),
                    ],
                },
                ContainerModel {
                    id: "2".into(),
                    tasks: vec![task("Partition 1", 1, 1, TaskMode::Active)],
                },
            ],
        )
    }

    #[test]
    fn container_and_task_order() {
        let m = model();
        let ids: Vec<&str> = m.containers.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["0", "2", "10", "0-0"]);
        assert_eq!(m.containers[0].tasks[0].name, "Partition 0");
        assert_eq!(m.max_changelog_partitions(), 3);
        assert_eq!(m.active_container_count(), 3);
    }

    fn keys(v: &Value) -> Vec<String> {
        v.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn version_shapes() {
        let m = model();
        // (version, JobModel keys, ContainerModel keys, TaskModel keys, SSP keys)
        type Shape<'a> = (
            &'a str,
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
        );
        let cases: &[Shape] = &[
            (
                "0.9",
                &["config", "containers"],
                &["container-id", "tasks"],
                &[
                    "task-name",
                    "system-stream-partitions",
                    "changelog-partition",
                ],
                &["system", "partition", "stream"],
            ),
            (
                "0.10.0",
                &["config", "containers", "max-change-log-stream-partitions"],
                &["container-id", "tasks"],
                &[
                    "task-name",
                    "system-stream-partitions",
                    "changelog-partition",
                ],
                &["system", "partition", "stream"],
            ),
            (
                "0.12",
                &[
                    "config",
                    "containers",
                    "max-change-log-stream-partitions",
                    "all-container-locality",
                ],
                &["container-id", "tasks"],
                &[
                    "task-name",
                    "system-stream-partitions",
                    "changelog-partition",
                ],
                &["system", "partition", "stream"],
            ),
            (
                "0.14",
                &[
                    "config",
                    "containers",
                    "max-change-log-stream-partitions",
                    "all-container-locality",
                ],
                &["tasks", "container-id", "processor-id"],
                &[
                    "task-name",
                    "system-stream-partitions",
                    "changelog-partition",
                ],
                &["system", "partition", "stream"],
            ),
            (
                "1.0",
                &[
                    "config",
                    "containers",
                    "max-change-log-stream-partitions",
                    "all-container-locality",
                ],
                &["tasks", "processor-id"],
                &[
                    "task-name",
                    "system-stream-partitions",
                    "changelog-partition",
                ],
                &["system", "partition", "stream"],
            ),
            (
                "1.5",
                &[
                    "config",
                    "containers",
                    "max-change-log-stream-partitions",
                    "all-container-locality",
                ],
                &["tasks", "processor-id"],
                &[
                    "task-name",
                    "system-stream-partitions",
                    "changelog-partition",
                    "task-mode",
                ],
                &["system", "partition", "stream"],
            ),
            (
                "1.6",
                &["config", "containers", "max-change-log-stream-partitions"],
                &["tasks", "processor-id"],
                &[
                    "task-name",
                    "system-stream-partitions",
                    "changelog-partition",
                    "task-mode",
                ],
                &["system", "partition", "stream"],
            ),
            (
                "1.7",
                &["config", "containers", "max-change-log-stream-partitions"],
                &["processor-id", "tasks"],
                &[
                    "task-name",
                    "system-stream-partitions",
                    "changelog-partition",
                    "task-mode",
                ],
                &["system", "partition", "stream", "keyBucket"],
            ),
            (
                "1.9.0-SNAPSHOT",
                &["config", "containers", "max-change-log-stream-partitions"],
                &["processor-id", "tasks"],
                &[
                    "task-name",
                    "system-stream-partitions",
                    "changelog-partition",
                    "task-mode",
                ],
                &["system", "partition", "stream", "keyBucket"],
            ),
        ];
        for (ver, root, container, task, ssp) in cases {
            let v: Value =
                serde_json::from_str(&m.to_json(SamzaVersion::parse(ver).unwrap())).unwrap();
            assert_eq!(keys(&v), *root, "{ver} root");
            let c = &v["containers"]["0"];
            assert_eq!(keys(c), *container, "{ver} container");
            let t = &c["tasks"]["Partition 0"];
            assert_eq!(keys(t), *task, "{ver} task");
            assert_eq!(keys(&t["system-stream-partitions"][0]), *ssp, "{ver} ssp");
            // Every shape reads back to the same model (modulo standby modes before 1.1).
            let back = JobModel::from_json(&m.to_json(SamzaVersion::parse(ver).unwrap())).unwrap();
            assert_eq!(back.containers.len(), m.containers.len(), "{ver}");
            assert_eq!(back.containers[0].tasks, m.containers[0].tasks, "{ver}");
        }
        assert_eq!(SamzaVersion::default(), SamzaVersion::parse("1.7").unwrap());
        assert!(SamzaVersion::parse("x").is_err());
        assert!(SamzaVersion::parse("1").is_err());
    }

    /// The streaming writer gives the bytes the `Value` tree gave, for every shape, compact and indented:
    /// empty and standby containers, escapes, and keys put twice (the last value wins, in the first one's place).
    #[test]
    fn the_stream_writes_what_the_tree_wrote() {
        let mut twice = model();
        twice.config.set("ctl\u{1}\"key\"", "\u{1f}\\é");
        let mut dup = twice.containers[0].clone();
        dup.tasks[0].changelog_partition = 7;
        twice.containers.insert(1, dup);
        let again = twice.containers[1].tasks[1].clone();
        twice.containers[1].tasks.insert(
            2,
            TaskModel {
                changelog_partition: 9,
                ..again
            },
        );
        let models = [model(), twice, JobModel::new(Config::default(), vec![])];
        for m in &models {
            for ver in [
                "0.9", "0.10.0", "0.12", "0.14", "1.0", "1.5", "1.6", "1.7", "1.9.0",
            ] {
                let v = SamzaVersion::parse(ver).unwrap();
                let value = tree::to_value(m, v);
                assert_eq!(
                    m.to_json(v),
                    tree::write(&value, JacksonEscapes(CompactFormatter)),
                    "{ver}"
                );
                assert_eq!(
                    m.to_json_pretty(v),
                    tree::write(&value, JacksonEscapes(PrettyFormatter::new())),
                    "{ver}"
                );
            }
        }
    }

    /// What Jackson 1.9.13 and 2.14 (`JsonGenerator#writeString` to a `Writer`, as `writeValueAsString` does)
    /// printed for U+0000..U+001F, `"`, `\`, `/`, U+007F, `é`, U+2028 and U+1F600.
    #[test]
    fn strings_are_escaped_as_jackson_escapes_them() {
        let mut text: String = (0u8..0x20).map(char::from).collect();
        text.push_str("\"\\/\u{7f}\u{e9}\u{2028}\u{1f600}");
        let jackson = concat!(
            r#""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000B\f\r\u000E\u000F"#,
            r#"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F"#,
            r#"\"\\/"#,
            "\u{7f}\u{e9}\u{2028}\u{1f600}\""
        );
        let mut config = Config::default();
        config.set("custom.ctl", text.clone());
        config.set(text.clone(), "key");
        let m = JobModel::new(config, vec![]);
        for json in [
            m.to_json(SamzaVersion::default()),
            m.to_json_pretty(SamzaVersion::default()),
        ] {
            assert!(json.contains(&format!("{jackson}:")), "key: {json}");
            assert!(
                json.contains(&format!(":{jackson}")) || json.contains(&format!(": {jackson}")),
                "{json}"
            );
            assert_eq!(
                JobModel::from_json(&json).unwrap().config.get("custom.ctl"),
                Some(text.as_str())
            );
        }
    }

    #[test]
    fn round_trip_head() {
        let m = model();
        assert_eq!(
            JobModel::from_json(&m.to_json(SamzaVersion::default())).unwrap(),
            m
        );
        assert_eq!(
            JobModel::from_json(&m.to_json_pretty(SamzaVersion::default())).unwrap(),
            m
        );
    }

    #[test]
    fn reads_portable_and_legacy_documents() {
        let portable = r#"{"config":{"a":"b"},"containers":{"0":{"container-id":0,"processor-id":"0","tasks":{"Partition 0":{"task-name":"Partition 0","system-stream-partitions":[{"system":"kafka","stream":"PageViewEvent","partition":0}],"changelog-partition":0}}}},"extra":1}"#;
        let m = JobModel::from_json(portable).unwrap();
        assert_eq!(m.containers[0].id, "0");
        assert_eq!(m.containers[0].tasks[0].mode, TaskMode::Active);
        assert_eq!(m.containers[0].tasks[0].ssps[0].key_bucket, -1);
        let legacy = r#"{"config":{},"containers":{"1":{"container-id":1,"tasks":{"T":{"task-name":"T","system-stream-partitions":[],"changelog-partition":3,"task-mode":""}}}}}"#;
        let m = JobModel::from_json(legacy).unwrap();
        assert_eq!(
            (m.containers[0].id.as_str(), m.max_changelog_partitions()),
            ("1", 4)
        );
    }

    #[test]
    fn read_errors_name_what_is_missing() {
        let cases = [
            ("nope", "not JSON"),
            ("[]", "not a JSON object"),
            (r#"{"containers":{}}"#, "missing object 'config'"),
            (r#"{"config":{}}"#, "missing object 'containers'"),
            (
                r#"{"config":{},"containers":{"0":{"id":"0","tasks":{}}}}"#,
                "neither 'processor-id' nor an integer 'container-id'",
            ),
            (
                r#"{"config":{},"containers":{"0":{"processor-id":"0"}}}"#,
                "no object 'tasks'",
            ),
            (
                r#"{"config":{},"containers":{"0":{"processor-id":"0","tasks":{"T":{"task-name":"T","system-stream-partitions":[]}}}}}"#,
                "'changelog-partition'",
            ),
            (
                r#"{"config":{},"containers":{"0":{"processor-id":"0","tasks":{"T":{"task-name":"T","changelog-partition":0,"system-stream-partitions":[{"system":"k"}]}}}}}"#,
                "lacks string 'system'",
            ),
            (
                r#"{"config":{},"containers":{"0":{"processor-id":"0","tasks":{"T":{"task-name":"T","changelog-partition":0,"task-mode":"Passive","system-stream-partitions":[]}}}}}"#,
                "unknown task-mode",
            ),
            (
                r#"{"config":{"a":1},"containers":{}}"#,
                "config value of 'a' is not a string",
            ),
        ];
        for (text, want) in cases {
            let err = JobModel::from_json(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn summary_shortens_a_long_list_of_changelog_partitions() {
        let every_other: Vec<u32> = (0..100).map(|n| n * 2).collect();
        assert_eq!(
            ranges(&every_other),
            "0,2,4,6,8,10,12,14,… 90 more …,196,198"
        );
        assert_eq!(ranges(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
    }

    #[test]
    fn summary_lists_containers_and_totals() {
        let s = model().summary();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 6, "{s}");
        assert!(lines[0].starts_with("container"), "{s}");
        assert!(
            lines[1].starts_with("0 ") && lines[1].ends_with("0,2"),
            "{s}"
        );
        assert!(lines[4].starts_with("0-0 (standby)"), "{s}");
        assert!(
            lines[5].starts_with("total") && lines[5].contains("3 changelog partitions"),
            "{s}"
        );
        assert_eq!(ranges(&[0, 1, 2, 3, 7, 9, 10]), "0-3,7,9-10");
        assert_eq!(ranges(&[]), "");
    }
}
