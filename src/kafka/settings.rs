//! How a Kafka client for one Samza system is configured: which brokers, how long to wait, and which
//! security properties, gathered from the job config, command-line overrides, environment variables and a
//! client properties file (the scheme is documented in docs/kafka.md).
//!
//! Resolution happens once per system and yields plain `KafkaClientSettings`, so the live client never looks at
//! the environment itself and tests can hand it any settings. Secrets travel in `properties` to librdkafka and
//! nowhere else: `Debug`, `describe()` and every error go through redaction.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use indexmap::IndexMap;

use super::error::KafkaError;
use crate::samza::{properties, SamzaError};

/// Long enough for a healthy cluster across a port-forward, short enough that a wrong address fails a render
/// quickly instead of hanging Helm.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Bootstrap servers for every system; `<NAME>_<SYSTEM>` for one system.
pub const ENV_BOOTSTRAP_SERVERS: &str = "HELM_SAMZA_BOOTSTRAP_SERVERS";
/// A librdkafka properties file applied to every system.
pub const ENV_KAFKA_CONFIG: &str = "HELM_SAMZA_KAFKA_CONFIG";
/// The metadata timeout, in humantime syntax (`5s`, `1m`).
pub const ENV_KAFKA_TIMEOUT: &str = "HELM_SAMZA_KAFKA_TIMEOUT";
/// `HELM_SAMZA_KAFKA_SASL_PASSWORD` sets `sasl.password`; `CONFIG` and `TIMEOUT` are the two names above.
pub const ENV_KAFKA_PROPERTY_PREFIX: &str = "HELM_SAMZA_KAFKA_";

const REDACTED: &str = "<redacted>";

/// Properties we set ourselves: a user value would either be ignored or break the one promise we make, that
/// rendering never creates a topic.
const FORBIDDEN: &[(&str, &str)] = &[
    (
        "bootstrap.servers",
        "give brokers with --bootstrap-servers, HELM_SAMZA_BOOTSTRAP_SERVERS or the job config",
    ),
    (
        "allow.auto.create.topics",
        "helm-samza never creates topics while reading metadata",
    ),
];

/// Samza passes `systems.<system>.consumer.*` to the Java Kafka consumer. These are the security settings among
/// them that mean the same to librdkafka, with librdkafka's name. Java-only settings (JKS trust stores,
/// `sasl.jaas.config`) have no librdkafka equivalent and passwords never come from the job config, so nothing
/// else is copied.
const FROM_JOB_CONFIG: &[(&str, &str)] = &[
    ("security.protocol", "security.protocol"),
    ("sasl.mechanism", "sasl.mechanisms"),
    ("sasl.kerberos.service.name", "sasl.kerberos.service.name"),
    (
        "ssl.endpoint.identification.algorithm",
        "ssl.endpoint.identification.algorithm",
    ),
];

/// Everything needed to ask one Kafka cluster for metadata.
#[derive(Clone, PartialEq, Eq)]
pub struct KafkaClientSettings {
    pub bootstrap_servers: Vec<String>,
    /// Where the bootstrap servers came from (`--bootstrap-servers kafka=…`, an env var, a job config key),
    /// so an unreachable-broker error says what to change.
    pub bootstrap_origin: String,
    pub timeout: Duration,
    /// librdkafka properties: `security.protocol`, `sasl.*`, `ssl.*`, …
    pub properties: IndexMap<String, String>,
}

impl KafkaClientSettings {
    /// Settings for the given brokers with the default timeout and no extra properties.
    pub fn new(bootstrap_servers: Vec<String>) -> Self {
        KafkaClientSettings {
            bootstrap_servers,
            bootstrap_origin: "the caller".to_owned(),
            timeout: DEFAULT_TIMEOUT,
            properties: IndexMap::new(),
        }
    }

    /// The brokers as librdkafka and our messages write them.
    pub fn brokers(&self) -> String {
        self.bootstrap_servers.join(",")
    }

