//! The one error type every command returns, and its mapping to exit codes.
//!
//! Each variant carries what the user needs to fix the input: the file or document (source path, kind, name),
//! the config key, the topic or broker. Module errors (`SamzaError`, `ManifestError`, `KafkaError`) are wrapped
//! with the place they occurred, never flattened into strings early.

use std::path::PathBuf;

use crate::{exit_code, kafka::KafkaError, manifest::ManifestError, samza::SamzaError};

/// Where a job came from, for messages: a config file, or the job's documents in the manifest stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOrigin(pub String);

impl std::fmt::Display for JobOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),

    /// Nothing but comments and separators came in: passing that on would make Helm deploy nothing.
    #[error("the manifest stream is empty: nothing to post-render (Helm would deploy nothing)")]
    EmptyStream,

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{origin}: {source}")]
    Samza {
        origin: JobOrigin,
        #[source]
        source: SamzaError,
    },

    #[error(transparent)]
    Manifest(#[from] ManifestError),

    #[error("{origin}: {source}")]
    Kafka {
        origin: JobOrigin,
        #[source]
        source: Box<KafkaError>,
    },

    /// A job's resources in the stream do not fit together (missing config, two workers, ...).
    #[error("{origin}: {message}")]
    Job { origin: JobOrigin, message: String },

    #[error("{origin}: field {field}: {message}")]
    Template {
        origin: JobOrigin,
        field: String,
        message: String,
    },

    #[error("{path}: {message}")]
    Previous { path: PathBuf, message: String },

    /// A job's previous state (its coordinator stream) could not be read.
    #[error("{origin}: {message}")]
    PreviousState { origin: JobOrigin, message: String },

    #[error("{origin}: refused: {message}")]
    Unsafe { origin: JobOrigin, message: String },

    /// Helm itself failed (`helm template`, `helm get manifest`); its own message follows.
    #[error("helm {command} failed: {message}")]
    Helm { command: String, message: String },

    /// The coordinator could not start or stopped serving (`coordinator::CoordinatorError`, as text: the
    /// coordinator is a service below the commands and knows nothing of this type).
    #[error("{0}")]
    Coordinator(String),

    /// `lock --verify-live`: the lock no longer matches Kafka.
    #[error("{origin}: {message}")]
    Drift { origin: JobOrigin, message: String },
}

impl Error {
    /// The documented exit code for this error (see `exit_code`).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit_code::USAGE,
            Error::Io { .. } => exit_code::IO,
            Error::Samza { source, .. } => match source {
                SamzaError::Config { .. } | SamzaError::Properties { .. } => exit_code::CONFIG,
                SamzaError::Model { .. } => exit_code::MODEL,
                SamzaError::MissingPartitions { .. } | SamzaError::MissingTopics { .. } => {
                    exit_code::PARTITIONS
                }
                SamzaError::Previous { .. } => exit_code::PREVIOUS,
            },
            Error::Manifest(_) | Error::Job { .. } | Error::EmptyStream => exit_code::MANIFEST,
            Error::Kafka { .. } => exit_code::PARTITIONS,
            Error::Template { .. } => exit_code::TEMPLATE,
            Error::Previous { .. } | Error::PreviousState { .. } => exit_code::PREVIOUS,
            Error::Unsafe { .. } => exit_code::UNSAFE,
            Error::Helm { .. } => exit_code::HELM,
            Error::Coordinator(_) => exit_code::FINDINGS,
            Error::Drift { .. } => exit_code::DRIFT,
        }
    }

    /// A stream that could not be read, named by what the user gave (a file, a chart, `-`); other errors
    /// already name their document.
    pub fn in_input(self, input: &str) -> Self {
        match self {
            Error::Manifest(e) => Error::Job {
                origin: JobOrigin(input.to_owned()),
                message: e.to_string(),
            },
            other => other,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
