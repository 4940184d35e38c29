//! The coordinator stream's bytes: its name, and the keys and values of the messages Samza keeps in it.
//!
//! Followed from apache/samza (samza-core): `CoordinatorStreamUtil.getCoordinatorStreamName` (the name),
//! `JobConfig.getCoordinatorSystemNameOrNull` (the system), `coordinator/stream/messages/CoordinatorStreamMessage`
//! (key array and value map), `CoordinatorStreamKeySerde` and `CoordinatorStreamValueSerde` (how the metadata
//! store writes them), `serializers/JsonSerde` with `SamzaObjectMapper` (Jackson, compact), the message classes
//! `SetConfig`, `SetChangelogMapping`, `SetTaskContainerMapping`, `SetTaskModeMapping`, `SetTaskPartitionMapping`
//! and `Delete`, and `coordinator/metadatastore/CoordinatorStreamStore` with `NamespaceAwareCoordinatorStreamStore`
//! (how a reader folds the stream into its current state).
//!
//! Only bytes and their meaning live here: no Kafka client, no clock. What the messages add up to is
//! `stored_state.rs`; reading and writing the topic is `kafka/coordinator_stream.rs`.
//!
//! The formats, exactly:
//! - Stream: `__samza_coordinator_<job.name>_<job.id>` with every `_` in the name and the id replaced by `-`,
//!   on system `job.coordinator.system`, else `job.default.system`; one partition.
//! - Key: the compact JSON array `[1,"<type>","<key>"]` (Jackson writes no whitespace; the class comment
//!   warns that `[1, "set-config", …]` would be a different key to Kafka's log compaction).
//! - Value: a JSON object from a Java `HashMap`, which Jackson writes in hash order. For the five header
//!   fields that order is `host`, `source`, `values`, `username`, `timestamp` (checked with JDK 17's
//!   `HashMap`, copied as `getMessageMap` copies it): e.g.
//!   `{"host":"10.0.0.1","source":"SamzaContainer","values":{"Partition":"3"},"username":"samza","timestamp":1700000000000}`.
//!   `timestamp` is a JSON number (a `Long`); every entry of `values` is a JSON string.
//! - A delete is the same key with a null value (a Kafka tombstone, `Delete` / `MetadataStore.delete`).
//! - The `values` of each type: `set-config` `{"value": v}`; `set-changelog` `{"Partition": "<n>"}` keyed by
//!   task name; `set-task-container-assignment` `{"processorId": "<id>"}` keyed by task name (before Samza 1.0
//!   `containerId`, which wins when both are present); `set-task-mode-assignment` `{"taskMode": "Active"}`;
//!   `set-task-partition-assignment` keyed by the SSP as JSON (`{"system":…,"partition":n,"stream":…,
//!   "keyBucket":-1}`, hash order again), with `{"taskNames": "[\"Partition 0\"]"}`, a JSON list in a string.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::stream::Ssp;
use super::{Config, SamzaError};

/// `CoordinatorStreamMessage.VERSION`: the only protocol version Samza has written.
pub const VERSION: i64 = 1;

/// `SetConfig.TYPE`.
pub const SET_CONFIG: &str = "set-config";
/// `SetChangelogMapping.TYPE`.
pub const SET_CHANGELOG: &str = "set-changelog";
/// `SetTaskContainerMapping.TYPE`.
pub const SET_TASK_CONTAINER: &str = "set-task-container-assignment";
/// `SetTaskModeMapping.TYPE`.
pub const SET_TASK_MODE: &str = "set-task-mode-assignment";
/// `SetTaskPartitionMapping.TYPE`.
pub const SET_TASK_PARTITION: &str = "set-task-partition-assignment";

/// The `source` header of messages helm-samza writes. Samza's metadata store writes `SamzaContainer`; no
/// reader looks at it, so it names the writer.
pub const SOURCE: &str = "helm-samza";

/// `CoordinatorStreamUtil.getCoordinatorStreamName` for the job's config (`app.name`/`app.id` first, as the
/// rest of the planner reads the job's name and id).
pub fn stream_name(config: &Config) -> Result<String, SamzaError> {
    Ok(stream_name_of(config.job_name()?, config.job_id()))
}