    /// Replaces every user-given property value found in `text` (typically a librdkafka message) by
    /// `<redacted>`: a secret property's value wherever it appears, any other value where it stands as a word of
    /// its own. Not only secret names: a password under a misspelt key (`sasl.pasword`) or under the wrong key
    /// (`sasl.mechanisms`) is still a password, and librdkafka quotes the values it refuses.
    pub fn redact(&self, text: &str) -> String {
        let mut values: Vec<(&str, bool)> = self
            .properties
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| (value.as_str(), is_secret(key)))
            .collect();
        // Longest first, so that a value containing another is replaced whole.
        values.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        let mut text = text.to_owned();
        for (value, secret) in values {
            text = if secret {
                text.replace(value, REDACTED)
            } else {
                replace_word(&text, value, REDACTED)
            };
        }
        text
    }
}

impl fmt::Debug for KafkaClientSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let properties: IndexMap<&str, &str> = self
            .properties
            .iter()
            .map(|(key, value)| {
                (
                    key.as_str(),
                    if is_secret(key) {
                        REDACTED
                    } else {
                        value.as_str()
                    },
                )
            })
            .collect();
        f.debug_struct("KafkaClientSettings")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("bootstrap_origin", &self.bootstrap_origin)
            .field("timeout", &self.timeout)
            .field("properties", &properties)
            .finish()
    }
}

/// `text` with each occurrence of `word` that is not part of a longer word (letters, digits, `_`, `-`, `.`
/// before or after it) replaced by `by`.
fn replace_word(text: &str, word: &str, by: &str) -> String {
    let is_word_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(is_word_char) || after.is_some_and(is_word_char) {
            out.push_str(word);
        } else {
            out.push_str(by);
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

/// Whether a client property holds a credential. Errs on the side of hiding: anything that names a password,
/// secret, token, credential, JAAS config or private key.
pub fn is_secret(property: &str) -> bool {
    let property = property.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "credential",
        "jaas",
        // sasl.oauthbearer.config, .client.secret, .extensions (which may carry tokens), ...
        "oauthbearer",
    ]
    .iter()
    .any(|word| property.contains(word))
        || property.ends_with("key.pem")
}

/// A command-line value for one system (`SYSTEM=VALUE`) or for all systems (`VALUE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scoped {
    pub system: Option<String>,
    pub value: String,
}

impl FromStr for Scoped {
    type Err = String;

    /// A prefix before `=` counts as a system only if it looks like a Samza system name, so host lists and most
    /// file paths pass through whole.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let scoped = match text.split_once('=') {
            Some((system, value)) if is_system_name(system) => Scoped {
                system: Some(system.to_owned()),
                value: value.to_owned(),
            },
            _ => Scoped {
                system: None,
                value: text.to_owned(),
            },
        };
        if scoped.value.trim().is_empty() {
            return Err(format!("`{text}` has an empty value"));
        }
        Ok(scoped)
    }
}

impl fmt::Display for Scoped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.system {
            Some(system) => write!(f, "{system}={}", self.value),
            None => f.write_str(&self.value),
        }
    }
}

fn is_system_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// What the user said on the command line and in the environment, before it is applied to one system.
#[derive(Clone, Default)]
pub struct Overrides {
    /// `--bootstrap-servers [SYSTEM=]HOST:PORT[,HOST:PORT...]`, repeatable.
    pub bootstrap_servers: Vec<Scoped>,
    /// `--kafka-config [SYSTEM=]FILE`, repeatable.
    pub kafka_config: Vec<Scoped>,
    /// `--kafka-timeout`.
    pub timeout: Option<Duration>,
    /// The `HELM_SAMZA_*` environment variables; filled by [`Overrides::with_process_env`], or by tests.
    pub env: BTreeMap<String, String>,
}

impl Overrides {
    /// Adds the process's `HELM_SAMZA_*` variables.
    pub fn with_process_env(mut self) -> Self {
        self.env
            .extend(std::env::vars().filter(|(name, _)| name.starts_with("HELM_SAMZA_")));
        self
    }
}

impl fmt::Debug for Overrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env: BTreeMap<&str, &str> = self
            .env
            .iter()
            .map(|(name, value)| {
                let secret = env_property(name).is_some_and(|property| is_secret(&property));
                (
                    name.as_str(),
                    if secret { REDACTED } else { value.as_str() },
                )
            })
            .collect();
        f.debug_struct("Overrides")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("kafka_config", &self.kafka_config)
            .field("timeout", &self.timeout)
            .field("env", &env)
            .finish()
    }
}

