//! Helm's rendered manifest stream: split into documents, read their heads, patch, join.
//!
//! The post-renderer must give back every document it does not change byte for byte, because
//! any YAML tree round-trip loses something Helm or Kubernetes can see (comments, `# Source:`
//! lines, anchors, key order, and scalars whose meaning differs between YAML 1.1 and 1.2). So
//! the layer is shaped around raw text: [`Stream`] keeps `&str` slices of the input, a cheap
//! pre-filter ([`Document::kind_hint`], [`Document::mentions`]) decides which documents are worth
//! parsing, and [`Patch`] edits a document by splicing bytes at spans found by an event parser.
//! Only text we create ourselves goes through serde-saphyr's writer, whose default quoting is
//! safe for go-yaml v2, the YAML 1.1 reader Helm hands manifests to (sigs.k8s.io/yaml).

mod document;
mod node;
mod patch;
mod stream;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod oracle_tests;

use std::fmt;

pub use document::{Document, Head};
pub use patch::{apply, display_path, Patch, Seg, StringScalar};
pub use stream::{EditedDocument, Flavor, Stream};

/// The annotation Helm 4 puts on every document it pipes to a post-renderer; it files the
/// document back under that template path afterwards (helm/helm `pkg/action/action.go`,
/// annotateAndMerge / splitAndDeannotate).
pub const HELM4_FILENAME_ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";

/// Which document of the stream an error is about, with what can be read of it cheaply, so the
/// user can find it in their chart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocRef {
    /// Position in the stream, counting from 0 and including empty documents.
    pub index: usize,
    /// The template path from `# Source:` (Helm 3) or the filename annotation (Helm 4).
    pub source: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
}

impl fmt::Display for DocRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "document {}", self.index)?;
        match (&self.kind, &self.name) {
            (Some(kind), Some(name)) => write!(f, " ({kind} {name})")?,
            (Some(kind), None) => write!(f, " ({kind})")?,
            _ => {}
        }
        if let Some(source) = &self.source {
            write!(f, " from {source}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong reading, patching or writing manifests.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the manifest stream is not UTF-8: invalid byte at offset {offset}")]
    NotUtf8 { offset: usize },
    #[error("{doc}: invalid YAML: {message}")]
    Parse { doc: Box<DocRef>, message: String },
    #[error("{doc}: is not a YAML mapping, so it cannot be a Kubernetes resource")]
    NotAMapping { doc: Box<DocRef> },
    #[error("{doc}: missing `{field}`")]
    MissingField {
        doc: Box<DocRef>,
        field: &'static str,
    },
    #[error("{doc}: cannot patch `{path}`: {reason}")]
    Patch {
        doc: Box<DocRef>,
        path: String,
        reason: String,
    },
    #[error("cannot write {what} as YAML: {message}")]
    Write { what: String, message: String },
    #[error("cannot write the manifest stream: {0}")]
    Io(#[from] std::io::Error),
}

/// The one set of serde-saphyr reader options used for manifests, chosen to read values as
/// go-yaml v2 does: `0755` is octal, a repeated key keeps its last value (sigs.k8s.io/yaml's
/// non-strict `YAMLToJSON`), `.inf`/`.nan` stay text instead of failing the whole document, and
/// the budget applies to one document at a time but is large enough for big CRD schemas.
pub fn go_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        legacy_octal_numbers: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::AsString,
        budget: serde_saphyr::budget! {
            max_documents: 1,
            max_depth: 256,
            max_events: 10_000_000,
            max_nodes: 5_000_000,
            max_total_scalar_bytes: 256 * 1024 * 1024,
        },
    }
}

/// Writes a new document (without separator) with serde-saphyr's YAML-1.1-safe writer: strings
/// such as `yes`, `0755`, `1_000` or timestamps are quoted, so go-yaml v2 reads back exactly the
/// value given. Two-space indentation and sequences at their key's column, as Helm charts do.
pub fn write_document<T: serde::Serialize>(value: &T) -> Result<String, ManifestError> {
    serde_saphyr::to_string(value).map_err(|e| ManifestError::Write {
        what: "a new document".to_string(),
        message: e.to_string(),
    })
}
