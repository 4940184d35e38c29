//! What the coordinator knows right now, shared by the poll loop, the coordinator stream's writer and the HTTP
//! server, and its two readings: readiness (is the served model still true to the inputs, and is it written to
//! the coordinator stream without contradicting Samza's record there?) and Prometheus metrics.
//!
//! Drift is the one thing the coordinator exists to notice beyond serving the model: Samza's own coordinator
//! (StreamPartitionCountMonitor) restarts the job when an input's partition count changes, because the model's
//! task set no longer covers the topic. Here the model is fixed by the Helm release, so the change is logged,
//! counted, and turns `/readyz` to 503 until a new release brings a model that matches.
//!
//! The coordinator stream is the other: until the served model is written there, the next render (or Samza on
//! YARN) would not find its changelog mapping; and when Samza's stored mapping gives a task another changelog
//! partition than the model does, the stored one was kept but the model's containers read another task's state.
//! Both turn `/readyz` to 503; the model is still served (see `writer`).

use std::collections::BTreeMap;
use std::fmt::Write;

/// The partition counts of one input stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamCounts {
    /// The count the model was computed with.
    pub model: u32,
    /// The count last seen on the broker; `None` until a poll has seen the topic.
    pub broker: Option<u32>,
}

#[derive(Debug, Default)]
pub struct Status {
    /// Why the model cannot be served or understood, `None` when it can.
    pub model_problem: Option<String>,
    /// `(system, stream)` → counts.
    pub streams: BTreeMap<(String, String), StreamCounts>,
    /// Why the last poll of some system failed, if it did.
    pub watch_problem: Option<String>,
    /// Why no Kafka client can be made for some system (its settings are refused): the coordinator can then never
    /// check the model against the inputs, so it is not ready.
    pub kafka_config_problem: Option<String>,
    pub partition_changes: u64,
    pub polls_ok: u64,
    pub polls_failed: u64,
    pub last_poll_unix_seconds: Option<u64>,
    /// Requests for the model by HTTP status code.
    pub model_requests: BTreeMap<u16, u64>,
    /// Answered `/containerHeartbeat` requests.
    pub container_heartbeats: u64,
    /// The write-back to the job's coordinator stream.
    pub stream: StreamStatus,
}

/// Where the write-back of the served model to the coordinator stream stands (`writer`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StreamStatus {
    /// The coordinator writes the stream of the served model: `--coordinator-stream write`, and the model's
    /// coordinator system is a Kafka system (or not known yet, while the model is missing or unreadable).
    pub enabled: bool,
    /// The stream's topic, once the model names it.
    pub topic: Option<String>,
    /// The served model's mapping is on the stream.
    pub written: bool,
    /// Why the last write failed (naming the topic), while it is not written.
    pub problem: Option<String>,
    /// Changelog entries stored after the last write.
    pub changelog_entries: Option<usize>,
    /// Tasks whose stored changelog partition differs from the served model's, and a few of them as
    /// `task: stored N, model M`.
    pub conflicts: usize,
    pub conflict_examples: Vec<String>,
    pub writes_ok: u64,
    pub writes_failed: u64,
}

/// How many conflicting tasks a reason names.
pub const CONFLICT_EXAMPLES: usize = 3;

impl StreamStatus {
    /// Why the coordinator stream keeps the coordinator from being ready, if it does.
    fn reasons(&self) -> Vec<String> {
        if !self.enabled {
            return Vec::new();
        }
        let topic = self
            .topic
            .as_deref()
            .map_or(String::new(), |topic| format!(" `{topic}`"));
        let mut reasons = Vec::new();
        if !self.written {
            reasons.push(match &self.problem {
                Some(problem) => {
                    format!("the job model is not written to its coordinator stream: {problem}")
                }
                None => {
                    format!("the job model is not written to its coordinator stream{topic} yet")
                }
            });
        }
        if self.conflicts > 0 {
            reasons.push(conflict_reason(
                self.topic.as_deref().unwrap_or_default(),
                self.conflicts,
                &self.conflict_examples,
            ));
        }
        reasons
    }
}

/// The readiness reason (and log line) for tasks whose stored changelog partition the served model changes.
pub fn conflict_reason(topic: &str, conflicts: usize, examples: &[String]) -> String {
    let more = if conflicts > examples.len() {
        ", …"
    } else {
        ""
    };
    format!(
        "the served job model disagrees with Samza's record in coordinator stream `{topic}`: {conflicts} task(s) \
         have another changelog partition there ({}{more}); the stored partitions were kept, but containers \
         started with this model restore another task's state: upgrade the release rendered with the stream \
         readable (live Kafka), or with a lock or --previous that holds the stored mapping",
        examples.join("; ")
    )
}

