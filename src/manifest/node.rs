//! A YAML node tree with byte spans, built from granit-parser events, for splicing edits.
//!
//! serde-saphyr's `Spanned<T>` gives spans for scalars only; patching also needs to know where
//! a block mapping's keys sit (to insert a key at the right indentation), whether a collection
//! is flow or block, and where a block scalar's `|`/`>` header starts. The event parser that
//! serde-saphyr itself runs on reports all of that, so this module folds its events into a small
//! tree. It also knows how go-yaml v2 resolves a plain scalar, which decides whether a value is
//! a string (`yes` is not) and what string a key becomes (`on:` is the key `"true"`).

use std::collections::HashMap;

use serde_json::{Map, Value};
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};

#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Byte range in the parsed text. A scalar's range starts at its tag if it has one and, for
    /// block scalars, at the `|`/`>` header; it ends after the content, which for a block scalar
    /// includes the line break(s) that close it. An empty scalar (`key:`) has an empty range.
    pub start: usize,
    pub end: usize,
    /// The parser's id for an `&anchor` on this node, 0 when it has none.
    pub anchor: usize,
    pub kind: NodeKind,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Scalar {
        value: String,
        style: ScalarStyle,
        /// The explicit tag's suffix (`str` for `!!str`), if any.
        tag: Option<String>,
    },
    Map {
        flow: bool,
        entries: Vec<(Node, Node)>,
    },
    Seq {
        flow: bool,
        items: Vec<Node>,
    },
    /// `*name`: the id of the anchor it repeats (0 when no anchor of that name came before).
    Alias(usize),
}

/// What go-yaml v2 makes of an untagged scalar (`resolve()` in yaml.v2 resolve.go).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum GoScalar {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str,
}

impl Node {
    /// The value as go-yaml v2 turns it into a JSON object key (sigs.k8s.io/yaml stringifies
    /// non-string keys), for scalars.
    pub fn key_string(&self) -> Option<String> {
        let NodeKind::Scalar { value, style, tag } = &self.kind else {
            return None;
        };
        if *style != ScalarStyle::Plain || tag.is_some() {
            return Some(value.clone());
        }
        Some(match resolve_plain(value) {
            GoScalar::Null => "null".to_string(),
            GoScalar::Bool(b) => b.to_string(),
            GoScalar::Int(i) => i.to_string(),
            GoScalar::Float(_) | GoScalar::Str => value.clone(),
        })
    }

    /// True for a scalar go-yaml v2 reads as a string.
    pub fn is_go_string(&self) -> bool {
        match &self.kind {
            NodeKind::Scalar { value, style, tag } => match tag.as_deref() {
                None => *style != ScalarStyle::Plain || resolve_plain(value) == GoScalar::Str,
                Some("int" | "float" | "bool" | "null" | "timestamp") => {
                    resolve_plain(value) == GoScalar::Str
                }
                // The text is base64, not the value Go decodes.
                Some("binary") => false,
                // `!!str` and tags Go does not know keep their text.
                Some(_) => true,
            },
            _ => false,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { value, style: ScalarStyle::Plain, tag: None }
            if resolve_plain(value) == GoScalar::Null)
    }

    /// The last entry with this key, as go-yaml keeps the last of duplicate keys.
    pub fn get(&self, key: &str) -> Option<&(Node, Node)> {
        match &self.kind {
            NodeKind::Map { entries, .. } => entries
                .iter()
                .rev()
                .find(|(k, _)| k.key_string().as_deref() == Some(key)),
            _ => None,
        }
    }
}

