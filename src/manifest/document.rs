//! One document of the stream: its raw text, cheap hints read by line scans, and full parses.
//!
//! Parsing YAML costs ~20 MB/s while the post-renderer must pass a 12 MB chart through at
//! hundreds of MB/s, so a caller first asks the cheap questions ([`Document::kind_hint`],
//! [`Document::mentions`]) and parses ([`Document::head`], [`Document::value`]) only the few
//! documents that can matter. Heads are read by serde-saphyr with [`go_options`]; whole values
//! are built from the span tree with go-yaml v2's resolution rules, so they are exactly what
//! Helm sends to Kubernetes, keys included.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use super::{go_options, node, DocRef, ManifestError, StringScalar, HELM4_FILENAME_ANNOTATION};

/// A slice of the input stream from this document's separator line to the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Document<'a> {
    index: usize,
    raw: &'a str,
}

/// What identifies a Kubernetes resource and decides whether helm-samza cares about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub api_version: String,
    pub kind: String,
    /// Empty when the resource only has `metadata.generateName`.
    pub name: String,
    pub namespace: Option<String>,
    /// Label and annotation values as written; a `null` value reads as "".
    pub labels: IndexMap<String, String>,
    pub annotations: IndexMap<String, String>,
    /// The template path: `# Source:` (Helm 3) or the Helm 4 filename annotation.
    pub source: Option<String>,
    /// Has a `helm.sh/hook` annotation (Helm 4 sends hooks to post-renderers; Helm 3 does not).
    pub is_hook: bool,
}

#[derive(Deserialize)]
struct RawHead {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
    metadata: Option<RawMetadata>,
}

#[derive(Deserialize)]
struct RawMetadata {
    name: Option<String>,
    namespace: Option<String>,
    labels: Option<IndexMap<String, Option<String>>>,
    annotations: Option<IndexMap<String, Option<String>>>,
}

impl<'a> Document<'a> {
    pub(crate) fn new(index: usize, raw: &'a str) -> Self {
        Document { index, raw }
    }

