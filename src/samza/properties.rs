//! Java `.properties` text → ordered key/value pairs, exactly as `java.util.Properties#load` reads it.
//!
//! Samza loads job configs with `Properties.load`, so a config that works for Samza must mean the same here:
//! `=`, `:` or whitespace separators, `\` line continuations (leading whitespace of the continued line
//! dropped), `\uXXXX`, `\t \n \r \f` escapes (a backslash before any other character yields that character),
//! `#`/`!` comment lines. The text is taken as already-decoded characters (like `load(Reader)`): a ConfigMap
//! value is characters already, and a file is decoded ISO-8859-1 first, as `load(InputStream)` does
//! (`job_config::read_config_file`).

use std::borrow::Cow;

use indexmap::IndexMap;

use super::SamzaError;

/// Parses properties text. Later duplicates override earlier ones but keep the first key's position, as
/// `Properties` (a hash table) keeps one entry per key.
///
/// Works on the text's bytes in place (every character the format gives a meaning is ASCII, so positions found
/// by byte are character boundaries): a logical line is copied only when it continues over a line break, and
/// a key or value only once, into the map. Memory is the text plus what the map holds.
pub fn parse(text: &str) -> Result<IndexMap<String, String>, SamzaError> {
    let mut out = IndexMap::new();
    for_each_entry(text, |entry| {
        out.insert(entry.key, entry.value);
    })?;
    Ok(out)
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
    for_each_entry(text, |entry| out.push(entry))?;
    Ok(out)
}

/// Reads entries one at a time, so that [`parse`] holds only the map it builds.
fn for_each_entry(text: &str, mut each: impl FnMut(Entry)) -> Result<(), SamzaError> {
    let mut lines = LogicalLines {
        text,
        i: 0,
        natural_line: 1,
    };
    while let Some((line, logical)) = lines.next_line() {
        let (key, value, has_sep) = split_key_value(&logical);
        each(Entry {
            line,
            key: unescape(key, line)?,
            value: unescape(value, line)?,
            has_value: has_sep || !value.is_empty(),
        });
    }
    Ok(())
}

/// A `.properties` file's bytes as `Properties.load(InputStream)` reads them: ISO-8859-1, one character per
/// byte. ASCII text (the usual case) is taken as it is, without a copy.
pub fn decode_latin1(bytes: Vec<u8>) -> String {
    if bytes.is_ascii() {
        return String::from_utf8(bytes).expect("ASCII is UTF-8");
    }
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\x0c')
}

fn is_break(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

/// Java's `LineReader`: joins continued natural lines into logical lines, dropping comment and blank lines.
/// Each logical line comes with the 1-based number of its first natural line, for error messages.
/// The continuation backslash is removed but every other escape is kept for `unescape`.
struct LogicalLines<'a> {
    text: &'a str,
    i: usize,
    natural_line: usize,
}

impl<'a> LogicalLines<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn skip_blanks(&mut self) {
        let b = self.bytes();
        while self.i < b.len() && is_blank(b[self.i]) {
            self.i += 1;
        }
    }

    fn skip_break(&mut self) {
        let b = self.bytes();
        self.i += if b[self.i] == b'\r' && b.get(self.i + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        self.natural_line += 1;
    }

    /// The rest of the natural line from `i` (without its line break); `i` ends on the break or at the end.
    fn natural(&mut self) -> &'a str {
        let b = self.bytes();
        let start = self.i;
        while self.i < b.len() && !is_break(b[self.i]) {
            self.i += 1;
        }
        &self.text[start..self.i]
    }

    fn next_line(&mut self) -> Option<(usize, Cow<'a, str>)> {
        loop {
            // Start of a logical line: skip leading whitespace; blank lines and comment lines are skipped.
            let start_line = self.natural_line;
            self.skip_blanks();
            let b = self.bytes();
            if self.i >= b.len() {
                return None;
            }
            if is_break(b[self.i]) {
                self.skip_break();
                continue;
            }
            if b[self.i] == b'#' || b[self.i] == b'!' {
                // Comment lines never continue, even when they end with a backslash.
                self.natural();
                continue;
            }
            let mut line: Cow<'a, str> = Cow::Borrowed("");
            loop {
                let natural = self.natural();
                let backslashes = natural.bytes().rev().take_while(|&c| c == b'\\').count();
                // An odd number of trailing backslashes continues the line; the last one is dropped.
                let continued = backslashes % 2 == 1;
                let kept = if continued {
                    &natural[..natural.len() - 1]
                } else {
                    natural
                };
                if line.is_empty() {
                    line = Cow::Borrowed(kept);
                } else {
                    line.to_mut().push_str(kept);
                }
                if !continued || self.i >= b.len() {
                    break;
                }
                self.skip_break();
                self.skip_blanks();
            }
            if self.i < b.len() {
                self.skip_break();
            }
            return Some((start_line, line));
        }
    }
}

