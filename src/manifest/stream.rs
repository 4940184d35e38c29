//! Splitting Helm's manifest stream into documents and joining it back.
//!
//! Documents are cut by a line scan, as Helm does (Helm 3's releaseutil splits on `---` after a
//! newline, Helm 4 on `"\n---\n"`), never by a YAML parser: a line that is exactly `---`, or
//! starts with `--- ` or `---\t` (a comment or even content may follow), at column 0 starts a
//! new document. A `---` inside a block scalar is indented by at least one space, so it never
//! splits. Each [`Document`] is a slice of the input from its separator line (inclusive) to the
//! next one, so the leading `# Source:` comment, empty and comment-only documents and any
//! trailing text stay where they were, and writing an untouched stream reproduces the input byte
//! for byte.
//!
//! Input decisions: a UTF-8 byte order mark stays in the first document's text (go-yaml skips
//! it, and so does our parser); CRLF line ends are kept as they are, and a `---\r\n` line is a
//! separator; input that is not UTF-8 is refused with the offset of the first bad byte, because
//! Helm's readers would refuse it too.

use std::io::{self, Write};

use serde_json::Value;

use super::{write_document, Document, ManifestError, HELM4_FILENAME_ANNOTATION};

/// Which Helm produced the stream, which decides how a document we add records its template path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Helm 3: every document starts with `---` and a `# Source: <chart>/templates/<file>` line.
    Helm3,
    /// Helm 4: no comments; every document carries the
    /// `postrenderer.helm.sh/postrender-filename` annotation, which Helm needs to file it back.
    Helm4,
    /// Neither marker, e.g. plain `kubectl` YAML.
    Plain,
}

/// A manifest stream split into documents, with the edits to apply when it is written back.
#[derive(Debug, Clone)]
pub struct Stream<'a> {
    docs: Vec<Document<'a>>,
    replaced: Vec<Option<String>>,
    appended: Vec<String>,
    flavor: Flavor,
}