/// Parses one document into its root node (`None` when it holds no node).
pub(crate) fn parse(text: &str) -> Result<Option<Node>, String> {
    enum Frame {
        Map {
            start: usize,
            anchor: usize,
            flow: bool,
            entries: Vec<(Node, Node)>,
            key: Option<Node>,
        },
        Seq {
            start: usize,
            anchor: usize,
            flow: bool,
            items: Vec<Node>,
        },
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut root = None;
    let mut documents = 0;
    let mut prev_end = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| e.to_string())?;
        let (start, end) = (offset(&span.start, text), offset(&span.end, text));
        let node = match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err("more than one YAML document between two `---` lines".into());
                }
                None
            }
            Event::Scalar(value, style, anchor, tag) => {
                let (mut node_start, mut end) = (start, end);
                if start == end && matches!(text.as_bytes().get(start), Some(b':' | b'-')) {
                    // An empty value (`key:`) is reported at the indicator before it.
                    node_start += 1;
                    end += 1;
                }
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                    node_start = block_header(text, prev_end, start);
                    // The content span runs on to the next token, over its indentation.
                    end = text[..end].trim_end_matches([' ', '\t']).len();
                }
                if let Some(tag_start) = span.tag_start {
                    node_start = node_start.min(offset(&tag_start, text));
                }
                Some(Node {
                    start: node_start,
                    end,
                    anchor,
                    kind: NodeKind::Scalar {
                        value: value.into_owned(),
                        style,
                        tag: tag.map(|t| t.suffix().to_string()),
                    },
                })
            }
            Event::Alias(id) => Some(Node {
                start,
                end,
                anchor: 0,
                kind: NodeKind::Alias(id),
            }),
            Event::UnresolvedAlias(_) => Some(Node {
                start,
                end,
                anchor: 0,
                kind: NodeKind::Alias(0),
            }),
            Event::MappingStart(style, anchor, _) => {
                stack.push(Frame::Map {
                    anchor,
                    start: span
                        .tag_start
                        .map_or(start, |t| offset(&t, text).min(start)),
                    flow: style == serde_saphyr::granit_parser::StructureStyle::Flow,
                    entries: Vec::new(),
                    key: None,
                });
                None
            }
            Event::SequenceStart(style, anchor, _) => {
                stack.push(Frame::Seq {
                    anchor,
                    start: span
                        .tag_start
                        .map_or(start, |t| offset(&t, text).min(start)),
                    flow: style == serde_saphyr::granit_parser::StructureStyle::Flow,
                    items: Vec::new(),
                });
                None
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let frame = stack.pop().ok_or("unbalanced collection events")?;
                Some(match frame {
                    Frame::Map {
                        start: s,
                        anchor,
                        flow,
                        entries,
                        ..
                    } => Node {
                        start: s,
                        anchor,
                        end: if flow {
                            end
                        } else {
                            entries.last().map_or(s, |(_, v)| v.end)
                        },
                        kind: NodeKind::Map { flow, entries },
                    },
                    Frame::Seq {
                        start: s,
                        anchor,
                        flow,
                        items,
                    } => Node {
                        start: s,
                        anchor,
                        end: if flow {
                            end
                        } else {
                            items.last().map_or(s, |item| item.end)
                        },
                        kind: NodeKind::Seq { flow, items },
                    },
                })
            }
            _ => None,
        };
        if end > prev_end {
            prev_end = end;
        }
        let Some(node) = node else { continue };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
    Ok(root)
}

/// The document as go-yaml v2 decodes it into `interface{}` and sigs.k8s.io/yaml turns it into
/// JSON: YAML 1.1 scalars, keys stringified, aliases expanded, `<<` merges that overwrite the
/// keys before them and lose to the keys after (yaml.v2 decode.go `merge`).
pub(crate) fn to_json(root: &Node) -> Result<Value, String> {
    JsonBuilder::default().build(root).map(|(value, _)| value)
}

/// Builds values bottom-up, remembering anchored ones with their size so that aliases can be
/// counted: like go-yaml's "excessive aliasing" check, a document that expands to more than
/// [`MAX_EXPANDED_NODES`] nodes (a "billion laughs") is refused instead of exhausting memory.
#[derive(Default)]
struct JsonBuilder {
    anchors: HashMap<usize, (Value, usize)>,
    expanded: usize,
}

const MAX_EXPANDED_NODES: usize = 5_000_000;

