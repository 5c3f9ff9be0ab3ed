//! Python `repr()` of the values wsgiref's messages show with `%r`.
//!
//! The validator, the handler's assertion messages and the demo app quote
//! values exactly as CPython would, so the same diagnostics read the same in
//! Python and in wasgi.

/// `repr(s)` for a Python `str`: single quotes unless the text contains a
/// single quote and no double quote, `\t \n \r \\` escaped, other
/// non-printable characters as `\xNN`, `\uNNNN` or `\UNNNNNNNN`.
pub fn str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c => push_escape(&mut out, c as u32),
        }
    }
    out.push(quote);
    out
}

/// `repr(b)` for Python `bytes`: `b'...'` with every byte outside printable
/// ASCII written as `\xNN`.
pub fn bytes(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::with_capacity(b.len() + 3);
    out.push('b');
    out.push(quote as char);
    for &byte in b {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(byte as char),
            _ => push_escape(&mut out, u32::from(byte)),
        }
    }
    out.push(quote as char);
    out
}

/// `repr()` of a list of `(str, str)` tuples, e.g. response headers:
/// `[('Content-Type', 'text/plain')]`.
pub fn pairs<'a>(items: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let parts: Vec<String> = items
        .into_iter()
        .map(|(k, v)| format!("({}, {})", str(k), str(v)))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// `repr(True)` / `repr(False)`.
pub fn bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// CPython's `str.isprintable()` for one character. Exact for U+0000..U+00FF
/// (the native-string range); above it, only control, separator and
/// private-use characters count as non-printable.
fn is_printable(c: char) -> bool {
    match c as u32 {
        0x20..=0x7e => true,
        0x00..=0x1f | 0x7f..=0xa0 | 0xad => false,
        0xa1..=0xff => true,
        0x2028 | 0x2029 | 0xe000..=0xf8ff | 0xfeff => false,
        cp if (0x2000..=0x200f).contains(&cp) || cp == 0x3000 || cp == 0x1680 => false,
        _ => !c.is_control(),
    }
}

fn push_escape(out: &mut String, cp: u32) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = if cp <= 0xff {
        write!(out, "\\x{cp:02x}")
    } else if cp <= 0xffff {
        write!(out, "\\u{cp:04x}")
    } else {
        write!(out, "\\U{cp:08x}")
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn str_quotes_like_python() {
        assert_eq!(super::str("abc"), "'abc'");
        assert_eq!(super::str("it's"), "\"it's\"");
        assert_eq!(super::str("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(super::str("a\nb"), "'a\\nb'");
        assert_eq!(super::str("\t"), "'\\t'");
        assert_eq!(super::str("/caf\u{c3}\u{a9}"), "'/caf\u{c3}\u{a9}'");
        assert_eq!(super::str("a\u{a0}b\u{85}\u{0}"), "'a\\xa0b\\x85\\x00'");
        assert_eq!(super::str("\\"), "'\\\\'");
        assert_eq!(super::str("\u{20ac}"), "'\u{20ac}'");
    }

    #[test]
    fn bytes_quotes_like_python() {
        assert_eq!(super::bytes(b"200 OK"), "b'200 OK'");
        assert_eq!(super::bytes(b"\xe9\x00'"), "b\"\\xe9\\x00'\"");
        assert_eq!(super::bytes(b""), "b''");
    }

    #[test]
    fn pairs_like_python() {
        assert_eq!(super::pairs([("a", "b")]), "[('a', 'b')]");
        assert_eq!(super::pairs([]), "[]");
    }
}
