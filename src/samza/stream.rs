//! Samza's stream value types (`SystemStream`, `SystemStreamPartition`) and the config syntaxes that name
//! them (`task.inputs`, `task.broadcast.inputs`).
//!
//! Names are `Arc<str>` because one stream name is shared by every SSP of the stream: a 100,000-partition
//! plan clones reference counts, not strings. Ordering is Java's `String.compareTo` (UTF-16 code units),
//! which is what Samza's `TreeMap`s and `compareTo`s use.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use super::SamzaError;

/// `String.compareTo`: lexicographic over UTF-16 code units. UTF-8 byte order is code-point order, which
/// differs from UTF-16 order only when a supplementary character (4-byte UTF-8, a surrogate pair in Java)
/// meets one of U+E000..U+FFFF. That needs non-ASCII text on both sides, so the common case is one
/// `memcmp` plus two word-at-a-time ASCII checks.
pub fn java_cmp(a: &str, b: &str) -> Ordering {
    let order = a.as_bytes().cmp(b.as_bytes());
    if order == Ordering::Equal || a.is_ascii() || b.is_ascii() {
        return order;
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// `org.apache.samza.system.SystemStream`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SystemStream {
    pub system: Arc<str>,
    pub stream: Arc<str>,
}

impl SystemStream {
    pub fn new(system: &str, stream: &str) -> SystemStream {
        SystemStream {
            system: Arc::from(system),
            stream: Arc::from(stream),
        }
    }

    /// `StreamUtil.getSystemStreamFromNames`: split at the first `.`; the stream keeps any further dots.
    /// `key` names the config key the text came from, for the error.
    pub fn parse(text: &str, key: &str) -> Result<SystemStream, SamzaError> {
        match text.split_once('.') {
            Some((system, stream)) => Ok(SystemStream::new(system, stream)),
            None => Err(SamzaError::Config {
                key: key.to_string(),
                message: format!(
                    "No '.' in stream name '{text}'. Stream names should be in the form 'system.stream'. \
                     Write each entry as <system>.<stream>, e.g. kafka.{text}."
                ),
            }),
        }
    }

    /// `StreamUtil.getNameFromSystemStream`: `system.stream`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.system, self.stream)
    }
}

impl Ord for SystemStream {
    fn cmp(&self, other: &Self) -> Ordering {
        java_cmp(&self.system, &other.system).then_with(|| java_cmp(&self.stream, &other.stream))
    }
}

impl PartialOrd for SystemStream {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for SystemStream {
    /// Samza's `SystemStream.toString`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SystemStream [system={}, stream={}]",
            self.system, self.stream
        )
    }
}

impl fmt::Debug for SystemStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.system, self.stream)
    }
}

/// `org.apache.samza.system.SystemStreamPartition`: `key_bucket` is -1 unless elasticity (1.7+) is on.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Ssp {
    pub system: Arc<str>,
    pub stream: Arc<str>,
    pub partition: u32,
    pub key_bucket: i32,
}

impl Ssp {
    pub fn new(stream: &SystemStream, partition: u32) -> Ssp {
        Ssp {
            system: stream.system.clone(),
            stream: stream.stream.clone(),
            partition,
            key_bucket: -1,
        }
    }

    pub fn with_key_bucket(&self, key_bucket: i32) -> Ssp {
        Ssp {
            key_bucket,
            ..self.clone()
        }
    }

    pub fn system_stream(&self) -> SystemStream {
        SystemStream {
            system: self.system.clone(),
            stream: self.stream.clone(),
        }
    }
}

impl Ord for Ssp {
    /// `SystemStreamPartition.compareTo`: system, stream, partition id, key bucket.
    fn cmp(&self, other: &Self) -> Ordering {
        // SSPs of one stream share their name allocations; pointer equality skips the string compare.
        let names = |a: &Arc<str>, b: &Arc<str>| {
            if Arc::ptr_eq(a, b) {
                Ordering::Equal
            } else {
                java_cmp(a, b)
            }
        };
        names(&self.system, &other.system)
            .then_with(|| names(&self.stream, &other.stream))
            .then_with(|| self.partition.cmp(&other.partition))
            .then_with(|| self.key_bucket.cmp(&other.key_bucket))
    }
}

impl PartialOrd for Ssp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Ssp {
    /// `SystemStreamPartition.toString`, which is also the task name under GroupBySystemStreamPartition.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key_bucket == -1 {
            write!(
                f,
                "SystemStreamPartition [{}, {}, {}]",
                self.system, self.stream, self.partition
            )
        } else {
            write!(
                f,
                "SystemStreamPartition [{}, {}, {}, {}]",
                self.system, self.stream, self.partition, self.key_bucket
            )
        }
    }
}