impl JsonBuilder {
    /// The value and how many nodes it holds.
    fn build(&mut self, node: &Node) -> Result<(Value, usize), String> {
        let (value, size) = match &node.kind {
            NodeKind::Scalar { value, style, tag } => {
                (scalar_json(value, *style, tag.as_deref())?, 1)
            }
            NodeKind::Seq { items, .. } => {
                let mut size = 1;
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let (value, n) = self.build(item)?;
                    out.push(value);
                    size += n;
                }
                (Value::Array(out), size)
            }
            NodeKind::Map { entries, .. } => {
                let mut size = 1;
                let mut map = Map::new();
                for (key, value) in entries {
                    let merge = matches!(&key.kind, NodeKind::Scalar { value, style: ScalarStyle::Plain, tag }
                        if value == "<<" && tag.as_deref().is_none_or(|t| t == "merge"));
                    let (key, _) = self.build(key)?;
                    let (value, n) = self.build(value)?;
                    size += n;
                    if merge {
                        merge_into(&mut map, value)?;
                        continue;
                    }
                    let key = match key {
                        Value::String(s) => s,
                        Value::Array(_) | Value::Object(_) => {
                            return Err(
                                "a mapping key is a collection, which JSON cannot hold".into()
                            )
                        }
                        other => other.to_string(),
                    };
                    map.insert(key, value);
                }
                (Value::Object(map), size)
            }
            NodeKind::Alias(id) => {
                let (value, size) = self
                    .anchors
                    .get(id)
                    .ok_or("an alias refers to no anchor before it")?;
                (value.clone(), *size)
            }
        };
        // A node counts once; an alias counts everything it repeats.
        self.expanded += if matches!(node.kind, NodeKind::Alias(_)) {
            size
        } else {
            1
        };
        if self.expanded > MAX_EXPANDED_NODES {
            return Err("the document expands to too many values through aliases".into());
        }
        if node.anchor != 0 {
            self.anchors.insert(node.anchor, (value.clone(), size));
        }
        Ok((value, size))
    }
}

fn merge_into(map: &mut Map<String, Value>, value: Value) -> Result<(), String> {
    match value {
        Value::Object(merged) => {
            map.extend(merged);
            Ok(())
        }
        // Earlier mappings of a merge list take precedence, so apply them last.
        Value::Array(items) => items
            .into_iter()
            .rev()
            .try_for_each(|item| merge_into(map, item)),
        _ => Err("a `<<` merge needs a mapping or a list of mappings".into()),
    }
}

fn scalar_json(value: &str, style: ScalarStyle, tag: Option<&str>) -> Result<Value, String> {
    let resolved = match tag {
        None if style == ScalarStyle::Plain => resolve_plain(value),
        Some("int" | "float" | "bool" | "null" | "timestamp") => resolve_plain(value),
        Some("binary") => {
            use base64::Engine as _;
            let clean: String = value.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(clean)
                .map_err(|e| format!("invalid !!binary value: {e}"))?;
            return Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        }
        // Quoted and block scalars, `!!str`, and tags Go does not know keep their text.
        _ => GoScalar::Str,
    };
    Ok(match resolved {
        GoScalar::Null => Value::Null,
        GoScalar::Bool(b) => Value::Bool(b),
        GoScalar::Int(i) => i64::try_from(i)
            .map(Value::from)
            .or_else(|_| u64::try_from(i).map(Value::from))
            .unwrap_or_else(|_| Value::from(i as f64)),
        GoScalar::Float(f) if !f.is_finite() => {
            return Err(format!(
                "`{value}` is not a finite number; Helm fails on it (JSON has no infinity or NaN)"
            ))
        }
        // Go's JSON encoder writes integral floats without a fraction (`09` → 9), and that is
        // what the cluster reads.
        GoScalar::Float(f) if f.fract() == 0.0 && f.abs() < 1e21 => {
            if f.abs() <= i64::MAX as f64 {
                Value::from(f as i64)
            } else {
                Value::from(f as u64)
            }
        }
        GoScalar::Float(f) => Value::from(f),
        GoScalar::Str => Value::String(value.to_string()),
    })
}

fn offset(marker: &serde_saphyr::granit_parser::Marker, text: &str) -> usize {
    // String input always carries byte offsets; the character index is a safe fallback for
    // ASCII text only, so clamp it to a char boundary.
    marker.byte_offset().unwrap_or_else(|| {
        let mut at = marker.index().min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    })
}

/// The `|` or `>` that opens a block scalar whose content starts at `content`: the parser's span
/// covers only the content, so walk forward from the previous token over what may separate it
/// from the header (indicators, properties, comments, whitespace).
fn block_header(text: &str, from: usize, content: usize) -> usize {
    let bytes = text.as_bytes();
    let mut at = from;
    while at < content {
        match bytes[at] {
            b'|' | b'>' => return at,
            b'#' => {
                while at < content && bytes[at] != b'\n' {
                    at += 1;
                }
            }
            b'!' | b'&' => {
                while at < content && !bytes[at].is_ascii_whitespace() {
                    at += 1;
                }
            }
            _ => at += 1,
        }
    }
    content
}