/// `HELM_SAMZA_BOOTSTRAP_SERVERS_<SYSTEM>`: the system uppercased, anything not alphanumeric as `_`.
pub fn bootstrap_env_var(system: &str) -> String {
    let suffix: String = system
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{ENV_BOOTSTRAP_SERVERS}_{suffix}")
}

/// The librdkafka property an env var sets: `HELM_SAMZA_KAFKA_SASL_PASSWORD` → `sasl.password`. librdkafka
/// names use dots and no underscores, which makes the mapping one-to-one.
fn env_property(name: &str) -> Option<String> {
    let rest = name.strip_prefix(ENV_KAFKA_PROPERTY_PREFIX)?;
    if rest.is_empty() || name == ENV_KAFKA_CONFIG || name == ENV_KAFKA_TIMEOUT {
        return None;
    }
    Some(rest.to_ascii_lowercase().replace('_', "."))
}

/// Resolves the client settings for `system` (see docs/kafka.md for the precedence).
pub fn client_settings_for(
    system: &str,
    job_config: &IndexMap<String, String>,
    overrides: &Overrides,
) -> Result<KafkaClientSettings, KafkaError> {
    let (servers, origin) = bootstrap_servers(system, job_config, overrides)?;
    Ok(KafkaClientSettings {
        bootstrap_servers: servers,
        bootstrap_origin: origin,
        timeout: timeout(overrides)?,
        properties: properties(system, job_config, overrides)?,
    })
}

fn bootstrap_servers(
    system: &str,
    job_config: &IndexMap<String, String>,
    overrides: &Overrides,
) -> Result<(Vec<String>, String), KafkaError> {
    let from_args = |scope: Option<&str>| {
        overrides
            .bootstrap_servers
            .iter()
            .rev()
            .find(|arg| arg.system.as_deref() == scope)
            .map(|arg| {
                let origin = match scope {
                    Some(system) => format!("--bootstrap-servers {system}=…"),
                    None => "--bootstrap-servers".to_owned(),
                };
                (arg.value.clone(), origin)
            })
    };
    let from_env = |name: String| overrides.env.get(&name).map(|value| (value.clone(), name));
    let from_config = |side: &str| {
        let key = format!("systems.{system}.{side}.bootstrap.servers");
        job_config
            .get(&key)
            .map(|value| (value.clone(), format!("{key} in the job config")))
    };
    let found = from_args(Some(system))
        .or_else(|| from_args(None))
        .or_else(|| from_env(bootstrap_env_var(system)))
        .or_else(|| from_env(ENV_BOOTSTRAP_SERVERS.to_owned()))
        .or_else(|| from_config("consumer"))
        .or_else(|| from_config("producer"));
    let Some((value, origin)) = found else {
        return Err(KafkaError::NoBootstrapServers {
            system: system.to_owned(),
            env_var: bootstrap_env_var(system),
        });
    };
    let servers = parse_server_list(&value, &origin)?;
    Ok((servers, origin))
}

/// A comma-separated `host:port` list as Samza and Kafka write it; librdkafka checks the rest when connecting.
fn parse_server_list(value: &str, origin: &str) -> Result<Vec<String>, KafkaError> {
    let invalid = |reason: &str| KafkaError::InvalidBootstrapServers {
        origin: origin.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let servers: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|server| !server.is_empty())
        .map(str::to_owned)
        .collect();
    if servers.is_empty() {
        return Err(invalid("no HOST:PORT in it"));
    }
    if servers
        .iter()
        .any(|server| server.contains(char::is_whitespace))
    {
        return Err(invalid("separate servers with commas, not spaces"));
    }
    Ok(servers)
}