    /// Position in the stream, counting empty and comment-only documents.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The exact input bytes, separator line and comments included.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The text parsers read: the raw text without a leading byte order mark. Spans reported by
    /// this module are offsets into it.
    pub fn yaml(&self) -> &'a str {
        self.raw.strip_prefix('\u{feff}').unwrap_or(self.raw)
    }

    /// True when the document holds no YAML node: only separators, blank lines and comments.
    /// Helm skips such documents.
    pub fn is_blank(&self) -> bool {
        self.yaml().lines().all(|line| {
            let line = line
                .strip_prefix("---")
                .filter(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
                .unwrap_or(line)
                .trim();
            line.is_empty() || line.starts_with('#')
        })
    }

    /// Substring test on the raw text: a pre-filter that cannot miss a document that really
    /// contains `needle`, e.g. a `samza.apache.org/` label key.
    pub fn mentions(&self, needle: &str) -> bool {
        self.raw.contains(needle)
    }

    /// The value of the first column-0 `kind:` line, without quotes or comment. Helm charts and
    /// Helm 4's re-serialized input always write `kind` that way; when it is missing (flow-style
    /// or odd documents) the caller must fall back to [`Document::head`].
    pub fn kind_hint(&self) -> Option<&'a str> {
        top_level_value(self.yaml(), "kind")
    }

    /// The template this document came from, read without parsing: Helm 3's `# Source:` line
    /// right after the separator, or Helm 4's filename annotation.
    pub fn source(&self) -> Option<String> {
        for line in self.yaml().lines() {
            let line = line.trim_end_matches('\r');
            if let Some(path) = line.strip_prefix("# Source: ") {
                return Some(path.trim().to_string());
            }
            if !(line.starts_with("---") || line.starts_with('#') || line.trim().is_empty()) {
                break;
            }
        }
        let at = self.raw.find(HELM4_FILENAME_ANNOTATION)?;
        let rest = self.raw[at + HELM4_FILENAME_ANNOTATION.len()..]
            .trim_start_matches(['"', '\''])
            .strip_prefix(':')?;
        let value = rest.lines().next().unwrap_or("");
        Some(unquote(value).into_owned())
    }

    /// apiVersion, kind and metadata, or `None` for an empty or comment-only document.
    pub fn head(&self) -> Result<Option<Head>, ManifestError> {
        if self.is_blank() {
            return Ok(None);
        }
        let raw: Option<RawHead> = serde_saphyr::from_str_with_options(self.yaml(), go_options())
            .map_err(|e| self.parse_error(e))?;
        let Some(raw) = raw else { return Ok(None) };
        let doc = || Box::new(self.describe());
        let api_version = raw.api_version.ok_or_else(|| ManifestError::MissingField {
            doc: doc(),
            field: "apiVersion",
        })?;
        let kind = raw.kind.ok_or_else(|| ManifestError::MissingField {
            doc: doc(),
            field: "kind",
        })?;
        let metadata = raw.metadata.ok_or_else(|| ManifestError::MissingField {
            doc: doc(),
            field: "metadata",
        })?;
        let flatten = |map: Option<IndexMap<String, Option<String>>>| -> IndexMap<String, String> {
            map.unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect()
        };
        let labels = flatten(metadata.labels);
        let annotations = flatten(metadata.annotations);
        let source = self
            .source()
            .or_else(|| annotations.get(HELM4_FILENAME_ANNOTATION).cloned());
        Ok(Some(Head {
            api_version,
            kind,
            name: metadata.name.unwrap_or_default(),
            namespace: metadata.namespace,
            is_hook: annotations.contains_key("helm.sh/hook"),
            labels,
            annotations,
            source,
        }))
    }

    /// The whole document as Helm hands it to Kubernetes (`null` for an empty document): read
    /// with go-yaml v2's YAML 1.1 rules and turned into JSON as sigs.k8s.io/yaml does, so
    /// `on:` is the key `"true"`, `0755` is 493, `1e400` stays text, duplicate keys keep the
    /// last value and `<<` merges as in Go. A non-finite number (`.inf`) is an error, as in Helm.
    pub fn value(&self) -> Result<Value, ManifestError> {
        if self.is_blank() {
            return Ok(Value::Null);
        }
        let parse_error = |message| ManifestError::Parse {
            doc: self.describe().into(),
            message,
        };
        match node::parse(self.yaml()).map_err(parse_error)? {
            None => Ok(Value::Null),
            Some(root) => node::to_json(&root).map_err(parse_error),
        }
    }

    /// Every value go-yaml reads as a string, with its path and span, for rewriting with a
    /// [`super::Patch`].
    pub fn string_scalars(&self) -> Result<Vec<StringScalar>, ManifestError> {
        super::patch::string_scalars(self)
    }

    /// Index, source, kind and name as far as they can be read without parsing, for errors.
    pub fn describe(&self) -> DocRef {
        DocRef {
            index: self.index,
            source: self.source(),
            kind: self.kind_hint().map(str::to_string),
            name: metadata_name_hint(self.yaml()).map(str::to_string),
        }
    }

    fn parse_error(&self, e: serde_saphyr::Error) -> ManifestError {
        ManifestError::Parse {
            doc: self.describe().into(),
            message: e.to_string(),
        }
    }
}

/// The value of a column-0 `key:` line of a block mapping document.
fn top_level_value<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    let mut from = 0;
    loop {
        let at = from + text[from..].find(key)?;
        let line_start = at == 0 || text.as_bytes()[at - 1] == b'\n';
        let rest = &text[at + key.len()..];
        if line_start {
            if let Some(value) = rest.strip_prefix(':') {
                let line = value.split('\n').next().unwrap_or("");
                return Some(scalar_text(line));
            }
        }
        from = at + key.len();
    }
}

/// `metadata.name` read by indentation, for error messages only.
fn metadata_name_hint(text: &str) -> Option<&str> {
    let start = if text.starts_with("metadata:") {
        0
    } else {
        text.find("\nmetadata:")? + 1
    };
    let mut lines = text[start..].split('\n').skip(1);
    let mut indent = None;
    for line in lines.by_ref() {
        let trimmed = line.trim_start_matches(' ');
        if trimmed.trim().is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let this = line.len() - trimmed.len();
        if this == 0 {
            return None;
        }
        if *indent.get_or_insert(this) != this {
            continue;
        }
        if let Some(value) = trimmed.strip_prefix("name:") {
            return Some(scalar_text(value));
        }
    }
    None
}

/// A one-line scalar as written after `key:`, without comment and surrounding quotes.
fn scalar_text(value: &str) -> &str {
    let value = value.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(quote) {
            return inner.rfind(quote).map_or(inner, |end| &inner[..end]);
        }
    }
    value
        .find(" #")
        .map_or(value, |comment| value[..comment].trim_end())
}