impl Status {
    /// Streams whose broker count differs from the model's, as `system.stream: broker N, model M`.
    pub fn drift(&self) -> Vec<String> {
        self.streams
            .iter()
            .filter_map(|((system, stream), counts)| match counts.broker {
                Some(broker) if broker != counts.model => Some(format!(
                    "{system}.{stream} has {broker} partitions, the job model was computed for {}",
                    counts.model
                )),
                _ => None,
            })
            .collect()
    }

    /// `Ok` when the coordinator serves a model that still matches its inputs, else the reasons it does not.
    pub fn readiness(&self) -> Result<(), Vec<String>> {
        let mut reasons: Vec<String> = self.model_problem.iter().cloned().collect();
        reasons.extend(self.kafka_config_problem.iter().cloned());
        reasons.extend(self.drift());
        reasons.extend(self.stream.reasons());
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(reasons)
        }
    }

    /// The Prometheus text exposition format (version 0.0.4).
    // Not prometheus-client: it keeps live metric handles in a registry and writes OpenMetrics; here each scrape
    // renders a snapshot of `Status`, and the 0.0.4 format asks only for HELP/TYPE lines and escaped label values.
    pub fn metrics(&self) -> String {
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, String)>| {
            let name = format!("helm_samza_coordinator_{name}");
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {value}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {value}");
                }
            }
        };
        let plain = |value: String| vec![(String::new(), value)];
        family(
            "model_available",
            "gauge",
            "1 when the job model is mounted and readable.",
            plain(u8::from(self.model_problem.is_none()).to_string()),
        );
        family(
            "kafka_config_rejected",
            "gauge",
            "1 when no Kafka client can be made with the configured settings, so partition counts are never checked.",
            plain(u8::from(self.kafka_config_problem.is_some()).to_string()),
        );
        family(
            "model_requests_total",
            "counter",
            "Requests for the job model, by HTTP status.",
            self.model_requests
                .iter()
                .map(|(code, count)| (format!("code=\"{code}\""), count.to_string()))
                .collect(),
        );
        family(
            "container_heartbeats_total",
            "counter",
            "Heartbeats of Samza containers answered with alive=true.",
            plain(self.container_heartbeats.to_string()),
        );
        let mut partitions = Vec::new();
        for ((system, stream), counts) in &self.streams {
            let labels = format!(
                "system=\"{}\",stream=\"{}\"",
                escape(system),
                escape(stream)
            );
            partitions.push((
                format!("{labels},source=\"model\""),
                counts.model.to_string(),
            ));
            if let Some(broker) = counts.broker {
                partitions.push((format!("{labels},source=\"broker\""), broker.to_string()));
            }
        }
        family(
            "input_partitions",
            "gauge",
            "Partition count of an input stream, in the job model or on the broker.",
            partitions,
        );
        family(
            "partition_count_drift",
            "gauge",
            "Number of input streams whose broker partition count differs from the job model's.",
            plain(self.drift().len().to_string()),
        );
        family(
            "partition_changes_total",
            "counter",
            "Partition-count changes of input streams seen on the broker.",
            plain(self.partition_changes.to_string()),
        );
        family(
            "partition_polls_total",
            "counter",
            "Polls of the input streams' partition counts, by result.",
            vec![
                ("result=\"ok\"".to_owned(), self.polls_ok.to_string()),
                ("result=\"error\"".to_owned(), self.polls_failed.to_string()),
            ],
        );
        if self.stream.enabled {
            family(
                "stream_written",
                "gauge",
                "1 when the served job model's assignments and changelog mapping are written to the job's coordinator stream.",
                plain(u8::from(self.stream.written).to_string()),
            );
        }
        if let Some(entries) = self.stream.changelog_entries {
            family(
                "stream_changelog_entries",
                "gauge",
                "Changelog entries (task -> partition) in the coordinator stream after the last write.",
                plain(entries.to_string()),
            );
            family(
                "stream_changelog_conflicts",
                "gauge",
                "Tasks whose changelog partition in the coordinator stream differs from the served job model's.",
                plain(self.stream.conflicts.to_string()),
            );
        }
        family(
            "stream_writes_total",
            "counter",
            "Writes of the served job model to the coordinator stream, by result.",
            vec![
                (
                    "result=\"ok\"".to_owned(),
                    self.stream.writes_ok.to_string(),
                ),
                (
                    "result=\"error\"".to_owned(),
                    self.stream.writes_failed.to_string(),
                ),
            ],
        );
        if let Some(seconds) = self.last_poll_unix_seconds {
            family(
                "last_poll_timestamp_seconds",
                "gauge",
                "Unix time of the last successful poll.",
                plain(seconds.to_string()),
            );
        }
        out
    }
}