fn timeout(overrides: &Overrides) -> Result<Duration, KafkaError> {
    if let Some(timeout) = overrides.timeout {
        return checked_timeout(
            timeout,
            "--kafka-timeout",
            &humantime::format_duration(timeout).to_string(),
        );
    }
    match overrides.env.get(ENV_KAFKA_TIMEOUT) {
        Some(value) => {
            let parsed = humantime::parse_duration(value.trim()).map_err(|error| {
                KafkaError::InvalidTimeout {
                    origin: ENV_KAFKA_TIMEOUT.to_owned(),
                    value: value.clone(),
                    reason: error.to_string(),
                }
            })?;
            checked_timeout(parsed, ENV_KAFKA_TIMEOUT, value)
        }
        None => Ok(DEFAULT_TIMEOUT),
    }
}

/// librdkafka's connection set-up timeout cannot go below one second, so neither can ours.
fn checked_timeout(timeout: Duration, origin: &str, value: &str) -> Result<Duration, KafkaError> {
    if timeout < Duration::from_secs(1) {
        return Err(KafkaError::InvalidTimeout {
            origin: origin.to_owned(),
            value: value.to_owned(),
            reason: "must be at least 1s".to_owned(),
        });
    }
    Ok(timeout)
}

/// Job config, then properties files (env file, then `--kafka-config FILE`, then `--kafka-config SYSTEM=FILE`),
/// then `HELM_SAMZA_KAFKA_<PROP>` variables; later sources win.
fn properties(
    system: &str,
    job_config: &IndexMap<String, String>,
    overrides: &Overrides,
) -> Result<IndexMap<String, String>, KafkaError> {
    let mut properties = IndexMap::new();
    for (java, librdkafka) in FROM_JOB_CONFIG {
        if let Some(value) = job_config.get(&format!("systems.{system}.consumer.{java}")) {
            // Java's client disables host name checks with an empty value; librdkafka spells it `none`.
            let value =
                if *java == "ssl.endpoint.identification.algorithm" && value.trim().is_empty() {
                    "none"
                } else {
                    value.trim()
                };
            properties.insert((*librdkafka).to_owned(), value.to_owned());
        }
    }

    let mut files: Vec<PathBuf> = overrides
        .env
        .get(ENV_KAFKA_CONFIG)
        .map(PathBuf::from)
        .into_iter()
        .collect();
    files.extend(
        overrides
            .kafka_config
            .iter()
            .filter(|arg| arg.system.is_none())
            .map(|arg| (&arg.value).into()),
    );
    files.extend(
        overrides
            .kafka_config
            .iter()
            .filter(|arg| arg.system.as_deref() == Some(system))
            .map(|arg| (&arg.value).into()),
    );
    for file in &files {
        for (key, value) in read_properties_file(file)? {
            insert_checked(&mut properties, key, value, &file.display().to_string())?;
        }
    }

    for (name, value) in &overrides.env {
        if let Some(key) = env_property(name) {
            insert_checked(&mut properties, key, value.clone(), name)?;
        }
    }
    Ok(properties)
}

fn insert_checked(
    properties: &mut IndexMap<String, String>,
    key: String,
    value: String,
    origin: &str,
) -> Result<(), KafkaError> {
    if let Some((_, reason)) = FORBIDDEN.iter().find(|(forbidden, _)| *forbidden == key) {
        return Err(KafkaError::ForbiddenProperty {
            property: key,
            origin: origin.to_owned(),
            reason: (*reason).to_owned(),
        });
    }
    properties.insert(key, value);
    Ok(())
}

/// Reads a client properties file with the one properties reader (`samza::properties`, Java's `Properties`
/// syntax: `#`/`!` comments, `=`, `:` or blank separators, continuation lines, escapes). Stricter than Java in
/// one way: a line with a key and no value at all is refused rather than read as an empty value, since it is far
/// more likely a mistake (a pasted secret). Errors name the line, never its text: it may hold a secret.
pub fn read_properties_file(path: &Path) -> Result<Vec<(String, String)>, KafkaError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| KafkaError::ConfigFileUnreadable {
            path: path.to_owned(),
            source,
        })?;
    parse_properties(&text).map_err(|(line, reason)| KafkaError::ConfigFileLine {
        path: path.to_owned(),
        line,
        reason,
    })
}