impl<'a> Stream<'a> {
    /// Splits `input` at separator lines; every byte of the input belongs to exactly one document.
    pub fn split(input: &'a str) -> Stream<'a> {
        let mut starts = Vec::new();
        if !input.is_empty() {
            // The first document starts at 0 whether or not the stream opens with `---`: text
            // before the first separator is a document of its own (often empty or a comment).
            starts.push(0);
        }
        let bytes = input.as_bytes();
        let mut from = 0;
        while let Some(found) = input[from..].find("\n---") {
            let line = from + found + 1;
            if is_separator_line(&bytes[line..]) {
                starts.push(line);
            }
            from = line;
        }
        let mut docs = Vec::with_capacity(starts.len());
        for (index, &start) in starts.iter().enumerate() {
            let end = starts.get(index + 1).copied().unwrap_or(input.len());
            docs.push(Document::new(index, &input[start..end]));
        }
        Stream {
            replaced: vec![None; docs.len()],
            docs,
            appended: Vec::new(),
            flavor: detect_flavor(input),
        }
    }

    /// Like [`Stream::split`] for raw bytes, refusing input that is not UTF-8.
    pub fn from_bytes(input: &'a [u8]) -> Result<Stream<'a>, ManifestError> {
        match std::str::from_utf8(input) {
            Ok(text) => Ok(Stream::split(text)),
            Err(e) => Err(ManifestError::NotUtf8 {
                offset: e.valid_up_to(),
            }),
        }
    }

    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// The documents in input order, including empty and comment-only ones.
    pub fn documents(&self) -> &[Document<'a>] {
        &self.docs
    }

    /// The template document `index` came from. Under Helm 3 a template file that holds several
    /// documents gets one `# Source:` line, before the first; the documents after it inherit it.
    pub fn source_of(&self, index: usize) -> Option<String> {
        let own = self.docs[index].source();
        if own.is_some() || self.flavor != Flavor::Helm3 {
            return own;
        }
        self.docs[..index].iter().rev().find_map(Document::source)
    }

    /// Replaces document `index` with `text` on write (e.g. the result of [`super::apply`]).
    /// The text should carry its own separator line, as the original did; an empty text drops
    /// the document.
    ///
    /// # Panics
    /// When `index` is not a document of this stream.
    pub fn replace(&mut self, index: usize, text: String) {
        self.replaced[index] = Some(text);
    }

    /// Adds a new document at the end of the stream, written with [`write_document`] and filed
    /// under the template path `source` the way this stream's Helm expects: a `# Source:` line
    /// (Helm 3, plain), or the filename annotation (Helm 4), without which Helm 4 would file it
    /// under `generated-by-postrender-N.yaml`.
    pub fn append(&mut self, source: &str, value: &Value) -> Result<(), ManifestError> {
        let mut text = String::from("---\n");
        let body = match self.flavor {
            Flavor::Helm4 => write_document(&with_filename_annotation(value, source)?)?,
            Flavor::Helm3 | Flavor::Plain => {
                text.push_str("# Source: ");
                text.push_str(source);
                text.push('\n');
                write_document(value)?
            }
        };
        text.push_str(&body);
        self.appended.push(text);
        Ok(())
    }

    /// The documents as [`Stream::write`] will write them, without writing: untouched ones as they are, replaced
    /// ones with their new text, dropped ones left out, then the appended ones. So a reader of the result (lint)
    /// works with the documents themselves instead of splitting the written text again.
    pub fn edited(&self) -> Vec<EditedDocument<'_>> {
        let mut out = Vec::with_capacity(self.docs.len() + self.appended.len());
        for (index, (doc, new)) in self.docs.iter().zip(&self.replaced).enumerate() {
            match new.as_deref() {
                Some("") => {}
                Some(text) => out.push(EditedDocument {
                    input_index: Some(index),
                    source: self.source_of(index),
                    document: Document::new(index, text),
                }),
                None => out.push(EditedDocument {
                    input_index: Some(index),
                    source: self.source_of(index),
                    document: *doc,
                }),
            }
        }
        for (k, text) in self.appended.iter().enumerate() {
            let document = Document::new(self.docs.len() + k, text);
            out.push(EditedDocument {
                input_index: None,
                source: document.source(),
                document,
            });
        }
        out
    }

    /// Writes the stream: untouched documents as their original bytes, replaced ones with their
    /// new text, then the appended ones. A newline is added only where a document's text does
    /// not end with one and another document follows, so the next separator stays at column 0.
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let mut ends_with_newline = true;
        let chunks = self
            .docs
            .iter()
            .zip(&self.replaced)
            .map(|(doc, new)| new.as_deref().unwrap_or(doc.raw()))
            .chain(self.appended.iter().map(String::as_str));
        for chunk in chunks {
            if chunk.is_empty() {
                continue;
            }
            if !ends_with_newline {
                out.write_all(b"\n")?;
            }
            out.write_all(chunk.as_bytes())?;
            ends_with_newline = chunk.ends_with('\n');
        }
        Ok(())
    }
}

/// One document of an edited stream ([`Stream::edited`]).
#[derive(Debug, Clone)]
pub struct EditedDocument<'s> {
    /// Its position in the input stream; `None` for an appended document.
    pub input_index: Option<usize>,
    /// The template it came from (see [`Stream::source_of`]).
    pub source: Option<String>,
    pub document: Document<'s>,
}

/// `---` alone on a line, or followed by a space or tab (`--- # comment`, `--- {json}`).
/// `---foo` and `----` are not separators: go-yaml reads them as plain text.
fn is_separator_line(line: &[u8]) -> bool {
    match line {
        [b'-', b'-', b'-'] | [b'-', b'-', b'-', b'\n' | b' ' | b'\t', ..] => true,
        [b'-', b'-', b'-', b'\r', rest @ ..] => rest.is_empty() || rest[0] == b'\n',
        _ => false,
    }
}