/// Like [`scalar_text`], also undoing single-quote doubling (`''` → `'`), which Helm 4's kyaml
/// writer uses for the filename annotation.
fn unquote(value: &str) -> std::borrow::Cow<'_, str> {
    let trimmed = value.trim();
    let inner = scalar_text(trimmed);
    if trimmed.starts_with('\'') && inner.contains("''") {
        inner.replace("''", "'").into()
    } else {
        inner.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Stream;

    const CONFIG_MAP: &str = "---\n# Source: job/templates/config.yaml\napiVersion: v1\nkind: \"ConfigMap\" # c\n\
        metadata:\n  labels:\n    samza.apache.org/job: wiki\n    empty:\n  name: wiki-config\n  annotations:\n    \
        helm.sh/hook: pre-install\n  namespace: ns\ndata:\n  kind: not-this\n";

    #[test]
    fn hints_and_head_of_a_helm3_document() {
        let stream = Stream::split(CONFIG_MAP);
        let doc = stream.documents()[0];
        assert_eq!(doc.kind_hint(), Some("ConfigMap"));
        assert!(doc.mentions("samza.apache.org/"));
        assert!(!doc.mentions("samza.apache.org/model"));
        assert_eq!(doc.source().as_deref(), Some("job/templates/config.yaml"));
        let head = doc.head().unwrap().unwrap();
        assert_eq!(head.api_version, "v1");
        assert_eq!(head.kind, "ConfigMap");
        assert_eq!(head.name, "wiki-config");
        assert_eq!(head.namespace.as_deref(), Some("ns"));
        assert_eq!(head.labels["samza.apache.org/job"], "wiki");
        assert_eq!(head.labels["empty"], "");
        assert!(head.is_hook);
        assert_eq!(head.source.as_deref(), Some("job/templates/config.yaml"));
        let described = doc.describe();
        assert_eq!(described.name.as_deref(), Some("wiki-config"));
        assert_eq!(
            described.to_string(),
            "document 0 (ConfigMap wiki-config) from job/templates/config.yaml"
        );
    }

    #[test]
    fn helm4_source_comes_from_the_filename_annotation() {
        let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  annotations:\n    \
            postrenderer.helm.sh/postrender-filename: 'c/templates/it''s.yaml'\n";
        let doc = Stream::split(text).documents()[0];
        assert_eq!(doc.source().as_deref(), Some("c/templates/it's.yaml"));
        assert_eq!(
            doc.head().unwrap().unwrap().source.as_deref(),
            Some("c/templates/it's.yaml")
        );
    }

    #[test]
    fn blank_documents_have_no_head() {
        for text in [
            "---\n",
            "---\n# Source: x\n",
            "--- # c\n\n# c\n",
            "\u{feff}\n",
            "---\r\n",
        ] {
            let doc = Stream::split(text).documents()[0];
            assert!(doc.is_blank(), "{text:?}");
            assert_eq!(doc.head().unwrap(), None, "{text:?}");
            assert_eq!(doc.value().unwrap(), Value::Null);
        }
        assert!(!Stream::split("--- {a: 1}\n").documents()[0].is_blank());
    }

    #[test]
    fn missing_kind_is_named() {
        let doc = Stream::split("apiVersion: v1\nmetadata:\n  name: x\n").documents()[0];
        let err = doc.head().unwrap_err();
        assert!(
            matches!(err, ManifestError::MissingField { field: "kind", .. }),
            "{err}"
        );
    }

    #[test]
    fn value_reads_like_go_yaml_v2() {
        let doc = Stream::split(
            "a: yes\nb: \"yes\"\nc: 0755\nd: 1_000\ne: 09\nf: 2024-01-01\ng: first\ng: last\n",
        )
        .documents()[0];
        let value = doc.value().unwrap();
        assert_eq!(value["a"], true);
        assert_eq!(value["b"], "yes");
        assert_eq!(value["c"], 493);
        assert_eq!(value["d"], 1000);
        assert_eq!(value["e"], 9);
        assert_eq!(value["f"], "2024-01-01");
        assert_eq!(value["g"], "last");
        assert!(value.get("h").is_none());
        let inf = Stream::split("h: .inf\n").documents()[0]
            .value()
            .unwrap_err();
        assert!(inf.to_string().contains("not a finite number"), "{inf}");
    }
}