fn parse_properties(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let entries = properties::entries(text).map_err(|error| match error {
        SamzaError::Properties { line, .. } => (line, "a malformed \\uXXXX escape".to_owned()),
        other => (0, other.to_string()),
    })?;
    let mut pairs = Vec::with_capacity(entries.len());
    for entry in entries {
        if !entry.has_value {
            return Err((entry.line, "the line is not KEY=VALUE".to_owned()));
        }
        if entry.key.is_empty() {
            return Err((entry.line, "the key before `=` is empty".to_owned()));
        }
        pairs.push((entry.key, entry.value.trim().to_owned()));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> IndexMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn env(pairs: &[(&str, &str)]) -> Overrides {
        Overrides {
            env: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Overrides::default()
        }
    }

    fn scoped(text: &str) -> Scoped {
        text.parse().unwrap()
    }

    #[test]
    fn bootstrap_servers_follow_the_documented_precedence() {
        let job = config(&[
            ("systems.kafka.consumer.bootstrap.servers", "consumer:9092"),
            ("systems.kafka.producer.bootstrap.servers", "producer:9092"),
        ]);
        let producer_only =
            config(&[("systems.kafka.producer.bootstrap.servers", "producer:9092")]);
        let mut all = env(&[
            ("HELM_SAMZA_BOOTSTRAP_SERVERS", "env-all:1"),
            ("HELM_SAMZA_BOOTSTRAP_SERVERS_KAFKA", "env-kafka:1"),
        ]);
        all.bootstrap_servers = vec![
            scoped("arg-all:1"),
            scoped("kafka=arg-kafka:1,arg-kafka:2"),
            scoped("other=x:1"),
        ];

        let cases = [
            (
                "per-system arg",
                &job,
                all.clone(),
                vec!["arg-kafka:1", "arg-kafka:2"],
                "--bootstrap-servers kafka=…",
            ),
            (
                "arg for all",
                &job,
                Overrides {
                    bootstrap_servers: vec![scoped("arg-all:1")],
                    ..all.clone()
                },
                vec!["arg-all:1"],
                "--bootstrap-servers",
            ),
            (
                "per-system env",
                &job,
                Overrides {
                    bootstrap_servers: vec![],
                    ..all.clone()
                },
                vec!["env-kafka:1"],
                "HELM_SAMZA_BOOTSTRAP_SERVERS_KAFKA",
            ),
            (
                "env for all",
                &job,
                env(&[("HELM_SAMZA_BOOTSTRAP_SERVERS", "env-all:1")]),
                vec!["env-all:1"],
                "HELM_SAMZA_BOOTSTRAP_SERVERS",
            ),
            (
                "consumer key",
                &job,
                Overrides::default(),
                vec!["consumer:9092"],
                "systems.kafka.consumer.bootstrap.servers in the job config",
            ),
            (
                "producer key",
                &producer_only,
                Overrides::default(),
                vec!["producer:9092"],
                "systems.kafka.producer.bootstrap.servers in the job config",
            ),
        ];
        for (case, job, overrides, servers, origin) in cases {
            let settings = client_settings_for("kafka", job, &overrides).unwrap();
            assert_eq!(settings.bootstrap_servers, servers, "{case}");
            assert_eq!(settings.bootstrap_origin, origin, "{case}");
        }
    }

    #[test]
    fn per_system_env_var_name_uppercases_and_replaces_punctuation() {
        assert_eq!(
            bootstrap_env_var("kafka-east.1"),
            "HELM_SAMZA_BOOTSTRAP_SERVERS_KAFKA_EAST_1"
        );
        let overrides = env(&[("HELM_SAMZA_BOOTSTRAP_SERVERS_KAFKA_EAST", "east:9092")]);
        let settings = client_settings_for("kafka-east", &IndexMap::new(), &overrides).unwrap();
        assert_eq!(settings.bootstrap_servers, ["east:9092"]);
    }

    #[test]
    fn missing_bootstrap_servers_name_every_way_to_set_them() {
        let error =
            client_settings_for("tracking", &IndexMap::new(), &Overrides::default()).unwrap_err();
        let message = error.to_string();
        for expected in [
            "systems.tracking.consumer.bootstrap.servers",
            "--bootstrap-servers tracking=HOST:PORT",
            "HELM_SAMZA_BOOTSTRAP_SERVERS_TRACKING",
        ] {
            assert!(message.contains(expected), "{message}");
        }
    }

    #[test]
    fn server_lists_are_trimmed_and_spaces_rejected() {
        let job = config(&[("systems.kafka.consumer.bootstrap.servers", " a:1 , b:2,")]);
        let settings = client_settings_for("kafka", &job, &Overrides::default()).unwrap();
        assert_eq!(settings.bootstrap_servers, ["a:1", "b:2"]);
        let job = config(&[("systems.kafka.consumer.bootstrap.servers", "a:1 b:2")]);
        let error = client_settings_for("kafka", &job, &Overrides::default()).unwrap_err();
        assert!(
            matches!(error, KafkaError::InvalidBootstrapServers { .. }),
            "{error}"
        );
    }

    #[test]
    fn scoped_values_only_take_system_like_prefixes() {
        assert_eq!(
            scoped("kafka=h:1"),
            Scoped {
                system: Some("kafka".into()),
                value: "h:1".into()
            }
        );
        assert_eq!(
            scoped("h:1,h:2"),
            Scoped {
                system: None,
                value: "h:1,h:2".into()
            }
        );
        assert_eq!(scoped("./dir=x/client.properties").system, None);
        assert!("kafka=".parse::<Scoped>().is_err());
    }

    #[test]
    fn timeout_comes_from_arg_then_env_then_default() {
        let default = client_settings_for(
            "k",
            &IndexMap::new(),
            &env(&[("HELM_SAMZA_BOOTSTRAP_SERVERS", "h:1")]),
        );
        assert_eq!(default.unwrap().timeout, DEFAULT_TIMEOUT);
        let mut overrides = env(&[
            ("HELM_SAMZA_BOOTSTRAP_SERVERS", "h:1"),
            ("HELM_SAMZA_KAFKA_TIMEOUT", "3s"),
        ]);
        assert_eq!(
            client_settings_for("k", &IndexMap::new(), &overrides)
                .unwrap()
                .timeout,
            Duration::from_secs(3)
        );
        overrides.timeout = Some(Duration::from_secs(7));
        assert_eq!(
            client_settings_for("k", &IndexMap::new(), &overrides)
                .unwrap()
                .timeout,
            Duration::from_secs(7)
        );
        overrides.timeout = Some(Duration::from_millis(10));
        assert!(matches!(
            client_settings_for("k", &IndexMap::new(), &overrides),
            Err(KafkaError::InvalidTimeout { .. })
        ));
        let bad = env(&[
            ("HELM_SAMZA_BOOTSTRAP_SERVERS", "h:1"),
            ("HELM_SAMZA_KAFKA_TIMEOUT", "soon"),
        ]);
        assert!(matches!(
            client_settings_for("k", &IndexMap::new(), &bad),
            Err(KafkaError::InvalidTimeout { .. })
        ));
    }

    #[test]
    fn properties_layer_job_config_files_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let all = dir.path().join("all.properties");
        std::fs::write(&all, "# shared\nsecurity.protocol=SASL_SSL\nsasl.username = alice\nssl.ca.location: /ca.pem\n")
            .unwrap();
        let kafka_only = dir.path().join("kafka.properties");
        std::fs::write(&kafka_only, "sasl.username=bob\n").unwrap();
        let job = config(&[
            ("systems.kafka.consumer.bootstrap.servers", "h:1"),
            ("systems.kafka.consumer.security.protocol", "SASL_PLAINTEXT"),
            ("systems.kafka.consumer.sasl.mechanism", "SCRAM-SHA-512"),
            (
                "systems.kafka.consumer.ssl.endpoint.identification.algorithm",
                "",
            ),
            (
                "systems.kafka.consumer.sasl.jaas.config",
                "ScramLoginModule required password=\"job-secret\";",
            ),
            (
                "systems.kafka.consumer.ssl.truststore.password",
                "job-secret",
            ),
        ]);
        let mut overrides = env(&[
            ("HELM_SAMZA_KAFKA_CONFIG", all.to_str().unwrap()),
            ("HELM_SAMZA_KAFKA_SASL_PASSWORD", "s3cret"),
            ("HELM_SAMZA_KAFKA_TIMEOUT", "4s"),
        ]);
        overrides.kafka_config = vec![
            scoped(&format!("kafka={}", kafka_only.display())),
            scoped("other=/nonexistent"),
        ];
        let settings = client_settings_for("kafka", &job, &overrides).unwrap();
        let expected = config(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("ssl.endpoint.identification.algorithm", "none"),
            ("sasl.username", "bob"),
            ("ssl.ca.location", "/ca.pem"),
            ("sasl.password", "s3cret"),
        ]);
        assert_eq!(settings.properties, expected);
    }

    #[test]
    fn forbidden_properties_are_rejected_with_their_origin() {
        let overrides = env(&[
            ("HELM_SAMZA_BOOTSTRAP_SERVERS", "h:1"),
            ("HELM_SAMZA_KAFKA_ALLOW_AUTO_CREATE_TOPICS", "true"),
        ]);
        let error = client_settings_for("kafka", &IndexMap::new(), &overrides).unwrap_err();
        assert!(
            error.to_string().contains("allow.auto.create.topics"),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains("HELM_SAMZA_KAFKA_ALLOW_AUTO_CREATE_TOPICS"),
            "{error}"
        );
    }

    #[test]
    fn properties_files_report_the_bad_line_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("client.properties");
        std::fs::write(&file, "a=1\n\n  hunter2\n").unwrap();
        let error = read_properties_file(&file).unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert!(
            matches!(error, KafkaError::ConfigFileLine { line: 3, .. }),
            "{error}"
        );
        let error = read_properties_file(&dir.path().join("missing")).unwrap_err();
        assert!(
            matches!(error, KafkaError::ConfigFileUnreadable { .. }),
            "{error}"
        );
    }

    #[test]
    fn properties_parse_like_java_for_client_configs() {
        let parsed =
            parse_properties("! c\n# c\nk1=v1\nk2 : v2\nk3=a\\\n   b\nk4=ends\\\\\nk5=\nk6 v 6\n")
                .unwrap();
        let expected = [
            ("k1", "v1"),
            ("k2", "v2"),
            ("k3", "ab"),
            ("k4", "ends\\"),
            ("k5", ""),
            ("k6", "v 6"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        assert_eq!(parsed, expected);
    }

    #[test]
    fn debug_and_redact_never_show_secrets() {
        let mut settings = KafkaClientSettings::new(vec!["h:1".into()]);
        for (key, value) in [
            ("sasl.password", "pw-1"),
            ("sasl.jaas.config", "jaas-2"),
            ("ssl.key.password", "pw-3"),
            ("ssl.key.pem", "pem-4"),
            ("sasl.oauthbearer.client.secret", "sec-5"),
            ("sasl.username", "alice"),
        ] {
            settings.properties.insert(key.into(), value.into());
        }
        let debug = format!("{settings:?}");
        for secret in ["pw-1", "jaas-2", "pw-3", "pem-4", "sec-5"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("alice"), "{debug}");
        // Secrets go wherever they stand; every other value where it is a word of its own, never inside a
        // longer word.
        settings
            .properties
            .insert("sasl.pasword".into(), "typo-pw".into());
        settings.properties.insert("linger.ms".into(), "1".into());
        assert_eq!(
            settings.redact("failed with xpw-1 and pem-4 for alice (typo-pw) at 127.0.0.1:9092 1 alice2"),
            "failed with x<redacted> and <redacted> for <redacted> (<redacted>) at 127.0.0.1:9092 <redacted> alice2"
        );

        let overrides = env(&[
            ("HELM_SAMZA_KAFKA_SASL_PASSWORD", "pw-env"),
            ("HELM_SAMZA_KAFKA_SASL_USERNAME", "bob"),
        ]);
        let debug = format!("{overrides:?}");
        assert!(
            !debug.contains("pw-env") && debug.contains("bob"),
            "{debug}"
        );
    }
}