/// `__samza_coordinator_<name>_<id>`, `_` replaced by `-` in both (so the separators stay unambiguous).
pub fn stream_name_of(job_name: &str, job_id: &str) -> String {
    format!(
        "__samza_coordinator_{}_{}",
        job_name.replace('_', "-"),
        job_id.replace('_', "-")
    )
}

/// `JobConfig.getCoordinatorSystemName`: the system whose Kafka cluster holds the stream.
pub fn stream_system(config: &Config) -> Result<&str, SamzaError> {
    config.coordinator_system().ok_or_else(|| SamzaError::Config {
        key: "job.coordinator.system".into(),
        message: "Missing job.coordinator.system configuration (nor is job.default.system set). Set one of them \
                  to the system that holds the coordinator stream."
            .into(),
    })
}

/// A message key: `[version, type, key]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageKey {
    pub version: i64,
    pub kind: String,
    pub key: String,
}

impl MessageKey {
    /// A key of the current protocol version.
    pub fn new(kind: &str, key: &str) -> MessageKey {
        MessageKey {
            version: VERSION,
            kind: kind.to_owned(),
            key: key.to_owned(),
        }
    }

    /// The compact JSON array Jackson writes for `Arrays.asList(version, type, key)`.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!(
            "[{},{},{}]",
            self.version,
            json_string(&self.kind),
            json_string(&self.key)
        )
        .into_bytes()
    }

    /// Reads a key as `CoordinatorStreamStore` does: a JSON array whose second and third elements are the type
    /// and the key (strings). The version is checked by the caller.
    pub fn parse(bytes: &[u8]) -> Result<MessageKey, String> {
        // Almost every key is well formed: read it typed, and only a bad one again to say what is wrong.
        if let Ok((version, kind, key)) = serde_json::from_slice::<(i64, String, String)>(bytes) {
            return Ok(MessageKey { version, kind, key });
        }
        let (version, kind, key): (Value, Value, Value) = serde_json::from_slice(bytes)
            .map_err(|e| format!("the key is not a JSON array [version, type, key] ({e})"))?;
        let version = version
            .as_i64()
            .ok_or_else(|| format!("the key's version {version} is not a whole number"))?;
        let text = |what: &str, value: Value| match value {
            Value::String(text) => Ok(text),
            other => Err(format!("the key's {what} {other} is not a string")),
        };
        Ok(MessageKey {
            version,
            kind: text("type", kind)?,
            key: text("key", key)?,
        })
    }
}

/// Who wrote a message and when: the header fields around `values`. The caller supplies the time, so encoding
/// stays pure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub host: String,
    pub source: String,
    pub username: String,
    /// Milliseconds since the epoch, as `System.currentTimeMillis()`.
    pub timestamp: i64,
}

impl Header {
    /// helm-samza's header: the host is left empty, as Samza does when it cannot find its own address.
    pub fn helm_samza(timestamp: i64) -> Header {
        Header {
            host: String::new(),
            source: SOURCE.to_owned(),
            username: SOURCE.to_owned(),
            timestamp,
        }
    }
}

/// The value bytes for `values`, in the field order Samza's `HashMap` gives them (see the module comment).
/// `values` holds one entry in every message type this module writes.
pub fn encode_value(header: &Header, values: &[(&str, &str)]) -> Vec<u8> {
    let values: Vec<String> = values
        .iter()
        .map(|(k, v)| format!("{}:{}", json_string(k), json_string(v)))
        .collect();
    format!(
        "{{\"host\":{},\"source\":{},\"values\":{{{}}},\"username\":{},\"timestamp\":{}}}",
        json_string(&header.host),
        json_string(&header.source),
        values.join(","),
        json_string(&header.username),
        header.timestamp
    )
    .into_bytes()
}

/// A message to produce: key bytes and value bytes, `None` for a delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

impl Message {
    pub fn set(kind: &str, key: &str, header: &Header, values: &[(&str, &str)]) -> Message {
        Message {
            key: MessageKey::new(kind, key).to_bytes(),
            value: Some(encode_value(header, values)),
        }
    }