/// Label values escape backslash, double quote and line feed.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_with(model: u32, broker: Option<u32>) -> Status {
        let mut status = Status::default();
        status.streams.insert(
            ("kafka".into(), "in".into()),
            StreamCounts { model, broker },
        );
        status
    }

    #[test]
    fn readiness_fails_on_drift_and_on_a_missing_model() {
        assert!(status_with(4, Some(4)).readiness().is_ok());
        assert!(status_with(4, None).readiness().is_ok());
        let drifted = status_with(4, Some(8)).readiness().unwrap_err();
        assert!(
            drifted[0].contains("kafka.in has 8 partitions"),
            "{drifted:?}"
        );
        let mut missing = status_with(4, Some(4));
        missing.model_problem = Some("no job model".into());
        assert_eq!(
            missing.readiness().unwrap_err(),
            vec!["no job model".to_owned()]
        );
    }

    #[test]
    fn metrics_group_samples_under_their_family() {
        let mut status = status_with(4, Some(8));
        status.model_requests.insert(200, 3);
        let text = status.metrics();
        assert!(text.contains(
            "# TYPE helm_samza_coordinator_model_requests_total counter\nhelm_samza_coordinator_model_requests_total{code=\"200\"} 3\n"
        ), "{text}");
        assert!(text.contains("helm_samza_coordinator_input_partitions{system=\"kafka\",stream=\"in\",source=\"broker\"} 8\n"));
        assert!(text.contains("helm_samza_coordinator_partition_count_drift 1\n"));
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn the_coordinator_stream_holds_readiness_until_written_and_while_it_disagrees() {
        let mut status = status_with(4, Some(4));
        assert!(status.readiness().is_ok(), "not written when not enabled");
        assert!(!status.metrics().contains("stream_written"));
        status.stream.enabled = true;
        status.stream.topic = Some("__samza_coordinator_j_1".into());
        assert_eq!(
            status.readiness().unwrap_err(),
            ["the job model is not written to its coordinator stream `__samza_coordinator_j_1` yet"]
        );
        status.stream.problem =
            Some("coordinator stream `__samza_coordinator_j_1`: no broker answered".into());
        status.stream.writes_failed = 2;
        assert_eq!(
            status.readiness().unwrap_err(),
            ["the job model is not written to its coordinator stream: coordinator stream `__samza_coordinator_j_1`: no broker answered"]
        );
        let text = status.metrics();
        assert!(
            text.contains("helm_samza_coordinator_stream_written 0\n"),
            "{text}"
        );
        assert!(
            text.contains("helm_samza_coordinator_stream_writes_total{result=\"error\"} 2\n"),
            "{text}"
        );
        assert!(!text.contains("stream_changelog_entries"), "{text}");

        status.stream.written = true;
        status.stream.problem = None;
        status.stream.changelog_entries = Some(7);
        status.stream.conflicts = 5;
        status.stream.conflict_examples = vec![
            "Partition 0: stored 1, model 0".into(),
            "Partition 1: stored 0, model 1".into(),
            "Partition 2: stored 4, model 2".into(),
        ];
        let reasons = status.readiness().unwrap_err();
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        for expected in [
            "disagrees with Samza's record in coordinator stream `__samza_coordinator_j_1`",
            "5 task(s)",
            "(Partition 0: stored 1, model 0; Partition 1: stored 0, model 1; Partition 2: stored 4, model 2, …)",
        ] {
            assert!(reasons[0].contains(expected), "{expected} in {reasons:?}");
        }
        let text = status.metrics();
        for line in [
            "helm_samza_coordinator_stream_written 1\n",
            "helm_samza_coordinator_stream_changelog_entries 7\n",
            "helm_samza_coordinator_stream_changelog_conflicts 5\n",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        status.stream.conflicts = 0;
        assert!(status.readiness().is_ok());
    }
}
