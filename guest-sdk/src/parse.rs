//! `urllib.parse` for WSGI apps: `parse_qs`, `parse_qsl`, `quote`,
//! `quote_plus`, `unquote`, `unquote_plus`, `urlencode`, with Python's
//! results.
//!
//! Inputs may be native strings straight from the environ
//! (`environ["QUERY_STRING"]`): when a string's characters, taken as the
//! bytes they stand for, decode as UTF-8, that is the text (raw UTF-8 bytes
//! a client sent unescaped come out as the text they are, where Python
//! would keep them as latin-1). Otherwise decoding is Python's: the text's
//! own UTF-8 with `%XX` escapes decoded, invalid sequences replaced.

use std::collections::BTreeMap;

/// Python's `always_safe`: letters, digits and `_.-~` are never quoted.
fn always_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_.-~".contains(&b)
}

/// `quote(string, safe)`: every byte of the UTF-8 text that is not a
/// letter, a digit, one of `_.-~` or in `safe` becomes `%XX`.
/// `quote(s, "/")` is Python's default.
pub fn quote(string: &str, safe: &str) -> String {
    quote_bytes(string.as_bytes(), safe.as_bytes(), false)
}

/// `quote_plus(string, safe="")`: like [`quote`], with spaces as `+`.
pub fn quote_plus(string: &str, safe: &str) -> String {
    quote_bytes(string.as_bytes(), safe.as_bytes(), true)
}

fn quote_bytes(bytes: &[u8], safe: &[u8], plus: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if always_safe(b) || safe.contains(&b) {
            out.push(char::from(b));
        } else if plus && b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `unquote_to_bytes(string)`: every valid `%XX` becomes its byte; the
/// rest is the text's UTF-8.
pub fn unquote_to_bytes(string: &str) -> Vec<u8> {
    percent_decode(string.as_bytes())
}

/// Every valid `%XX` in `raw` as the byte it encodes; the rest as is.
pub(crate) fn percent_decode(raw: &[u8]) -> Vec<u8> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%'
            && let (Some(h), Some(l)) = (
                raw.get(i + 1).copied().and_then(hex),
                raw.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(h << 4 | l);
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

/// `unquote(string)`: `%XX` escapes decoded, the text read as UTF-8 (a
/// native string first as the bytes it stands for, see the module docs).
pub fn unquote(string: &str) -> String {
    if let Some(native) = crate::util::to_bytes(string)
        && let Ok(text) = String::from_utf8(percent_decode(&native))
    {
        return text;
    }
    String::from_utf8_lossy(&unquote_to_bytes(string)).into_owned()
}

/// `unquote_plus(string)`: `+` is a space, then [`unquote`].
pub fn unquote_plus(string: &str) -> String {
    unquote(&string.replace('+', " "))
}

/// `parse_qsl(qs, keep_blank_values)`: the `name=value` pairs of a query
/// string in order, split at `&`, with `+` and `%XX` decoded. Fields
/// without `=` or with an empty value are dropped unless
/// `keep_blank_values`.
pub fn parse_qsl(qs: &str, keep_blank_values: bool) -> Vec<(String, String)> {
    qs.split('&')
        .filter(|field| !field.is_empty())
        .filter_map(|field| {
            let (name, value) = match field.split_once('=') {
                Some(pair) => pair,
                None if keep_blank_values => (field, ""),
                None => return None,
            };
            (!value.is_empty() || keep_blank_values)
                .then(|| (unquote_plus(name), unquote_plus(value)))
        })
        .collect()
}

/// `parse_qs(qs, keep_blank_values)`: [`parse_qsl`] grouped by name, the
/// values of each name in order.
pub fn parse_qs(qs: &str, keep_blank_values: bool) -> BTreeMap<String, Vec<String>> {
    let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in parse_qsl(qs, keep_blank_values) {
        grouped.entry(name).or_default().push(value);
    }
    grouped
}

/// `urlencode(query)`: `name=value` pairs joined with `&`, each side
/// [`quote_plus`]ed.
pub fn urlencode<K: AsRef<str>, V: AsRef<str>>(query: &[(K, V)]) -> String {
    query
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                quote_plus(k.as_ref(), ""),
                quote_plus(v.as_ref(), "")
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The expected values are CPython 3.11's.
    #[test]
    fn as_python_does() {
        let qs = "a=1&b=&c&a=2+x&%C3%A9=%E2%82%AC&d=%zz";
        assert_eq!(
            parse_qsl(qs, false),
            pairs(&[("a", "1"), ("a", "2 x"), ("é", "€"), ("d", "%zz")])
        );
        assert_eq!(
            parse_qsl("a=1&b=&c&a=2+x&%C3%A9=%E2%82%AC", true),
            pairs(&[("a", "1"), ("b", ""), ("c", ""), ("a", "2 x"), ("é", "€")])
        );
        let grouped = parse_qs("a=1&a=2&b=3", false);
        assert_eq!(grouped["a"], ["1", "2"]);
        assert_eq!(grouped["b"], ["3"]);
        assert_eq!(quote("/café x?&=~", "/"), "/caf%C3%A9%20x%3F%26%3D~");
        assert_eq!(quote("a/b", ""), "a%2Fb");
        assert_eq!(quote_plus("a b/c&d", ""), "a+b%2Fc%26d");
        assert_eq!(unquote("%C3%A9%41+b%zz%"), "éA+b%zz%");
        assert_eq!(unquote_plus("a+b%2B"), "a b+");
        assert_eq!(unquote("%ff"), "\u{fffd}");
        assert_eq!(unquote("é%41"), "éA");
        assert_eq!(unquote("café"), "café");
        assert_eq!(
            urlencode(&[("a", "1 2"), ("b/c", "é&")]),
            "a=1+2&b%2Fc=%C3%A9%26"
        );
    }

    #[test]
    fn native_strings_are_their_bytes() {
        // `?q=café` sent raw: the environ holds the UTF-8 bytes as latin-1.
        let native = crate::util::from_bytes("q=caf\u{e9}".as_bytes());
        assert_eq!(parse_qsl(&native, false), pairs(&[("q", "café")]));
    }
}