    pub fn delete(kind: &str, key: &str) -> Message {
        Message {
            key: MessageKey::new(kind, key).to_bytes(),
            value: None,
        }
    }
}

/// The part of a value every reader looks at. Other header fields are ignored, as Samza ignores them.
#[derive(Deserialize)]
struct RawValue {
    values: Option<Values>,
}

/// The `values` map of a message. A `BTreeMap`: it holds one entry or two, where a hash table costs more.
pub type Values = BTreeMap<String, Value>;

/// The `values` map of a non-null value. A value whose `values` is missing or null has no entries (Samza's
/// getters then see null and fail or skip, per type; the callers decide).
pub fn decode_values(bytes: &[u8]) -> Result<Values, String> {
    let raw: RawValue = serde_json::from_slice(bytes)
        .map_err(|e| format!("the value is not a JSON object with a `values` map ({e})"))?;
    Ok(raw.values.unwrap_or_default())
}

/// One entry of `values` as the string Samza's `getMessageValue` returns; `None` when absent or null. Samza
/// casts entries to `String`, so any other JSON type fails there too.
pub fn value_string<'a>(values: &'a Values, field: &str) -> Result<Option<&'a str>, String> {
    match values.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(format!(
            "`values.{field}` is {other}, not a string (Samza stores every value as a string)"
        )),
    }
}

/// The SSP JSON `SamzaObjectMapper` writes as a `set-task-partition-assignment` key: a `HashMap` of `system`,
/// `partition`, `stream` and (1.7+) `keyBucket`, in that hash order.
pub fn ssp_key(ssp: &Ssp) -> String {
    format!(
        "{{\"system\":{},\"partition\":{},\"stream\":{},\"keyBucket\":{}}}",
        json_string(&ssp.system),
        ssp.partition,
        json_string(&ssp.stream),
        ssp.key_bucket
    )
}

/// `SystemStreamPartitionDeserializer`: `system`, `stream` and `partition` required, `keyBucket` -1 when absent.
pub fn parse_ssp_key(text: &str) -> Result<Ssp, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RawSsp {
        system: String,
        stream: String,
        partition: u32,
        key_bucket: Option<i32>,
    }
    let raw: RawSsp = serde_json::from_str(text).map_err(|e| {
        format!("the key is not a system stream partition {{system, stream, partition}} ({e})")
    })?;
    Ok(Ssp {
        system: raw.system.into(),
        stream: raw.stream.into(),
        partition: raw.partition,
        key_bucket: raw.key_bucket.unwrap_or(-1),
    })
}