impl fmt::Debug for Ssp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Java's `String.split(regex)` drops trailing empty strings (but `"".split(x)` is `[""]`).
pub(crate) fn java_split_trailing(mut parts: Vec<&str>) -> Vec<&str> {
    if parts.len() > 1 || parts.first().is_some_and(|p| !p.is_empty()) {
        while parts.len() > 1 && parts.last() == Some(&"") {
            parts.pop();
        }
        if parts.len() == 1 && parts[0].is_empty() {
            parts.pop();
        }
    }
    parts
}

/// `TaskConfig#getInputStreams` for the value of `key` (normally `task.inputs`): split on `,`, trim each
/// entry, set semantics. Absent or empty → no inputs.
pub fn parse_inputs(value: Option<&str>, key: &str) -> Result<BTreeSet<SystemStream>, SamzaError> {
    let mut out = BTreeSet::new();
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(out);
    };
    for entry in java_split_trailing(value.split(',').collect()) {
        out.insert(SystemStream::parse(entry.trim(), key)?);
    }
    Ok(out)
}

/// Java's `\s`.
fn is_java_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

/// `value.split("\\s*,\\s*")` (Samza's `Config#getList`): the whitespace around each comma goes with the
/// comma; whitespace at either end of the whole value stays.
fn split_list(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c) in value.char_indices() {
        if c == ',' {
            let left = value[start..i].trim_end_matches(is_java_space);
            parts.push(left);
            let rest = &value[i + 1..];
            let skipped = rest.len() - rest.trim_start_matches(is_java_space).len();
            start = i + 1 + skipped;
        }
    }
    // `start` may point past whitespace that a later comma would have consumed anyway.
    parts.push(&value[start.min(value.len())..]);
    java_split_trailing(parts)
}

const BROADCAST_FORMAT: &str =
    "Broadcast stream names should be in the form 'system.stream#partitionId' or 'system.stream#[partitionN-partitionM]'";

/// `TaskConfig#getBroadcastSystemStreamPartitions` for `task.broadcast.inputs`.
pub fn parse_broadcast(value: Option<&str>) -> Result<BTreeSet<Ssp>, SamzaError> {
    const KEY: &str = "task.broadcast.inputs";
    let mut out = BTreeSet::new();
    let Some(value) = value else {
        return Ok(out);
    };
    let bad = |entry: &str| {
        SamzaError::Config {
        key: KEY.to_string(),
        message: format!(
            "incorrect format in {entry}. {BROADCAST_FORMAT}. Fix the entry, e.g. kafka.config-stream#0 or kafka.config-stream#[0-3]."
        ),
    }
    };
    for entry in split_list(value) {
        let Some((name, segment)) = entry.split_once('#') else {
            return Err(bad(entry));
        };
        let stream = SystemStream::parse(name, KEY)?;
        let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
        if digits(segment) {
            let p: u32 = segment.parse().map_err(|_| bad(entry))?;
            i32::try_from(p).map_err(|_| bad(entry))?;
            out.insert(Ssp::new(&stream, p));
        } else if let Some(range) = segment.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let (lo, hi) = range.split_once('-').ok_or_else(|| bad(entry))?;
            if !digits(lo) || !digits(hi) {
                return Err(bad(entry));
            }
            let lo: i32 = lo.parse().map_err(|_| bad(entry))?;
            let hi: i32 = hi.parse().map_err(|_| bad(entry))?;
            // lo > hi: Samza only logs a warning and adds nothing.
            for p in lo..=hi {
                out.insert(Ssp::new(&stream, p as u32));
            }
        } else {
            return Err(bad(entry));
        }
    }
    Ok(out)
}

