//! `wsgiref.headers` conformance cases 35–53 (shared/spec/conformance-cases.md).
//! Python's runtime type errors (a tuple instead of a list, bytes names)
//! are compile errors in Rust; what remains observable is checked here,
//! plus the wire-safety rules that are wasgi's own.

use wasgi::Headers;
use wasgi::headers::{HeaderError, check_header};

fn h(pairs: &[(&str, &str)]) -> Headers {
    Headers::from(pairs)
}

fn items(h: &Headers) -> Vec<(&str, &str)> {
    h.items()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn cases_35_36_constructor_takes_a_list_of_pairs() {
    // Headers(()) / Headers({}) / Headers([(b'a','b')]) cannot be written.
    let h = Headers::new(vec![("a".into(), "b".into())]);
    assert_eq!(items(&h), [("a", "b")]);
}

#[test]
fn case_37_none_and_empty() {
    let h = Headers::default();
    assert_eq!(format!("{h:?}"), "Headers([])");
    assert_eq!(h.to_string(), "\r\n");
    assert_eq!(h.to_bytes().unwrap(), b"\r\n");
    assert_eq!(Headers::new(Vec::new()), h);
}

#[test]
fn case_38_the_list_is_the_headers() {
    // Python shares the caller's list; Rust moves it in and gives it back.
    let mut h = Headers::new(vec![("X-A".into(), "1".into())]);
    h.set("X-A", "3");
    assert_eq!(h.into_inner(), [("X-A".to_string(), "3".to_string())]);
}

fn case_39_headers() -> Headers {
    h(&[("Content-Type", "text/plain"), ("X-A", "1"), ("x-a", "2")])
}

#[test]
fn case_39_case_insensitive_lookup() {
    let h = case_39_headers();
    assert_eq!(h.get("x-A"), Some("1"));
    assert_eq!(h.get("missing"), None);
    assert_eq!(h.get_or("nope", "d"), "d");
    assert!(h.contains("X-A"));
    assert_eq!(h.get_all("X-a"), ["1", "2"]);
    assert!(h.get_all("nope").is_empty());
    assert_eq!(h.len(), 3);
}

#[test]
fn names_compare_like_python_lower() {
    let h = h(&[("\u{c0}-Name", "1")]);
    assert_eq!(h.get("\u{e0}-name"), Some("1"));
}

#[test]
fn case_40_set_replaces_all_and_appends() {
    let mut h = case_39_headers();
    h.set("X-A", "3");
    assert_eq!(items(&h), [("Content-Type", "text/plain"), ("X-A", "3")]);
}

#[test]
fn case_41_remove() {
    let mut h = case_39_headers();
    h.remove("CONTENT-TYPE");
    assert_eq!(items(&h), [("X-A", "1"), ("x-a", "2")]);
    h.remove("nope");
    assert_eq!(h.len(), 2);
}

#[test]
fn case_42_setdefault() {
    let mut h = h(&[("X-A", "3")]);
    assert_eq!(h.setdefault("x-a", "9"), "3");
    assert_eq!(h.setdefault("New", "v"), "v");
    assert_eq!(items(&h), [("X-A", "3"), ("New", "v")]);
}

#[test]
fn case_43_str_and_bytes() {
    let h = case_39_headers();
    assert_eq!(
        h.to_string(),
        "Content-Type: text/plain\r\nX-A: 1\r\nx-a: 2\r\n\r\n"
    );
    assert_eq!(h.to_bytes().unwrap(), h.to_string().into_bytes());
}

#[test]
fn case_44_bytes_are_latin1() {
    assert_eq!(
        h(&[("A", "\u{e9}")]).to_bytes().unwrap(),
        b"A: \xe9\r\n\r\n"
    );
    let err = h(&[("A", "\u{20ac}")]).to_bytes().unwrap_err();
    assert!(
        matches!(err, HeaderError::NotLatin1 { ch: '\u{20ac}', .. }),
        "{err:?}"
    );
}

#[test]
fn case_45_add_header_params() {
    let mut h = Headers::default();
    h.add_header(
        "Content-Disposition",
        Some("attachment"),
        &[("filename", Some("bud.gif"))],
    );
    assert_eq!(
        h.get("content-disposition"),
        Some("attachment; filename=\"bud.gif\"")
    );
}

#[test]
fn case_46_add_header_underscore_and_none() {
    let mut h = Headers::default();
    h.add_header(
        "X-Under",
        Some("v"),
        &[("foo_bar", Some("1")), ("baz", None)],
    );
    h.add_header("X-None", None, &[("flag", None)]);
    assert_eq!(h.get("X-Under"), Some("v; foo-bar=\"1\"; baz"));
    assert_eq!(h.get("X-None"), Some("flag"));
}

#[test]
fn case_47_add_header_escaping_and_empty_params() {
    let mut h = Headers::default();
    h.add_header(
        "X-Quote",
        Some("v"),
        &[
            ("p", Some("a\"b\\c")),
            ("q", Some("")),
            ("r", Some("has space")),
        ],
    );
    assert_eq!(
        h.get("X-Quote"),
        Some("v; p=\"a\\\"b\\\\c\"; q; r=\"has space\"")
    );
}

#[test]
fn case_48_add_header_degenerate_and_appending() {
    let mut h = Headers::default();
    h.add_header("X", None, &[]);
    h.add_header("X", Some(""), &[("p", Some("x"))]);
    assert_eq!(h.get_all("X"), ["", "; p=\"x\""]);
}

#[test]
fn cases_49_51_typed_arguments() {
    // add_header('X', b'v'), h.get(b'x') and friends cannot be written in
    // Rust; what can go wrong is a value that cannot go on the wire.
    let mut h = Headers::default();
    h.add_header("X", Some("a\r\nb"), &[]);
    assert!(matches!(
        h.to_bytes(),
        Err(HeaderError::ControlChar { ch: '\r', .. })
    ));
}

#[test]
fn case_50_set_deletes_before_adding() {
    let mut h = h(&[("X-A", "1"), ("B", "2")]);
    h.set("x-a", "v");
    assert_eq!(items(&h), [("B", "2"), ("x-a", "v")]);
}

#[test]
fn case_52_iteration_goes_through_items() {
    let h = h(&[("a", "b")]);
    let names: Vec<&str> = h.keys();
    assert_eq!(names, ["a"]);
    assert_eq!(h.values(), ["b"]);
}

#[test]
fn case_53_empty_value_presence_and_repr() {
    let h = h(&[("A", "")]);
    assert!(h.contains("A"));
    assert_eq!(h.get("A"), Some(""));
    assert_eq!(h.to_string(), "A: \r\n\r\n");
    assert_eq!(format!("{h:?}"), "Headers([('A', '')])");
}

#[test]
fn wire_checks_name_the_rule() {
    assert_eq!(check_header("X-A", "ok\tvalue \u{e9}"), Ok(()));
    let e = check_header("X:Y", "z").unwrap_err();
    assert_eq!(
        e.to_string(),
        "header names must be non-empty HTTP tokens (got 'X:Y')"
    );
    assert!(check_header("", "z").is_err());
    assert!(check_header("a b", "z").is_err());
    let e = check_header("X-A", "a\r\nX-Injected: 1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "header values must not contain control characters such as CR or LF ('X-A' has '\\r' in 'a\\r\\nX-Injected: 1')"
    );
    for bad in ["a\nb", "a\0b", "a\x7fb", "a\x01b"] {
        assert!(check_header("X", bad).is_err(), "{bad:?}");
    }
}

#[test]
fn headers_iterate_in_order_for_start_response() {
    let mut headers = Headers::default();
    headers.add_header("Content-Type", Some("text/plain"), &[]);
    headers.add_header("Set-Cookie", Some("a=1"), &[]);
    let borrowed: Vec<(&str, &str)> = (&headers).into_iter().collect();
    assert_eq!(
        borrowed,
        [("Content-Type", "text/plain"), ("Set-Cookie", "a=1")]
    );
    let owned: Vec<(String, String)> = headers.into_iter().collect();
    assert_eq!(owned[1], ("Set-Cookie".to_string(), "a=1".to_string()));
}
