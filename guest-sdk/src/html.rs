//! `html.escape`: text made safe inside HTML.

/// `html.escape(s, quote=True)`: `&`, `<` and `>` become entities, and so
/// do `"` and `'` (for attribute values), as Python writes them.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_as_python_does() {
        // html.escape("<a href=\"x\">Tom & 'Jerry'</a>")
        assert_eq!(
            super::escape("<a href=\"x\">Tom & 'Jerry'</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#x27;Jerry&#x27;&lt;/a&gt;"
        );
    }
}
