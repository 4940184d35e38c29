//! Java `.properties` text → ordered key/value pairs, exactly as `java.util.Properties#load` reads it.
//!
//! Samza loads job configs with `Properties.load`, so a config that works for Samza must mean the same here:
//! `=`, `:` or whitespace separators, `\` line continuations (leading whitespace of the continued line
//! dropped), `\uXXXX`, `\t \n \r \f` escapes (a backslash before any other character yields that character),
//! `#`/`!` comment lines. The text is taken as already-decoded characters (like `load(Reader)`): a ConfigMap
//! value is characters already, and a file is decoded ISO-8859-1 first, as `load(InputStream)` does
//! (`job_config::read_config_file`).

use indexmap::IndexMap;

use super::SamzaError;

/// Parses properties text. Later duplicates override earlier ones but keep the first key's position, as
/// `Properties` (a hash table) keeps one entry per key.
pub fn parse(text: &str) -> Result<IndexMap<String, String>, SamzaError> {
    Ok(entries(text)?
        .into_iter()
        .map(|entry| (entry.key, entry.value))
        .collect())
}

/// One key/value line of properties text, as `Properties#load` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based number of the line the entry starts on.
    pub line: usize,
    pub key: String,
    pub value: String,
    /// A `=`/`:` separator or a value followed the key; Java reads a bare `key` line as `key=""`, which a
    /// stricter reader (the Kafka client properties) may refuse as a likely mistake.
    pub has_value: bool,
}