/// Streams named by a set of broadcast SSPs (`TaskConfig#getBroadcastSystemStreams`).
pub fn broadcast_streams(broadcast: &BTreeSet<Ssp>) -> BTreeSet<SystemStream> {
    broadcast.iter().map(Ssp::system_stream).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_string_order() {
        assert_eq!(java_cmp("Partition 10", "Partition 2"), Ordering::Less);
        assert_eq!(java_cmp("a", "ab"), Ordering::Less);
        assert_eq!(java_cmp("", ""), Ordering::Equal);
        // U+FF21 (3 bytes, UTF-16 0xFF21) vs U+1F600 (4 bytes, UTF-16 0xD83D...): Java puts the emoji first.
        assert_eq!(java_cmp("\u{FF21}", "\u{1F600}"), Ordering::Greater);
        assert_eq!(
            "\u{FF21}".cmp("\u{1F600}"),
            Ordering::Less,
            "byte order differs, so the test can fail"
        );
    }

    #[test]
    fn ssp_display_and_order() {
        let s = SystemStream::new("kafka", "PageViewEvent");
        assert_eq!(
            Ssp::new(&s, 3).to_string(),
            "SystemStreamPartition [kafka, PageViewEvent, 3]"
        );
        assert_eq!(
            Ssp::new(&s, 3).with_key_bucket(1).to_string(),
            "SystemStreamPartition [kafka, PageViewEvent, 3, 1]"
        );
        let mut v = [
            Ssp::new(&s, 10),
            Ssp::new(&s, 2),
            Ssp::new(&SystemStream::new("kafka", "A"), 5),
        ];
        v.sort();
        assert_eq!(
            v.iter().map(|x| x.partition).collect::<Vec<_>>(),
            vec![5, 2, 10]
        );
    }

    #[test]
    fn task_inputs_parsing() {
        let cases: &[(&str, &[&str])] = &[
            ("kafka.a", &["kafka.a"]),
            (" kafka.a , kafka.b ,kafka.a", &["kafka.a", "kafka.b"]),
            ("wikipedia.#en.wikipedia", &["wikipedia.#en.wikipedia"]),
            ("kafka.a,", &["kafka.a"]),
            ("", &[]),
            (",", &[]),
        ];
        for (text, want) in cases {
            let got: Vec<String> = parse_inputs(Some(text), "task.inputs")
                .unwrap()
                .iter()
                .map(|s| s.name())
                .collect();
            assert_eq!(&got, want, "{text:?}");
        }
        let first = parse_inputs(Some("wikipedia.#en.wikipedia"), "task.inputs").unwrap();
        let first = first.iter().next().unwrap();
        assert_eq!(
            (&*first.system, &*first.stream),
            ("wikipedia", "#en.wikipedia")
        );
        for bad in ["kafka", "kafka.a,,kafka.b", " ", "kafka.a, nodot"] {
            let err = parse_inputs(Some(bad), "task.inputs")
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("task.inputs") && err.contains("No '.' in stream name"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn broadcast_parsing() {
        let got = parse_broadcast(Some("kafka.a#1 ,  kafka.b#[0-2],kafka.c#[3-1]")).unwrap();
        let names: Vec<String> = got.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            names,
            vec![
                "SystemStreamPartition [kafka, a, 1]",
                "SystemStreamPartition [kafka, b, 0]",
                "SystemStreamPartition [kafka, b, 1]",
                "SystemStreamPartition [kafka, b, 2]",
            ]
        );
        assert!(parse_broadcast(None).unwrap().is_empty());
        // Whitespace at the ends of the whole value is not trimmed: it becomes part of the system name.
        let odd = parse_broadcast(Some(" kafka.a#1")).unwrap();
        assert_eq!(&*odd.iter().next().unwrap().system, " kafka");
    }

    #[test]
    fn broadcast_errors_carry_samzas_sentence() {
        for (value, entry) in [
            ("kafka.a", "kafka.a"),
            ("kafka.a#x", "kafka.a#x"),
            ("kafka.a#0-2", "kafka.a#0-2"),
            ("kafka.a#[0-]", "kafka.a#[0-]"),
            ("", ""),
        ] {
            let err = parse_broadcast(Some(value)).unwrap_err().to_string();
            let want = format!(
                "incorrect format in {entry}. Broadcast stream names should be in the form 'system.stream#partitionId' or 'system.stream#[partitionN-partitionM]'"
            );
            assert!(err.contains(&want), "{value:?}: {err}");
            assert!(err.contains("task.broadcast.inputs"), "{err}");
        }
        // No '.' before '#': the stream-name error.
        let err = parse_broadcast(Some("kafka#1")).unwrap_err().to_string();
        assert!(err.contains("No '.' in stream name 'kafka'"), "{err}");
    }

    #[test]
    fn list_split_matches_java_regex_split() {
        assert_eq!(split_list("a , b,c  "), vec!["a", "b", "c  "]);
        assert_eq!(split_list(" a"), vec![" a"]);
        assert_eq!(split_list("a,"), vec!["a"]);
        assert_eq!(split_list(""), vec![""]);
        assert_eq!(split_list("a, ,b"), vec!["a", "", "b"]);
    }
}