/// `Properties#load0`: the key ends at the first unescaped `=`, `:` or whitespace; then whitespace and at
/// most one `=`/`:` are skipped (only one separator char when the key ended at whitespace).
fn split_key_value(line: &str) -> (&str, &str, bool) {
    let b = line.as_bytes();
    let mut key_len = 0;
    let mut value_start = b.len();
    let mut has_sep = false;
    let mut preceding_backslash = false;
    while key_len < b.len() {
        let c = b[key_len];
        if (c == b'=' || c == b':') && !preceding_backslash {
            value_start = key_len + 1;
            has_sep = true;
            break;
        } else if is_blank(c) && !preceding_backslash {
            value_start = key_len + 1;
            break;
        }
        preceding_backslash = c == b'\\' && !preceding_backslash;
        key_len += 1;
    }
    while value_start < b.len() {
        let c = b[value_start];
        if !is_blank(c) {
            if !has_sep && (c == b'=' || c == b':') {
                has_sep = true;
            } else {
                break;
            }
        }
        value_start += 1;
    }
    (&line[..key_len], &line[value_start.min(b.len())..], has_sep)
}

/// Four hex digits (`\uXXXX`'s), exactly: no sign, no fewer.
fn hex4(s: &str) -> Option<u16> {
    let digits = s.get(..4)?;
    if !digits.bytes().all(|d| d.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(digits, 16).ok()
}

/// `Properties#loadConvert`.
fn unescape(text: &str, line_no: usize) -> Result<String, SamzaError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('\\') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        let Some(e) = rest.chars().next() else {
            // A lone trailing backslash (only possible at end of input) is dropped, as Java's reader does.
            return Ok(out);
        };
        rest = &rest[e.len_utf8()..];
        match e {
            'u' => {
                let unit = hex4(rest).ok_or_else(|| {
                    let digits: String = rest.chars().take(4).collect();
                    SamzaError::Properties {
                        line: line_no,
                        message: format!(
                            "Malformed \\uxxxx encoding ('\\u{digits}'). Write exactly four hex digits after \\u, or \\\\u for a literal backslash-u."
                        ),
                    }
                })?;
                rest = &rest[4..];
                push_utf16_unit(&mut out, unit, &mut rest);
            }
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'n' => out.push('\n'),
            'f' => out.push('\u{c}'),
            other => out.push(other),
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Java strings are UTF-16: a `\uD83D\uDE00` pair is one character. A lone surrogate cannot exist in a
/// Rust string and becomes U+FFFD.
fn push_utf16_unit(out: &mut String, unit: u16, rest: &mut &str) {
    if (0xD800..0xDC00).contains(&unit) {
        // Look for an escaped low surrogate right after.
        let low = rest
            .strip_prefix("\\u")
            .and_then(hex4)
            .filter(|low| (0xDC00..0xE000).contains(low));
        if let Some(low) = low {
            let c = 0x10000 + (((unit as u32) - 0xD800) << 10) + ((low as u32) - 0xDC00);
            out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
            *rest = &rest[6..];
            return;
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