/// Every entry in file order, duplicates included: the one reader of properties syntax, for Samza configs and
/// for Kafka client property files alike.
pub fn entries(text: &str) -> Result<Vec<Entry>, SamzaError> {
    let mut out = Vec::new();
    for (line_no, logical) in logical_lines(text) {
        let (key, value, has_sep) = split_key_value(&logical);
        out.push(Entry {
            line: line_no,
            key: unescape(key, line_no)?,
            value: unescape(value, line_no)?,
            has_value: has_sep || !value.is_empty(),
        });
    }
    Ok(out)
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

/// Java's `LineReader`: joins continued natural lines into logical lines, dropping comment and blank lines.
/// Returns the 1-based number of the logical line's first natural line, for error messages.
/// The continuation backslash is removed but every other escape is kept for `unescape`.
fn logical_lines(text: &str) -> Vec<(usize, Vec<char>)> {
    let mut lines = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut natural_line = 1;
    while i < chars.len() {
        // Start of a logical line: skip leading whitespace; blank lines and comment lines are skipped.
        let start_line = natural_line;
        while i < chars.len() && is_blank(chars[i]) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        if chars[i] == '\n' || chars[i] == '\r' {
            i += line_break_len(&chars, i);
            natural_line += 1;
            continue;
        }
        if chars[i] == '#' || chars[i] == '!' {
            // Comment lines never continue, even when they end with a backslash.
            while i < chars.len() && chars[i] != '\n' && chars[i] != '\r' {
                i += 1;
            }
            continue;
        }
        let mut buf = Vec::new();
        loop {
            // Read one natural line into buf.
            let mut backslashes = 0usize;
            while i < chars.len() && chars[i] != '\n' && chars[i] != '\r' {
                if chars[i] == '\\' {
                    backslashes += 1;
                } else {
                    backslashes = 0;
                }
                buf.push(chars[i]);
                i += 1;
            }
            let continued = backslashes % 2 == 1;
            if !continued {
                break;
            }
            // An odd number of trailing backslashes continues the line; the last one is dropped.
            buf.pop();
            if i >= chars.len() {
                break;
            }
            i += line_break_len(&chars, i);
            natural_line += 1;
            while i < chars.len() && is_blank(chars[i]) {
                i += 1;
            }
        }
        lines.push((start_line, buf));
        if i < chars.len() {
            i += line_break_len(&chars, i);
            natural_line += 1;
        }
    }
    lines
}

fn line_break_len(chars: &[char], i: usize) -> usize {
    if chars[i] == '\r' && chars.get(i + 1) == Some(&'\n') {
        2
    } else {
        1
    }
}

/// `Properties#load0`: the key ends at the first unescaped `=`, `:` or whitespace; then whitespace and at
/// most one `=`/`:` are skipped (only one separator char when the key ended at whitespace).
fn split_key_value(line: &[char]) -> (&[char], &[char], bool) {
    let mut key_len = 0;
    let mut value_start = line.len();
    let mut has_sep = false;
    let mut preceding_backslash = false;
    while key_len < line.len() {
        let c = line[key_len];
        if (c == '=' || c == ':') && !preceding_backslash {
            value_start = key_len + 1;
            has_sep = true;
            break;
        } else if is_blank(c) && !preceding_backslash {
            value_start = key_len + 1;
            break;
        }
        preceding_backslash = c == '\\' && !preceding_backslash;
        key_len += 1;
    }
    while value_start < line.len() {
        let c = line[value_start];
        if !is_blank(c) {
            if !has_sep && (c == '=' || c == ':') {
                has_sep = true;
            } else {
                break;
            }
        }
        value_start += 1;
    }
    (
        &line[..key_len],
        &line[value_start.min(line.len())..],
        has_sep,
    )
}

/// `Properties#loadConvert`.
fn unescape(chars: &[char], line_no: usize) -> Result<String, SamzaError> {
    let mut out = String::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = chars.get(i) else {
            // A lone trailing backslash (only possible at end of input) is dropped, as Java's reader does.
            break;
        };
        i += 1;
        match e {
            'u' => {
                let digits: String = chars.iter().skip(i).take(4).collect();
                let unit = (digits.len() == 4)
                    .then(|| u16::from_str_radix(&digits, 16).ok())
                    .flatten()
                    .filter(|_| digits.chars().all(|d| d.is_ascii_hexdigit()))
                    .ok_or_else(|| SamzaError::Properties {
                        line: line_no,
                        message: format!(
                            "Malformed \\uxxxx encoding ('\\u{digits}'). Write exactly four hex digits after \\u, or \\\\u for a literal backslash-u."
                        ),
                    })?;
                i += 4;
                push_utf16_unit(&mut out, unit, chars, &mut i);
            }
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'n' => out.push('\n'),
            'f' => out.push('\u{c}'),
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Java strings are UTF-16: a `\uD83D\uDE00` pair is one character. A lone surrogate cannot exist in a
/// Rust string and becomes U+FFFD.
fn push_utf16_unit(out: &mut String, unit: u16, chars: &[char], i: &mut usize) {
    if (0xD800..0xDC00).contains(&unit) {
        // Look for an escaped low surrogate right after.
        if chars.get(*i) == Some(&'\\') && chars.get(*i + 1) == Some(&'u') {
            let digits: String = chars.iter().skip(*i + 2).take(4).collect();
            if let Ok(low) = u16::from_str_radix(&digits, 16) {
                if digits.len() == 4 && (0xDC00..0xE000).contains(&low) {
                    let c = 0x10000 + (((unit as u32) - 0xD800) << 10) + ((low as u32) - 0xDC00);
                    out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                    *i += 6;
                    return;
                }
            }
        }
        out.push('\u{FFFD}');
    } else {
        out.push(char::from_u32(unit as u32).unwrap_or('\u{FFFD}'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap().into_iter().collect()
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn separators_and_whitespace() {
        let cases: &[(&str, Vec<(String, String)>)] = &[
            ("a=b", vec![p("a", "b")]),
            ("a:b", vec![p("a", "b")]),
            ("a b", vec![p("a", "b")]),
            ("a\tb", vec![p("a", "b")]),
            ("  a = b  ", vec![p("a", "b  ")]),
            ("a = = b", vec![p("a", "= b")]),
            ("a  :b", vec![p("a", "b")]),
            ("a := b", vec![p("a", "= b")]),
            ("a", vec![p("a", "")]),
            ("a=", vec![p("a", "")]),
            ("=b", vec![p("", "b")]),
            ("a=b=c", vec![p("a", "b=c")]),
            ("a\\=x=y", vec![p("a=x", "y")]),
            ("a\\ b=c", vec![p("a b", "c")]),
            ("a\\:b:c", vec![p("a:b", "c")]),
        ];
        for (text, want) in cases {
            assert_eq!(&pairs(text), want, "input {text:?}");
        }
    }

    #[test]
    fn comments_blank_lines_and_line_endings() {
        let text = "# comment\n! other\n\n   \n  #indented comment\na=1\r\nb=2\rc=3\n#x=\\\nd=4";
        assert_eq!(
            pairs(text),
            vec![p("a", "1"), p("b", "2"), p("c", "3"), p("d", "4")]
        );
        // A '#' after a key is part of the value.
        assert_eq!(
            pairs("a=b # not a comment"),
            vec![p("a", "b # not a comment")]
        );
    }

    #[test]
    fn continuations() {
        assert_eq!(
            pairs("a=one,\\\n    two,\\\n\tthree"),
            vec![p("a", "one,two,three")]
        );
        // Two backslashes are an escaped backslash, not a continuation.
        assert_eq!(pairs("a=x\\\\\nb=y"), vec![p("a", "x\\"), p("b", "y")]);
        // Three: escaped backslash plus continuation.
        assert_eq!(pairs("a=x\\\\\\\n  y"), vec![p("a", "x\\y")]);
        // The continued line may look like a comment; it is still value text.
        assert_eq!(pairs("a=x\\\n  #y"), vec![p("a", "x#y")]);
        // Continuation inside the key.
        assert_eq!(pairs("ke\\\n  y=v"), vec![p("key", "v")]);
        // Trailing backslash at end of input is dropped.
        assert_eq!(pairs("a=x\\"), vec![p("a", "x")]);
        // CRLF continuation.
        assert_eq!(pairs("a=x\\\r\n  y"), vec![p("a", "xy")]);
    }

    #[test]
    fn escapes() {
        assert_eq!(pairs(r"a=\t\n\r\f"), vec![p("a", "\t\n\r\u{c}")]);
        assert_eq!(pairs(r"a=\u0041\u00e9"), vec![p("a", "Aé")]);
        assert_eq!(pairs(r"a=\q\#\!"), vec![p("a", "q#!")]);
        assert_eq!(pairs(r"a=\uD83D\uDE00"), vec![p("a", "😀")]);
        assert_eq!(pairs(r"\u0041=b"), vec![p("A", "b")]);
    }

    #[test]
    fn malformed_unicode_escape_is_an_error_naming_the_line() {
        for text in ["x=1\na=\\u12", "x=1\na=\\uzzzz", "x=1\na=\\u12g4"] {
            let err = parse(text).unwrap_err();
            match err {
                SamzaError::Properties { line, ref message } => {
                    assert_eq!(line, 2, "{text:?}");
                    assert!(message.contains("Malformed \\uxxxx encoding"), "{message}");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn later_duplicates_override_in_place() {
        assert_eq!(pairs("a=1\nb=2\na=3"), vec![p("a", "3"), p("b", "2")]);
    }
}
