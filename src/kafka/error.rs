//! Everything that can go wrong while learning partition facts, each variant naming what the user has to fix:
//! the flag or setting, the system, the topic, the brokers and the timeout. Messages never carry a secret; the
//! client settings are redacted before any text from librdkafka reaches a variant.

use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

/// Renders a timeout the way users type it in `--kafka-timeout` (`5s`, `1m 30s`).
pub(crate) fn human(timeout: &Duration) -> humantime::FormattedDuration {
    humantime::format_duration(*timeout)
}

#[derive(Debug, Error)]
pub enum KafkaError {
    #[error("invalid --partitions value `{flag}`: {reason} (expected SYSTEM.STREAM=N, e.g. kafka.PageViewEvent=8)")]
    InvalidPartitionFlag { flag: String, reason: String },

    #[error("--partitions gives {system}.{stream} two different counts: {first} and {second}")]
    ConflictingPartitionFlags {
        system: String,
        stream: String,
        first: u32,
        second: u32,
    },

    #[error("invalid bootstrap servers `{value}` from {origin}: {reason}")]
    InvalidBootstrapServers {
        origin: String,
        value: String,
        reason: String,
    },

    #[error(
        "system `{system}` has no bootstrap servers: set systems.{system}.consumer.bootstrap.servers in the job \
         config, pass --bootstrap-servers {system}=HOST:PORT or set {env_var}"
    )]
    NoBootstrapServers { system: String, env_var: String },

    #[error("invalid Kafka timeout `{value}` from {origin}: {reason}")]
    InvalidTimeout {
        origin: String,
        value: String,
        reason: String,
    },

    #[error("cannot read Kafka client properties file {}: {source}", path.display())]
    ConfigFileUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("Kafka client properties file {}, line {line}: {reason}", path.display())]
    ConfigFileLine {
        path: PathBuf,
        line: usize,
        reason: String,
    },

    #[error("Kafka client property `{property}` from {origin} is not allowed: {reason}")]
    ForbiddenProperty {
        property: String,
        origin: String,
        reason: String,
    },

    #[error(
        "cannot create a Kafka client for {brokers} (bootstrap servers from {origin}): {message}"
    )]
    ClientCreation {
        brokers: String,
        origin: String,
        message: String,
    },

    #[error(
        "system `{system}`: no broker answered within {}: {brokers} (bootstrap servers from {origin}){}",
        human(timeout),
        cause_suffix(cause)
    )]
    Unreachable {
        system: String,
        brokers: String,
        origin: String,
        timeout: Duration,
        cause: Option<String>,
    },

    #[error(
        "system `{system}`: {brokers} did not answer the metadata request within {}; the brokers are slow, \
         silently unreachable (a firewall), or the timeout is too short (raise it with --kafka-timeout){}",
        human(timeout),
        cause_suffix(cause)
    )]
    TimedOut {
        system: String,
        brokers: String,
        timeout: Duration,
        cause: Option<String>,
    },

    /// A broker refused the client's SASL login (wrong credentials or mechanism). librdkafka keeps retrying
    /// until the timeout, so without this the failure would read as an unreachable broker.
    #[error(
        "system `{system}`: SASL authentication with {brokers} failed: {cause}; check sasl.mechanisms, \
         sasl.username and sasl.password"
    )]
    AuthenticationFailed {
        system: String,
        brokers: String,
        cause: String,
    },

    /// The TLS handshake failed, most often because the brokers' certificate is not signed by a trusted CA.
    #[error(
        "system `{system}`: TLS handshake with {brokers} failed: {cause}; check ssl.ca.location (the CA that \
         signed the brokers' certificates) and that the listener speaks TLS"
    )]
    TlsFailed {
        system: String,
        brokers: String,
        cause: String,
    },

    #[error(
        "system `{system}`: metadata request to {brokers} failed: {message}{}",
        cause_suffix(cause)
    )]
    Metadata {
        system: String,
        brokers: String,
        message: String,
        cause: Option<String>,
    },

    #[error(
        "system `{system}`: topic `{topic}` does not exist on {brokers}; create it first, or give its partition \
         count with --partitions {system}.{topic}=N"
    )]
    TopicMissing {
        system: String,
        topic: String,
        brokers: String,
    },

    #[error(
        "system `{system}`: not authorized to describe topic `{topic}` on {brokers}; grant the client DESCRIBE on \
         the topic or give its partition count with --partitions {system}.{topic}=N"
    )]
    TopicUnauthorized {
        system: String,
        topic: String,
        brokers: String,
    },

    #[error("system `{system}`: brokers {brokers} report an error for topic `{topic}`: {code}")]
    TopicError {
        system: String,
        topic: String,
        brokers: String,
        code: String,
    },

    #[error(
        "system `{system}`: no partition count for {}; tried {}",
        topics.join(", "),
        tried.join(", ")
    )]
    Unanswered {
        system: String,
        topics: Vec<String>,
        tried: Vec<String>,
    },

    #[error("system `{system}`: no source can list all topics; tried {}", tried.join(", "))]
    NoTopicList { system: String, tried: Vec<String> },
}

fn cause_suffix(cause: &Option<String>) -> String {
    match cause {
        Some(cause) => format!("; last client message: {cause}"),
        None => String::new(),
    }
}