/// go-yaml v2's `resolve()` for an untagged plain scalar.
pub(crate) fn resolve_plain(s: &str) -> GoScalar {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return GoScalar::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return GoScalar::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return GoScalar::Bool(false)
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return GoScalar::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return GoScalar::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return GoScalar::Float(f64::NAN),
        _ => {}
    }
    match s.as_bytes()[0] {
        b'.' => match s.parse::<f64>() {
            Ok(f) if f.is_finite() && is_yaml_float(s) => GoScalar::Float(f),
            _ => GoScalar::Str,
        },
        b'0'..=b'9' | b'+' | b'-' => {
            // Underscores go first, then Go's ParseInt(s, 0, 64), ParseUint, then YAML floats.
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Some(i) = go_parse_int(&plain) {
                return GoScalar::Int(i);
            }
            if is_yaml_float(&plain) {
                if let Ok(f) = plain.parse::<f64>() {
                    if f.is_finite() {
                        return GoScalar::Float(f);
                    }
                }
            }
            GoScalar::Str
        }
        _ => GoScalar::Str,
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, yaml.v2's float pattern.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let from = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - from
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseInt(s, 0, 64)` falling back to `ParseUint(s, 0, 64)`: sign, `0x`, `0o`,
/// `0b` prefixes, and a leading `0` meaning octal.
fn go_parse_int(s: &str) -> Option<i128> {
    let (negative, unsigned) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = unsigned.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    let signed_ok = if negative {
        magnitude <= 1 << 63
    } else {
        magnitude <= i64::MAX as u128
    };
    // ParseUint takes no sign at all, so only unsigned spellings reach uint64.
    let unsigned_ok = s.as_bytes()[0].is_ascii_digit() && magnitude <= u64::MAX as u128;
    if !(signed_ok || unsigned_ok) {
        return None;
    }
    let value = magnitude as i128;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_resolve_like_go_yaml_v2() {
        use GoScalar::*;
        let cases: &[(&str, GoScalar)] = &[
            ("yes", Bool(true)),
            ("Off", Bool(false)),
            ("tRuE", Str),
            ("~", Null),
            ("0755", Int(493)),
            ("+0755", Int(493)),
            ("0o644", Int(420)),
            ("0x1F", Int(31)),
            ("0X1F", Int(31)),
            ("0b1010", Int(10)),
            ("1_000", Int(1000)),
            ("08", Float(8.0)),
            ("1e3", Float(1000.0)),
            ("1e400", Str),
            ("NaN", Str),
            (".5", Float(0.5)),
            ("9223372036854775808", Int(9223372036854775808)),
            ("-9223372036854775809", Float(-9223372036854775809.0)),
            ("2024-01-01", Str),
            ("12:30:00", Str),
            ("1.10", Float(1.1)),
            ("-", Str),
            ("=", Str),
        ];
        for (text, expected) in cases {
            assert_eq!(&resolve_plain(text), expected, "{text}");
        }
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        let err = to_json(&parse(&text).unwrap().unwrap()).unwrap_err();
        assert!(err.contains("too many values"), "{err}");
        let small = "a: &a {k: 1}\nb: *a\nc: {<<: *a, j: 2}\n";
        assert_eq!(
            to_json(&parse(small).unwrap().unwrap()).unwrap(),
            serde_json::json!({"a": {"k": 1}, "b": {"k": 1}, "c": {"k": 1, "j": 2}})
        );
    }

    #[test]
    fn spans_cover_tokens_headers_and_tags() {
        let text = "---\n# c\na: 1\nb: |\n  x\n\nc: !!str 12\nd:\ne: {}\nf:\n- \"q\"\n";
        let root = parse(text).unwrap().unwrap();
        let span = |key: &str| {
            let (_, v) = root.get(key).unwrap();
            &text[v.start..v.end]
        };
        assert_eq!(span("a"), "1");
        assert_eq!(span("b"), "|\n  x\n\n");
        assert_eq!(span("c"), "!!str 12");
        assert_eq!(span("d"), "");
        assert_eq!(span("e"), "{}");
        assert_eq!(span("f"), "\"q\"");
        assert!(root.get("d").unwrap().1.is_null());
        assert!(root.get("c").unwrap().1.is_go_string());
    }
}