fn detect_flavor(input: &str) -> Flavor {
    const SOURCE: &str = "# Source: ";
    let body = input.strip_prefix('\u{feff}').unwrap_or(input);
    if body.starts_with(SOURCE) || body.contains("\n# Source: ") {
        Flavor::Helm3
    } else if body.contains(HELM4_FILENAME_ANNOTATION) {
        Flavor::Helm4
    } else {
        Flavor::Plain
    }
}

fn with_filename_annotation(value: &Value, source: &str) -> Result<Value, ManifestError> {
    let mut value = value.clone();
    // A missing or null `metadata`/`annotations` becomes an empty mapping first.
    let annotations = value
        .as_object_mut()
        .map(|root| empty_map_if_null(root.entry("metadata").or_insert(Value::Null)))
        .and_then(Value::as_object_mut)
        .map(|metadata| empty_map_if_null(metadata.entry("annotations").or_insert(Value::Null)))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| ManifestError::Write {
            what: format!("the new document {source}"),
            message: "it must be a mapping with a `metadata.annotations` mapping".to_string(),
        })?;
    annotations.insert(
        HELM4_FILENAME_ANNOTATION.to_string(),
        Value::String(source.to_string()),
    );
    Ok(value)
}

fn empty_map_if_null(value: &mut Value) -> &mut Value {
    if value.is_null() {
        *value = Value::Object(Default::default());
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raws<'a>(stream: &Stream<'a>) -> Vec<&'a str> {
        stream.documents().iter().map(|d| d.raw()).collect()
    }

    fn written(stream: &Stream<'_>) -> String {
        let mut out = Vec::new();
        stream.write(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn split_cases_keep_every_byte() {
        // (input, expected document texts)
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("a: 1", &["a: 1"]),
            ("---\na: 1\n---\nb: 2", &["---\na: 1\n", "---\nb: 2"]),
            ("# lead\n---\na: 1\n", &["# lead\n", "---\na: 1\n"]),
            (
                "a: |\n  x\n  ---\n  --- y\n---\nb: 2\n",
                &["a: |\n  x\n  ---\n  --- y\n", "---\nb: 2\n"],
            ),
            (
                "--- # comment\na: 1\n--- {b: 2}\n---\t\nc: 3\n",
                &["--- # comment\na: 1\n", "--- {b: 2}\n", "---\t\nc: 3\n"],
            ),
            (
                "---\n---\n# only a comment\n---\n",
                &["---\n", "---\n# only a comment\n", "---\n"],
            ),
            (
                "---apiVersion: v1\n----\n---\n",
                &["---apiVersion: v1\n----\n", "---\n"],
            ),
            (
                "\u{feff}---\r\na: 1\r\n---\r\nb: 2\r\n",
                &["\u{feff}---\r\na: 1\r\n", "---\r\nb: 2\r\n"],
            ),
            ("a: 1\n---", &["a: 1\n", "---"]),
        ];
        for (input, expected) in cases {
            let stream = Stream::split(input);
            assert_eq!(&raws(&stream), expected, "input {input:?}");
            assert_eq!(written(&stream), *input, "round trip of {input:?}");
        }
    }

    #[test]
    fn helm3_documents_after_the_first_of_a_template_inherit_its_source() {
        let stream = Stream::split(
            "---\n# Source: c/crds/a.yaml\n# upstream header\n---\nkind: A\n---\n# Source: c/templates/b.yaml\nkind: B\n",
        );
        let sources: Vec<_> = (0..3).map(|i| stream.source_of(i)).collect();
        assert_eq!(
            sources,
            [
                Some("c/crds/a.yaml"),
                Some("c/crds/a.yaml"),
                Some("c/templates/b.yaml")
            ]
            .map(|s| s.map(String::from))
        );
        assert_eq!(stream.documents()[1].source(), None);
    }

    proptest::proptest! {
        /// Any stream made of separator, content, comment and blank lines, with or without a
        /// final newline, writes back unchanged, and has one document per separator line (plus
        /// one for text before the first).
        #[test]
        fn any_stream_round_trips(
            lines in proptest::collection::vec(
                proptest::sample::select(vec![
                    "---", "--- # c", "---\r", "--- {a: 1}", "---x", " ---", "a: |", "  ---",
                    "# Source: x.yaml", "", "k: v", "\u{feff}k: v",
                ]),
                0..12,
            ),
            final_newline in proptest::bool::ANY,
        ) {
            let mut input = lines.join("\n");
            if final_newline && !input.is_empty() {
                input.push('\n');
            }
            let stream = Stream::split(&input);
            proptest::prop_assert_eq!(written(&stream), input.clone());
            let separators = input
                .split('\n')
                .enumerate()
                .filter(|(i, line)| *i > 0 && ["---", "--- # c", "---\r", "--- {a: 1}"].contains(line))
                .count();
            let leading = usize::from(!input.is_empty());
            proptest::prop_assert_eq!(stream.documents().len(), separators + leading);
        }
    }

    #[test]
    fn non_utf8_input_names_the_offset() {
        let err = Stream::from_bytes(b"a: 1\nb: \xff\n").unwrap_err();
        assert!(matches!(err, ManifestError::NotUtf8 { offset: 8 }), "{err}");
        assert!(err.to_string().contains("offset 8"));
    }

    #[test]
    fn flavor_is_detected_from_helm_markers() {
        let helm3 = "---\n# Source: c/templates/a.yaml\nkind: A\n";
        let helm4 = "kind: A\nmetadata:\n  annotations:\n    postrenderer.helm.sh/postrender-filename: 'c/templates/a.yaml'\n";
        assert_eq!(Stream::split(helm3).flavor(), Flavor::Helm3);
        assert_eq!(Stream::split(helm4).flavor(), Flavor::Helm4);
        assert_eq!(Stream::split("kind: A\n").flavor(), Flavor::Plain);
    }

    #[test]
    fn replaced_and_appended_documents_stay_on_their_own_lines() {
        let value =
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"}});
        let mut helm3 = Stream::split("---\n# Source: c/templates/a.yaml\na: 1");
        helm3.append("c/templates/model.yaml", &value).unwrap();
        assert_eq!(
            written(&helm3),
            "---\n# Source: c/templates/a.yaml\na: 1\n---\n# Source: c/templates/model.yaml\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\n"
        );

        let mut helm4 = Stream::split(
            "a: 1\nmetadata:\n  annotations:\n    postrenderer.helm.sh/postrender-filename: x\n---\nb: 2\n",
        );
        helm4.replace(0, "a: 3".to_string());
        helm4.append("c/templates/model.yaml", &value).unwrap();
        assert_eq!(
            written(&helm4),
            "a: 3\n---\nb: 2\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\n  annotations:\n    \
             postrenderer.helm.sh/postrender-filename: c/templates/model.yaml\n"
        );
    }

    #[test]
    fn edited_documents_are_what_write_writes() {
        let value =
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"}});
        let mut stream = Stream::split(
            "---\n# Source: c/templates/a.yaml\na: 1\n---\nb: 2\n---\n# Source: c/templates/d.yaml\nd: 4\n",
        );
        stream.replace(0, "---\n# Source: c/templates/a.yaml\na: 3\n".to_string());
        stream.replace(1, String::new());
        stream.append("c/templates/model.yaml", &value).unwrap();
        let edited = stream.edited();
        let joined: String = edited.iter().map(|e| e.document.raw()).collect();
        assert_eq!(joined, written(&stream));
        let origins: Vec<(Option<usize>, Option<&str>)> = edited
            .iter()
            .map(|e| (e.input_index, e.source.as_deref()))
            .collect();
        assert_eq!(
            origins,
            [
                (Some(0), Some("c/templates/a.yaml")),
                (Some(2), Some("c/templates/d.yaml")),
                (None, Some("c/templates/model.yaml")),
            ]
        );
    }
}
