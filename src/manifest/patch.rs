//! Editing a document by splicing bytes, so everything we do not mean to change stays as it was.
//!
//! A [`Patch`] is a list of `set`/`remove` operations at paths. [`apply`] finds each target in a
//! span tree of the document ([`super::node`]) and turns it into one text edit: a scalar is
//! replaced where it stands (tag, quotes or block header included); a missing key is inserted
//! before the first key of its block mapping, at that key's column; a missing parent that is
//! `null` or `{}` is rewritten as a small block mapping; a key is removed with its value. Only
//! the new text comes from serde-saphyr's writer, whose quoting keeps YAML 1.1 look-alikes
//! (`"yes"`, `"0755"`, `"1e3"`) strings for go-yaml v2. Inside flow collections new values are
//! written as double-quoted or JSON scalars, which are valid there whatever their content.
//!
//! Operations apply in order. When an edit would touch bytes an earlier edit of the same round
//! touches (two keys inserted into the same mapping, a parent created twice), or cannot be planned
//! until an earlier one is made (a collection removed, then set anew), it and every later
//! operation wait for the next round, planned on a fresh parse: so `a.b.x` and `a.b.y` on a
//! document without `a` create `a.b` once, and the last `set` of a path wins.

use std::fmt;
use std::ops::Range;

use serde_json::{Map, Value};

use super::node::{self, Node, NodeKind};
use super::{Document, ManifestError};

/// One step of a path: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl From<&str> for Seg {
    fn from(key: &str) -> Self {
        Seg::Key(key.to_string())
    }
}

impl From<String> for Seg {
    fn from(key: String) -> Self {
        Seg::Key(key)
    }
}

impl From<usize> for Seg {
    fn from(index: usize) -> Self {
        Seg::Index(index)
    }
}

/// A path written for people: `spec.template.metadata.annotations["samza.apache.org/x"]`.
pub fn display_path(path: &[Seg]) -> String {
    PathDisplay(path).to_string()
}

/// A path written for people: `spec.template.metadata.annotations["samza.apache.org/x"]`.
struct PathDisplay<'p>(&'p [Seg]);