/// A JSON string as Jackson writes it (see [`super::job_model::jackson_json`]).
pub fn json_string(text: &str) -> String {
    super::job_model::jackson_json(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_name_replaces_underscores_in_name_and_id() {
        let config = Config::of(&[("job.name", "page_view_counter"), ("job.id", "prod_2")]);
        assert_eq!(
            stream_name(&config).unwrap(),
            "__samza_coordinator_page-view-counter_prod-2"
        );
        // `job.id` defaults to 1.
        let config = Config::of(&[("job.name", "wikipedia-feed")]);
        assert_eq!(
            stream_name(&config).unwrap(),
            "__samza_coordinator_wikipedia-feed_1"
        );
        assert!(stream_name(&Config::of(&[])).is_err());
    }

    #[test]
    fn stream_system_prefers_the_coordinator_system() {
        let both = Config::of(&[
            ("job.default.system", "kafka"),
            ("job.coordinator.system", "meta"),
        ]);
        assert_eq!(stream_system(&both).unwrap(), "meta");
        let default = Config::of(&[("job.default.system", "kafka")]);
        assert_eq!(stream_system(&default).unwrap(), "kafka");
        let error = stream_system(&Config::of(&[])).unwrap_err().to_string();
        assert!(error.contains("job.coordinator.system"), "{error}");
    }

    /// Keys as `CoordinatorStreamKeySerde` writes them, typed out by hand from the class comment.
    #[test]
    fn keys_are_compact_arrays() {
        let cases: &[(&str, &str, &[u8])] = &[
            (
                SET_CHANGELOG,
                "Partition 0",
                br#"[1,"set-changelog","Partition 0"]"#,
            ),
            (SET_CONFIG, "job.name", br#"[1,"set-config","job.name"]"#),
            (
                SET_TASK_CONTAINER,
                "SystemStreamPartition [kafka, a\"b, 0]",
                br#"[1,"set-task-container-assignment","SystemStreamPartition [kafka, a\"b, 0]"]"#,
            ),
        ];
        for (kind, key, bytes) in cases {
            assert_eq!(MessageKey::new(kind, key).to_bytes(), *bytes);
            assert_eq!(
                MessageKey::parse(bytes).unwrap(),
                MessageKey::new(kind, key)
            );
        }
    }

    /// Jackson writes control characters as `\u00XX` with upper-case hex (serde_json alone would not).
    #[test]
    fn keys_escape_control_characters_as_jackson_does() {
        assert_eq!(
            MessageKey::new(SET_CHANGELOG, "a\u{1f}b\tc").to_bytes(),
            br#"[1,"set-changelog","a\u001Fb\tc"]"#
        );
    }

    #[test]
    fn keys_with_whitespace_still_parse_but_bad_keys_are_named() {
        let spaced = MessageKey::parse(br#"[1, "set-config", "job.name"]"#).unwrap();
        assert_eq!(spaced, MessageKey::new(SET_CONFIG, "job.name"));
        for (bytes, expected) in [
            (&b"not json"[..], "not a JSON array"),
            (br#"{"a":1}"#, "not a JSON array"),
            (br#"[1,"set-config"]"#, "not a JSON array"),
            (br#"["1","set-config","k"]"#, "version \"1\""),
            (br#"[1,"set-config",null]"#, "key null is not a string"),
            (br#"[1,7,"k"]"#, "type 7 is not a string"),
        ] {
            let error = MessageKey::parse(bytes).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
    }

    /// The value of `new SetChangelogMapping("SamzaContainer", "", 3).getMessageMap()` through Jackson, typed
    /// out from the field order of a JDK `HashMap` of the five header keys.
    #[test]
    fn values_have_samzas_field_order() {
        let header = Header {
            host: "10.0.0.1".into(),
            source: "SamzaContainer".into(),
            username: "samza".into(),
            timestamp: 1_700_000_000_000,
        };
        let fixture = br#"{"host":"10.0.0.1","source":"SamzaContainer","values":{"Partition":"3"},"username":"samza","timestamp":1700000000000}"#;
        assert_eq!(encode_value(&header, &[("Partition", "3")]), fixture);
        let values = decode_values(fixture).unwrap();
        assert_eq!(value_string(&values, "Partition").unwrap(), Some("3"));
        assert_eq!(value_string(&values, "absent").unwrap(), None);
    }

    #[test]
    fn non_string_values_are_refused_as_samza_would() {
        let values = decode_values(br#"{"values":{"Partition":3}}"#).unwrap();
        let error = value_string(&values, "Partition").unwrap_err();
        assert!(error.contains("`values.Partition` is 3"), "{error}");
        assert!(decode_values(b"[]").unwrap_err().contains("JSON object"));
        assert!(decode_values(br#"{"values":null}"#).unwrap().is_empty());
    }

    #[test]
    fn ssp_keys_round_trip_and_default_the_key_bucket() {
        let ssp = Ssp {
            system: "kafka".into(),
            stream: "PageViewEvent".into(),
            partition: 3,
            key_bucket: -1,
        };
        let fixture = r#"{"system":"kafka","partition":3,"stream":"PageViewEvent","keyBucket":-1}"#;
        assert_eq!(ssp_key(&ssp), fixture);
        assert_eq!(parse_ssp_key(fixture).unwrap(), ssp);
        // Before Samza 1.7 there was no keyBucket.
        let old = r#"{"system":"kafka","partition":3,"stream":"PageViewEvent"}"#;
        assert_eq!(parse_ssp_key(old).unwrap(), ssp);
        assert!(parse_ssp_key(r#"{"system":"kafka"}"#)
            .unwrap_err()
            .contains("system stream partition"));
    }
}
