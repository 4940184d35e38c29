//! What the coordinator knows right now, shared by the poll loop and the HTTP server, and its two readings:
//! readiness (is the served model still true to the inputs?) and Prometheus metrics.
//!
//! Drift is the one thing the coordinator exists to notice beyond serving the model: Samza's own coordinator
//! (StreamPartitionCountMonitor) restarts the job when an input's partition count changes, because the model's
//! task set no longer covers the topic. Here the model is fixed by the Helm release, so the change is logged,
//! counted, and turns `/readyz` to 503 until a new release brings a model that matches.

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
}