impl fmt::Display for PathDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k)
                    if k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
                {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Seg::Key(k) => write!(f, "[{k:?}]")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Op {
    Set(Vec<Seg>, Value),
    Remove(Vec<Seg>),
}

/// Edits to make to one document, applied in order by [`apply`].
#[derive(Debug, Clone, Default)]
pub struct Patch {
    ops: Vec<Op>,
}

impl Patch {
    pub fn new() -> Self {
        Patch::default()
    }

    /// Sets the value at `path`: replaces an existing scalar, or inserts the key (and any
    /// missing parent mappings) when it is absent. Replacing needs a scalar `value`; inserting
    /// takes any value. A string that Go would read as another type is quoted.
    pub fn set<S: Into<Seg>>(
        &mut self,
        path: impl IntoIterator<Item = S>,
        value: Value,
    ) -> &mut Self {
        self.ops
            .push(Op::Set(path.into_iter().map(Into::into).collect(), value));
        self
    }

    /// Removes a mapping key and its value; nothing happens when it is absent.
    pub fn remove<S: Into<Seg>>(&mut self, path: impl IntoIterator<Item = S>) -> &mut Self {
        self.ops
            .push(Op::Remove(path.into_iter().map(Into::into).collect()));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Appends `other`'s edits after this patch's own.
    pub fn extend(&mut self, other: Patch) {
        self.ops.extend(other.ops);
    }
}

/// A string value of a document, where it is and how to address it with [`Patch::set`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringScalar {
    pub path: Vec<Seg>,
    /// Byte range in [`Document::yaml`], covering quotes, tag and block header.
    pub span: Range<usize>,
    pub value: String,
}

/// The document's text with `patch` applied, keeping its separator line, comments and every
/// byte that no operation touches.
pub fn apply(doc: &Document<'_>, patch: &Patch) -> Result<String, ManifestError> {
    let bom = if doc.raw().len() > doc.yaml().len() {
        "\u{feff}"
    } else {
        ""
    };
    let mut text = doc.yaml().to_string();
    let mut pending: &[Op] = &patch.ops;
    while !pending.is_empty() {
        let root = parse_root(doc, &text)?;
        let mut edits: Vec<Edit> = Vec::new();
        let mut done = 0;
        for op in pending {
            let planned = match op {
                Op::Set(path, value) => plan_set(&text, &root, path, value),
                Op::Remove(path) => plan_remove(&text, &root, path),
            };
            let edit = match planned {
                Ok(edit) => edit,
                // An earlier edit of this round may be what makes this op possible (a collection removed, then
                // written anew): it is planned again on the next round's parse, and fails there if it still does.
                Err(_) if !edits.is_empty() => break,
                Err(reason) => {
                    return Err(ManifestError::Patch {
                        doc: doc.describe().into(),
                        path: PathDisplay(op_path(op)).to_string(),
                        reason,
                    })
                }
            };
            if let Some(edit) = edit {
                let overlaps =
                    |e: &Edit| e.range.start <= edit.range.end && edit.range.start <= e.range.end;
                if edits.iter().any(overlaps) {
                    // This op and all after it see the result of the edits so far.
                    break;
                }
                edits.push(edit);
            }
            done += 1;
        }
        pending = &pending[done..];
        edits.sort_by_key(|e| std::cmp::Reverse(e.range.start));
        let crlf = text.contains("\r\n");
        for edit in edits {
            let new = if crlf {
                edit.text.replace('\n', "\r\n")
            } else {
                edit.text
            };
            text.replace_range(edit.range, &new);
        }
    }
    Ok(format!("{bom}{text}"))
}

/// Every scalar go-yaml reads as a string, with its path, in document order. Values behind
/// aliases are not listed: they are written at their anchor.
pub(crate) fn string_scalars(doc: &Document<'_>) -> Result<Vec<StringScalar>, ManifestError> {
    fn walk(node: &Node, path: &mut Vec<Seg>, out: &mut Vec<StringScalar>) {
        match &node.kind {
            NodeKind::Scalar { value, .. } if node.is_go_string() => out.push(StringScalar {
                path: path.clone(),
                span: node.start..node.end,
                value: value.clone(),
            }),
            NodeKind::Map { entries, .. } => {
                for (key, value) in entries {
                    let Some(key) = key.key_string() else {
                        continue;
                    };
                    path.push(Seg::Key(key));
                    walk(value, path, out);
                    path.pop();
                }
            }
            NodeKind::Seq { items, .. } => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    walk(item, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if !doc.is_blank() {
        walk(&parse_root(doc, doc.yaml())?, &mut Vec::new(), &mut out);
    }
    Ok(out)
}

fn parse_root(doc: &Document<'_>, text: &str) -> Result<Node, ManifestError> {
    match node::parse(text) {
        Ok(Some(root)) if matches!(root.kind, NodeKind::Map { .. }) => Ok(root),
        Ok(_) => Err(ManifestError::NotAMapping {
            doc: doc.describe().into(),
        }),
        Err(message) => Err(ManifestError::Parse {
            doc: doc.describe().into(),
            message,
        }),
    }
}

fn op_path(op: &Op) -> &[Seg] {
    match op {
        Op::Set(path, _) | Op::Remove(path) => path,
    }
}

struct Edit {
    range: Range<usize>,
    text: String,
}

/// Where a node sits: the indentation its continuation lines must exceed, and whether it is
/// inside a flow collection (where block syntax is not allowed).
#[derive(Clone, Copy)]
struct Place {
    indent: usize,
    flow: bool,
}

/// Walks `path` from the root; returns the deepest node reached, its place, and how many
/// segments were consumed (less than `path.len()` when a mapping lacks the next key).
fn walk<'n>(text: &str, root: &'n Node, path: &[Seg]) -> Result<(&'n Node, Place, usize), String> {
    let mut node = root;
    let mut place = Place {
        indent: 0,
        flow: false,
    };
    for (depth, seg) in path.iter().enumerate() {
        let here = || PathDisplay(&path[..depth]).to_string();
        match (&node.kind, seg) {
            (NodeKind::Map { flow, .. }, Seg::Key(key)) => {
                let Some((k, v)) = node.get(key) else {
                    return Ok((node, place, depth));
                };
                place = Place {
                    indent: column(text, k.start),
                    flow: place.flow || *flow,
                };
                node = v;
            }
            (NodeKind::Seq { flow, items }, Seg::Index(i)) => {
                let item = items
                    .get(*i)
                    .ok_or_else(|| format!("`{}` has only {} items", here(), items.len()))?;
                place = Place {
                    indent: dash_column(text, item.start),
                    flow: place.flow || *flow,
                };
                node = item;
            }
            (NodeKind::Alias(_), _) => {
                return Err(format!("`{}` is an alias; edit its anchor instead", here()))
            }
            (NodeKind::Scalar { .. }, Seg::Key(_)) if node.is_null() => {
                return Ok((node, place, depth))
            }
            (_, Seg::Key(_)) => return Err(format!("`{}` is not a mapping", here())),
            (_, Seg::Index(_)) => return Err(format!("`{}` is not a sequence", here())),
        }
    }
    Ok((node, place, path.len()))
}

fn plan_set(text: &str, root: &Node, path: &[Seg], value: &Value) -> Result<Option<Edit>, String> {
    let (node, place, depth) = walk(text, root, path)?;
    if depth == path.len() {
        return replace_scalar(text, node, place, value).map(Some);
    }
    let missing = nest(&path[depth..], value)?;
    match &node.kind {
        NodeKind::Map {
            flow: false,
            entries,
        } => match entries.first() {
            Some((first_key, _)) => insert_before_first_key(text, first_key, &missing),
            None => block_in_place(text, node, place, &missing),
        },
        NodeKind::Map {
            flow: true,
            entries,
        } if place.flow || !entries.is_empty() || depth == 0 => {
            Ok(insert_into_flow_map(node, &missing))
        }
        // `key:` or `key: ~` inside a flow collection: a flow mapping takes its place.
        _ if place.flow => {
            let mut new = flow_value(&Value::Object(missing));
            if text[..node.start].ends_with(':') {
                new.insert(0, ' ');
            }
            Ok(Edit {
                range: node.start..node.end,
                text: new,
            })
        }
        // `key:`, `key: ~` or `key: {}` in block context becomes a block mapping.
        _ => block_in_place(text, node, place, &missing),
    }
    .map(Some)
}

/// `{k1: {k2: ... value}}` for the part of the path that does not exist yet.
fn nest(missing: &[Seg], value: &Value) -> Result<Map<String, Value>, String> {
    let mut value = value.clone();
    for seg in missing.iter().rev() {
        match seg {
            Seg::Key(key) => value = Value::Object(Map::from_iter([(key.clone(), value)])),
            Seg::Index(i) => return Err(format!("there is no sequence to hold item [{i}]")),
        }
    }
    match value {
        Value::Object(map) => Ok(map),
        _ => unreachable!("a non-empty run of keys nests into an object"),
    }
}

fn replace_scalar(text: &str, node: &Node, place: Place, value: &Value) -> Result<Edit, String> {
    if !matches!(node.kind, NodeKind::Scalar { .. }) {
        return Err("is a collection; only scalars can be replaced".to_string());
    }
    if value.is_object() || value.is_array() {
        return Err("an existing scalar can only be replaced by a scalar".to_string());
    }
    let ends_line = text[node.start..node.end].ends_with('\n');
    let line_rest = if ends_line {
        ""
    } else {
        text[node.end..].split('\n').next().unwrap_or("")
    };
    let mut new = if place.flow {
        flow_scalar(value)
    } else {
        let block = inline_block_value(value, place.indent)?;
        if block.contains('\n') && !line_rest.trim().is_empty() {
            // A comment after the old value would end up inside a new block scalar.
            flow_scalar(value)
        } else {
            block
        }
    };
    if node.start == node.end && text[..node.start].ends_with([':', '-']) {
        new.insert(0, ' ');
    }
    if ends_line {
        new.push('\n');
    }
    Ok(Edit {
        range: node.start..node.end,
        text: new,
    })
}

/// The text that follows `key: ` for `value`, as serde-saphyr writes it, with continuation
/// lines (block scalars) indented past the owner's column.
fn inline_block_value(value: &Value, indent: usize) -> Result<String, String> {
    let written = write(&Value::Object(Map::from_iter([(
        "k".to_string(),
        value.clone(),
    )])))?;
    let rest = written
        .strip_prefix("k:")
        .ok_or_else(|| format!("unexpected writer output {written:?}"))?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    Ok(indent_lines(
        rest.strip_suffix('\n').unwrap_or(rest),
        indent,
        false,
    ))
}

fn insert_before_first_key(
    text: &str,
    first_key: &Node,
    missing: &Map<String, Value>,
) -> Result<Edit, String> {
    let line_start = text[..first_key.start].rfind('\n').map_or(0, |i| i + 1);
    if !text[line_start..first_key.start]
        .bytes()
        .all(|b| b == b' ' || b == b'-')
    {
        return Err(
            "the mapping's first key has an anchor, tag or `?`; cannot insert before it"
                .to_string(),
        );
    }
    let indent = first_key.start - line_start;
    let mut new = indent_lines(&write(&Value::Object(missing.clone()))?, indent, false);
    new.push_str(&" ".repeat(indent));
    Ok(Edit {
        range: first_key.start..first_key.start,
        text: new,
    })
}

fn insert_into_flow_map(node: &Node, missing: &Map<String, Value>) -> Edit {
    let NodeKind::Map { entries, .. } = &node.kind else {
        unreachable!("called for flow mappings")
    };
    let mut new = flow_entries(missing);
    if !entries.is_empty() {
        new.push_str(", ");
    }
    Edit {
        range: node.start + 1..node.start + 1,
        text: new,
    }
}

/// Replaces a `null` or `{}` value by a block mapping indented under its owner.
fn block_in_place(
    text: &str,
    node: &Node,
    place: Place,
    missing: &Map<String, Value>,
) -> Result<Edit, String> {
    let written = write(&Value::Object(missing.clone()))?;
    let body = indent_lines(written.trim_end_matches('\n'), place.indent + 2, true);
    let start = text[..node.start].trim_end_matches([' ', '\t']).len();
    Ok(Edit {
        range: start..node.end,
        text: format!("\n{body}"),
    })
}

fn plan_remove(text: &str, root: &Node, path: &[Seg]) -> Result<Option<Edit>, String> {
    let Some((Seg::Key(key), parent_path)) = path.split_last() else {
        return Err("only mapping keys can be removed".to_string());
    };
    let (parent, _, depth) = walk(text, root, parent_path)?;
    if depth < parent_path.len() {
        return Ok(None);
    }
    let NodeKind::Map { flow, entries } = &parent.kind else {
        return if parent.is_null() {
            Ok(None)
        } else {
            Err(format!("`{}` is not a mapping", PathDisplay(parent_path)))
        };
    };
    if *flow {
        return Err("removing from a flow mapping is not supported".to_string());
    }
    let Some(i) = entries
        .iter()
        .rposition(|(k, _)| k.key_string().as_deref() == Some(key.as_str()))
    else {
        return Ok(None);
    };
    // Duplicates of the key would otherwise surface once the last one is gone.
    if entries[..i]
        .iter()
        .any(|(k, _)| k.key_string().as_deref() == Some(key.as_str()))
    {
        return Err("the key appears more than once in its mapping".to_string());
    }
    let (k, v) = &entries[i];
    let ends_line = text[..v.end].ends_with('\n');
    let edit = if entries.len() == 1 {
        Edit {
            range: k.start..v.end,
            text: if ends_line { "{}\n" } else { "{}" }.to_string(),
        }
    } else if let Some((next, _)) = entries.get(i + 1) {
        Edit {
            range: k.start..next.start,
            text: String::new(),
        }
    } else {
        let prev_end = entries[i - 1].1.end;
        let end = if ends_line && !text[..prev_end].ends_with('\n') {
            v.end - 1
        } else {
            v.end
        };
        Edit {
            range: prev_end..end,
            text: String::new(),
        }
    };
    Ok(Some(edit))
}

fn write(value: &Value) -> Result<String, String> {
    serde_saphyr::to_string(value).map_err(|e| e.to_string())
}

/// Prefixes lines with `indent` spaces: all of them, or all but the first (which continues a
/// line already written). Empty lines stay empty, which block scalars read the same.
fn indent_lines(text: &str, indent: usize, first: bool) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::with_capacity(text.len() + pad.len() * 4);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if (i > 0 || first) && !line.is_empty() {
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    out
}

fn column(text: &str, at: usize) -> usize {
    at - text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// The column of the `-` that introduces a block sequence item starting at `item`.
fn dash_column(text: &str, item: usize) -> usize {
    let before = text[..item].trim_end_matches([' ', '\t']);
    if before.ends_with('-') {
        column(text, before.len() - 1)
    } else {
        column(text, item)
    }
}

/// `key: value` pairs in flow style, keys and strings double-quoted.
fn flow_entries(map: &Map<String, Value>) -> String {
    map.iter()
        .map(|(k, v)| format!("{}: {}", double_quoted(k), flow_value(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn flow_value(value: &Value) -> String {
    match value {
        Value::Object(map) => format!("{{{}}}", flow_entries(map)),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(flow_value).collect::<Vec<_>>().join(", ")
        ),
        scalar => flow_scalar(scalar),
    }
}

/// A scalar valid anywhere, flow context included: JSON spelling for null, booleans and numbers
/// (go-yaml reads them the same), a double-quoted string otherwise.
fn flow_scalar(value: &Value) -> String {
    match value {
        Value::String(s) => double_quoted(s),
        other => other.to_string(),
    }
}

/// A YAML double-quoted scalar that escapes every character YAML would treat as a line break
/// (NEL, LS, PS fold like newlines in go-yaml) or refuse as non-printable.
fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            '\u{20}'..='\u{7e}'
            | '\u{a0}'..='\u{d7ff}'
            | '\u{e000}'..='\u{fefe}'
            | '\u{ff00}'..='\u{fffd}' => out.push(c),
            c if c > '\u{ffff}' => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Stream;
    use serde_json::json;

    fn patched(input: &str, patch: &Patch) -> String {
        let stream = Stream::split(input);
        apply(&stream.documents()[0], patch).unwrap()
    }

    fn set(path: &[&str], value: Value) -> Patch {
        let mut patch = Patch::new();
        patch.set(path.iter().copied(), value);
        patch
    }

    /// A collection is replaced by removing it and setting it anew: the set waits for the round after the
    /// removal. A set that cannot be planned on its own is still an error naming the path.
    #[test]
    fn a_collection_removed_then_set_is_replaced() {
        let input = "spec:\n  volumes:\n    - name: model\n      projected:\n        sources:\n          - configMap: {name: a}\n    - name: other\n";
        let mut patch = Patch::new();
        patch.remove(
            ["spec", "volumes"]
                .map(Seg::from)
                .into_iter()
                .chain([Seg::Index(0), "projected".into()]),
        );
        patch.set(
            ["spec", "volumes"]
                .map(Seg::from)
                .into_iter()
                .chain([Seg::Index(0), "projected".into()]),
            json!({"sources": [{"configMap": {"name": "a"}}, {"configMap": {"name": "a-part-1"}}]}),
        );
        let out = patched(input, &patch);
        let value: Value = serde_saphyr::from_str(&out).unwrap();
        assert_eq!(
            value["spec"]["volumes"][0]["projected"]["sources"][1]["configMap"]["name"], "a-part-1",
            "{out}"
        );
        assert_eq!(value["spec"]["volumes"][1]["name"], "other", "{out}");

        let stream = Stream::split(input);
        let error = apply(
            &stream.documents()[0],
            &set(&["spec", "volumes"], json!([])),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("only scalars can be replaced"), "{error}");
    }

    #[test]
    fn replaces_scalars_in_place() {
        // (input, path, value, expected output)
        let cases: &[(&str, &[&str], Value, &str)] = &[
            (
                "---\n# Source: a.yaml\nspec:\n  replicas: 1 # keep\n",
                &["spec", "replicas"],
                json!(3),
                "---\n# Source: a.yaml\nspec:\n  replicas: 3 # keep\n",
            ),
            (
                "a: \"old\"\nb: 1\n",
                &["a"],
                json!("yes"),
                "a: \"yes\"\nb: 1\n",
            ),
            ("a: 'x'\n", &["a"], json!("0755"), "a: \"0755\"\n"),
            ("a: x\n", &["a"], json!("1e3"), "a: \"1e3\"\n"),
            ("a: x\n", &["a"], json!(true), "a: true\n"),
            ("a: !!str 12\n", &["a"], json!(12), "a: 12\n"),
            ("a:\nb: 1\n", &["a"], json!("v"), "a: v\nb: 1\n"),
            (
                "data:\n  x: |\n    a\n    b\n  y: z\n",
                &["data", "x"],
                json!("c\nd\n"),
                "data:\n  x: |\n    c\n    d\n  y: z\n",
            ),
            (
                "data:\n  x: old\n  y: z\n",
                &["data", "x"],
                json!("c\nd"),
                "data:\n  x: |-\n    c\n    d\n  y: z\n",
            ),
            (
                "data:\n  x: old # comment\n",
                &["data", "x"],
                json!("c\nd"),
                "data:\n  x: \"c\\nd\" # comment\n",
            ),
            (
                "a: {b: 1, c: x}\n",
                &["a", "c"],
                json!("y: z"),
                "a: {b: 1, c: \"y: z\"}\n",
            ),
            (
                "metadata:\n  annotations:\n    samza.apache.org/model-checksum: abc\n",
                &["metadata", "annotations", "samza.apache.org/model-checksum"],
                json!("def"),
                "metadata:\n  annotations:\n    samza.apache.org/model-checksum: def\n",
            ),
        ];
        for (input, path, value, expected) in cases {
            assert_eq!(
                &patched(input, &set(path, value.clone())),
                expected,
                "{input:?} {path:?}"
            );
        }
    }

    #[test]
    fn inserts_missing_keys_and_parents() {
        let key = "samza.apache.org/model-checksum";
        let cases: &[(&str, &[&str], &str)] = &[
            (
                "metadata:\n  name: x\n  annotations:\n    a: b\n",
                &["metadata", "annotations", key],
                "metadata:\n  name: x\n  annotations:\n    samza.apache.org/model-checksum: \"0755\"\n    a: b\n",
            ),
            (
                "spec:\n  template:\n    metadata:\n      labels:\n        app: x\n    spec: {}\n",
                &["spec", "template", "metadata", "annotations", key],
                "spec:\n  template:\n    metadata:\n      annotations:\n        samza.apache.org/model-checksum: \"0755\"\n      labels:\n        app: x\n    spec: {}\n",
            ),
            (
                "spec:\n  template:\n    spec: {}\n",
                &["spec", "template", "metadata", "annotations", key],
                "spec:\n  template:\n    metadata:\n      annotations:\n        samza.apache.org/model-checksum: \"0755\"\n    spec: {}\n",
            ),
            (
                "metadata:\n  annotations: {}\n  name: x\n",
                &["metadata", "annotations", key],
                "metadata:\n  annotations:\n    samza.apache.org/model-checksum: \"0755\"\n  name: x\n",
            ),
            (
                "metadata:\n  annotations:\n  name: x\n",
                &["metadata", "annotations", key],
                "metadata:\n  annotations:\n    samza.apache.org/model-checksum: \"0755\"\n  name: x\n",
            ),
            (
                "metadata:\n  annotations: ~\n",
                &["metadata", "annotations", key],
                "metadata:\n  annotations:\n    samza.apache.org/model-checksum: \"0755\"\n",
            ),
            (
                "metadata: {annotations: {a: b}}\n",
                &["metadata", "annotations", key],
                "metadata: {annotations: {\"samza.apache.org/model-checksum\": \"0755\", a: b}}\n",
            ),
        ];
        for (input, path, expected) in cases {
            assert_eq!(
                &patched(input, &set(path, json!("0755"))),
                expected,
                "{input:?}"
            );
        }
        let mut patch = Patch::new();
        patch.set(
            [Seg::from("containers"), Seg::from(0), Seg::from("env")],
            json!([{"name": "A", "value": "on"}]),
        );
        assert_eq!(
            patched("containers:\n- name: c\n  image: i\n", &patch),
            "containers:\n- env:\n  - name: A\n    value: \"on\"\n  name: c\n  image: i\n"
        );
    }

    #[test]
    fn several_operations_share_created_parents() {
        let mut patch = Patch::new();
        patch
            .set(["metadata", "annotations", "a/x"], json!("1"))
            .set(["metadata", "annotations", "a/y"], json!(2))
            .set(["metadata", "name"], json!("n1"))
            .set(["metadata", "name"], json!("n2"));
        assert_eq!(
            patched("---\r\nmetadata:\r\n  name: n\r\n", &patch),
            "---\r\nmetadata:\r\n  annotations:\r\n    a/y: 2\r\n    a/x: \"1\"\r\n  name: n2\r\n"
        );
    }

    #[test]
    fn removes_keys() {
        let cases: &[(&str, &str)] = &[
            ("m:\n  a: 1\n  b: 2\n  c: 3\n", "m:\n  a: 1\n  c: 3\n"),
            (
                "m:\n  a: 1\n  c: 3\n  b: |\n    x\n",
                "m:\n  a: 1\n  c: 3\n",
            ),
            ("m:\n  a: 1\n  b: 2\nz: 1\n", "m:\n  a: 1\nz: 1\n"),
            ("m:\n  b: 2\nz: 1\n", "m:\n  {}\nz: 1\n"),
            ("m:\n  a: 1\n", "m:\n  a: 1\n"),
        ];
        for (input, expected) in cases {
            let mut patch = Patch::new();
            patch.remove(["m", "b"]);
            assert_eq!(&patched(input, &patch), expected, "{input:?}");
        }
        let mut patch = Patch::new();
        patch.remove(["m", "b"]);
        let doc = Stream::split("m:\n- b: 2\n").documents()[0];
        assert!(apply(&doc, &patch)
            .unwrap_err()
            .to_string()
            .contains("`m` is not a mapping"));
    }

    #[test]
    fn errors_name_document_and_path() {
        let input = "---\n# Source: c/templates/ss.yaml\nkind: StatefulSet\nmetadata:\n  name: w\nbase: &b {x: 1}\nspec:\n  replicas: [1]\n  other: *b\n";
        let doc = Stream::split(input).documents()[0];
        for (path, reason) in [
            (&["spec", "replicas"][..], "only scalars"),
            (&["spec", "other", "x"][..], "alias"),
            (&["metadata", "name", "x"][..], "not a mapping"),
        ] {
            let err = apply(&doc, &set(path, json!(1))).unwrap_err().to_string();
            assert!(
                err.starts_with(
                    "document 0 (StatefulSet w) from c/templates/ss.yaml: cannot patch `"
                ),
                "{err}"
            );
            assert!(err.contains(reason), "{err}");
        }
        let mut patch = Patch::new();
        patch.set(
            [Seg::from("spec"), Seg::from("replicas"), Seg::from(3)],
            json!(1),
        );
        let err = apply(&doc, &patch).unwrap_err().to_string();
        assert!(
            err.contains("`spec.replicas[3]`") && err.contains("only 1 items"),
            "{err}"
        );
    }

    #[test]
    fn string_scalars_have_go_paths() {
        let input = "a: yes\nb: \"yes\"\nc:\n- x\n- 1\n- !!str 2\non: k\nd: |\n  t\n";
        let doc = Stream::split(input).documents()[0];
        let found: Vec<(String, &str, String)> = doc
            .string_scalars()
            .unwrap()
            .into_iter()
            .map(|s| (PathDisplay(&s.path).to_string(), &input[s.span], s.value))
            .collect();
        assert_eq!(
            found,
            vec![
                ("b".to_string(), "\"yes\"", "yes".to_string()),
                ("c[0]".to_string(), "x", "x".to_string()),
                ("c[2]".to_string(), "!!str 2", "2".to_string()),
                ("true".to_string(), "k", "k".to_string()),
                ("d".to_string(), "|\n  t\n", "t\n".to_string()),
            ]
        );
    }
}
