//! `wsgiref.util` conformance cases 1–34 (shared/spec/conformance-cases.md).
//! Cases about Python types (an int SERVER_PORT, bytes header names) have
//! no counterpart in typed Rust; the typed equivalent is checked instead.

use std::io::Cursor;

use wasgi::FileWrapper;
use wasgi::util::{
    EnvironError, Vars, application_uri, guess_scheme, is_hop_by_hop, request_uri,
    setup_testing_defaults, shift_path_info,
};

fn env(pairs: &[(&str, &str)]) -> Vars {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn base() -> Vars {
    env(&[
        ("wsgi.url_scheme", "http"),
        ("SERVER_NAME", "example.com"),
        ("SERVER_PORT", "80"),
    ])
}

fn with(mut vars: Vars, pairs: &[(&str, &str)]) -> Vars {
    vars.extend(env(pairs));
    vars
}

#[test]
fn case_01_guess_scheme_accepted_values() {
    for v in ["yes", "on", "1"] {
        assert_eq!(guess_scheme(&env(&[("HTTPS", v)])), "https");
    }
}

#[test]
fn case_02_guess_scheme_rejects_everything_else() {
    for v in ["YES", "On", "ON", "true", "0", "off", ""] {
        assert_eq!(guess_scheme(&env(&[("HTTPS", v)])), "http", "{v}");
    }
    assert_eq!(guess_scheme(&Vars::new()), "http");
}

#[test]
fn case_03_application_uri_default_port() {
    assert_eq!(application_uri(&base()).unwrap(), "http://example.com/");
}

#[test]
fn case_04_application_uri_other_port() {
    let vars = with(base(), &[("SERVER_PORT", "8080")]);
    assert_eq!(application_uri(&vars).unwrap(), "http://example.com:8080/");
}

#[test]
fn case_05_application_uri_https_ports() {
    for (port, uri) in [
        ("443", "https://example.com/"),
        ("80", "https://example.com:80/"),
        ("0443", "https://example.com:0443/"),
    ] {
        let vars = with(
            base(),
            &[("wsgi.url_scheme", "https"), ("SERVER_PORT", port)],
        );
        assert_eq!(application_uri(&vars).unwrap(), uri);
    }
}

#[test]
fn case_06_application_uri_prefers_http_host_verbatim() {
    let vars = with(base(), &[("HTTP_HOST", "h:80")]);
    assert_eq!(application_uri(&vars).unwrap(), "http://h:80/");
}

#[test]
fn case_07_application_uri_empty_http_host_falls_back() {
    let vars = with(base(), &[("HTTP_HOST", "")]);
    assert_eq!(application_uri(&vars).unwrap(), "http://example.com/");
}

#[test]
fn case_08_application_uri_script_name_quoting() {
    let vars = with(base(), &[("SCRIPT_NAME", "/a b;c=d,e@f:g+h~i!*()$&'%")]);
    assert_eq!(
        application_uri(&vars).unwrap(),
        "http://example.com/a%20b%3Bc%3Dd%2Ce%40f%3Ag%2Bh~i%21%2A%28%29%24%26%27%25"
    );
}

#[test]
fn case_09_application_uri_latin1() {
    let vars = with(base(), &[("SCRIPT_NAME", "/caf\u{e9}")]);
    assert_eq!(application_uri(&vars).unwrap(), "http://example.com/caf%E9");
    let vars = with(base(), &[("SCRIPT_NAME", "/\u{20ac}")]);
    let err = application_uri(&vars).unwrap_err();
    assert_eq!(err.kind(), "UnicodeEncodeError");
    assert_eq!(
        err.to_string(),
        "'latin-1' codec can't encode character '\\u20ac' in position 1: ordinal not in range(256)"
    );
    assert!(matches!(
        err,
        EnvironError::NotLatin1 { ch: '\u{20ac}', .. }
    ));
}

#[test]
fn case_10_application_uri_missing_port_and_odd_scheme() {
    let vars = env(&[("wsgi.url_scheme", "http"), ("SERVER_NAME", "h")]);
    assert_eq!(
        application_uri(&vars).unwrap_err(),
        EnvironError::MissingKey("SERVER_PORT".into())
    );
    let vars = with(base(), &[("wsgi.url_scheme", "ftp"), ("SERVER_PORT", "21")]);
    assert_eq!(application_uri(&vars).unwrap(), "ftp://example.com:21/");
}

#[test]
fn case_11_request_uri_path_quoting() {
    let vars = with(base(), &[("PATH_INFO", "/a b/c;d=e,f@g:h+i~j?k#l%m")]);
    assert_eq!(
        request_uri(&vars, true).unwrap(),
        "http://example.com/a%20b/c;d=e,f%40g%3Ah%2Bi~j%3Fk%23l%25m"
    );
}

#[test]
fn case_12_request_uri_drops_first_char_without_script_name() {
    let vars = with(base(), &[("PATH_INFO", "foo")]);
    assert_eq!(request_uri(&vars, true).unwrap(), "http://example.com/oo");
    let vars = with(base(), &[("PATH_INFO", "%")]);
    assert_eq!(request_uri(&vars, true).unwrap(), "http://example.com/25");
}

#[test]
fn case_13_request_uri_with_script_name() {
    let vars = with(base(), &[("SCRIPT_NAME", "/app"), ("PATH_INFO", "")]);
    assert_eq!(request_uri(&vars, true).unwrap(), "http://example.com/app");
    let vars = with(base(), &[("SCRIPT_NAME", "/app"), ("PATH_INFO", "/x")]);
    assert_eq!(
        request_uri(&vars, true).unwrap(),
        "http://example.com/app/x"
    );
}

#[test]
fn case_14_request_uri_query() {
    let vars = with(
        base(),
        &[("PATH_INFO", "/x"), ("QUERY_STRING", "a=1 2&b=%20")],
    );
    assert_eq!(
        request_uri(&vars, true).unwrap(),
        "http://example.com/x?a=1 2&b=%20"
    );
    assert_eq!(request_uri(&vars, false).unwrap(), "http://example.com/x");
    let vars = with(base(), &[("PATH_INFO", "/x"), ("QUERY_STRING", "")]);
    assert_eq!(request_uri(&vars, true).unwrap(), "http://example.com/x");
}

#[test]
fn case_15_request_uri_double_slashes_and_latin1() {
    let vars = with(base(), &[("PATH_INFO", "//x//")]);
    assert_eq!(request_uri(&vars, true).unwrap(), "http://example.com//x//");
    let vars = with(base(), &[("PATH_INFO", "/\u{e9}\u{ff}")]);
    assert_eq!(
        request_uri(&vars, true).unwrap(),
        "http://example.com/%E9%FF"
    );
    let vars = with(base(), &[("PATH_INFO", "/\u{20ac}")]);
    assert_eq!(
        request_uri(&vars, true).unwrap_err().kind(),
        "UnicodeEncodeError"
    );
}

/// Shifts once from (SCRIPT_NAME, PATH_INFO).
fn shift(script_name: &str, path_info: &str) -> (Option<String>, String, String) {
    let mut vars = env(&[("SCRIPT_NAME", script_name), ("PATH_INFO", path_info)]);
    let name = shift_path_info(&mut vars).unwrap();
    (name, vars["SCRIPT_NAME"].clone(), vars["PATH_INFO"].clone())
}

fn shifted(
    name: Option<&str>,
    script_name: &str,
    path_info: &str,
) -> (Option<String>, String, String) {
    (name.map(String::from), script_name.into(), path_info.into())
}

#[test]
fn case_16_shift_path_info_basic() {
    assert_eq!(shift("", "/a/b"), shifted(Some("a"), "/a", "/b"));
}

#[test]
fn case_17_shift_path_info_trailing_slash_kept() {
    assert_eq!(shift("/x", "/a/b/"), shifted(Some("a"), "/x/a", "/b/"));
    assert_eq!(shift("/x", "/a/"), shifted(Some("a"), "/x/a", "/"));
}

#[test]
fn case_18_shift_path_info_lone_slash() {
    assert_eq!(shift("/x", "/"), shifted(Some(""), "/x/", ""));
    assert_eq!(shift("", "/"), shifted(Some(""), "/", ""));
    assert_eq!(shift("/x/", "/"), shifted(Some(""), "/x/", ""));
}

#[test]
fn case_19_shift_path_info_nothing_left() {
    assert_eq!(shift("/x", ""), shifted(None, "/x", ""));
    let mut vars = env(&[("SCRIPT_NAME", "/x")]);
    assert_eq!(shift_path_info(&mut vars).unwrap(), None);
    assert_eq!(vars, env(&[("SCRIPT_NAME", "/x")]), "no keys added");
}

#[test]
fn case_20_shift_path_info_empty_segments() {
    assert_eq!(shift("/x", "//a//b"), shifted(Some("a"), "/x/a", "/b"));
    assert_eq!(shift("/x", "//"), shifted(Some(""), "/x/", ""));
    assert_eq!(shift("/x", "///"), shifted(Some(""), "/x/", ""));
    assert_eq!(shift("", "//"), shifted(Some(""), "/", ""));
    assert_eq!(shift("/x", "/a//"), shifted(Some("a"), "/x/a", "/"));
}

#[test]
fn case_21_shift_path_info_dot_segments() {
    assert_eq!(shift("/x", "/./a"), shifted(Some("a"), "/x/a", ""));
    assert_eq!(shift("/x", "/."), shifted(None, "/x", ""));
    assert_eq!(shift("/x", "/./"), shifted(Some(""), "/x/", ""));
    assert_eq!(shift("/x", "/./."), shifted(None, "/x", ""));
    assert_eq!(shift("/x", "/a/."), shifted(Some("a"), "/x/a", "/."));
    assert_eq!(shift("/x", "/a/./b"), shifted(Some("a"), "/x/a", "/b"));
}

#[test]
fn case_22_shift_path_info_dot_dot() {
    assert_eq!(shift("/x", "/.."), shifted(Some(".."), "", ""));
    assert_eq!(shift("/x", "/../"), shifted(Some(".."), "", "/"));
    assert_eq!(shift("/x/y", "/../a"), shifted(Some(".."), "/x", "/a"));
    assert_eq!(shift("", "/.."), shifted(Some(".."), "", ""));
    assert_eq!(shift("/x", "/a/../b"), shifted(Some("a"), "/x/a", "/../b"));
}

#[test]
fn case_23_shift_path_info_malformed() {
    let mut vars = env(&[("SCRIPT_NAME", "/x"), ("PATH_INFO", "a")]);
    let err = shift_path_info(&mut vars).unwrap_err();
    assert_eq!(err.kind(), "IndexError");
    assert_eq!(err.to_string(), "list index out of range");
    assert_eq!(shift("/x", "a/b"), shifted(Some("b"), "/x/b", "a"));
}

#[test]
fn case_24_shift_path_info_normpath_quirks() {
    assert_eq!(shift("/", "/a"), shifted(Some("a"), "//a", ""));
    assert_eq!(shift("//x", "/a"), shifted(Some("a"), "//x/a", ""));
    assert_eq!(shift("a", "/.."), shifted(Some(".."), ".", ""));
    assert_eq!(
        shift("/x", "/a%2Fb"),
        shifted(Some("a%2Fb"), "/x/a%2Fb", "")
    );
}

#[test]
fn case_25_shift_path_info_repeated() {
    let mut vars = env(&[("SCRIPT_NAME", ""), ("PATH_INFO", "/a/b/")]);
    let mut seen = Vec::new();
    loop {
        let name = shift_path_info(&mut vars).unwrap();
        seen.push((
            name.clone(),
            vars["SCRIPT_NAME"].clone(),
            vars["PATH_INFO"].clone(),
        ));
        if name.is_none() {
            break;
        }
    }
    assert_eq!(
        seen,
        [
            shifted(Some("a"), "/a", "/b/"),
            shifted(Some("b"), "/a/b", "/"),
            shifted(Some(""), "/a/b/", ""),
            shifted(None, "/a/b/", ""),
        ]
    );
}

#[test]
fn case_26_setup_testing_defaults_on_empty() {
    let mut vars = Vars::new();
    setup_testing_defaults(&mut vars);
    assert_eq!(
        vars,
        env(&[
            ("SERVER_NAME", "127.0.0.1"),
            ("SERVER_PROTOCOL", "HTTP/1.0"),
            ("HTTP_HOST", "127.0.0.1"),
            ("REQUEST_METHOD", "GET"),
            ("SCRIPT_NAME", ""),
            ("PATH_INFO", "/"),
            ("wsgi.url_scheme", "http"),
            ("SERVER_PORT", "80"),
        ])
    );
    assert!(!vars.contains_key("QUERY_STRING"));
}

#[test]
fn case_27_setup_testing_defaults_derived_values() {
    let mut vars = env(&[("HTTPS", "on")]);
    setup_testing_defaults(&mut vars);
    assert_eq!(vars["wsgi.url_scheme"], "https");
    assert_eq!(vars["SERVER_PORT"], "443");
    let mut vars = env(&[("SERVER_NAME", "srv")]);
    setup_testing_defaults(&mut vars);
    assert_eq!(vars["HTTP_HOST"], "srv");
}

#[test]
fn case_28_setup_testing_defaults_partial_path_keys() {
    let mut vars = env(&[("PATH_INFO", "/x")]);
    setup_testing_defaults(&mut vars);
    assert!(!vars.contains_key("SCRIPT_NAME"));
    let mut vars = env(&[("SCRIPT_NAME", "/s")]);
    setup_testing_defaults(&mut vars);
    assert!(!vars.contains_key("PATH_INFO"));
}

#[test]
fn case_29_setup_testing_defaults_unknown_scheme() {
    let mut vars = env(&[("wsgi.url_scheme", "ftp")]);
    setup_testing_defaults(&mut vars);
    assert!(!vars.contains_key("SERVER_PORT"));
}

#[test]
fn setup_testing_defaults_never_overwrites_falsy_values() {
    let mut vars = env(&[("SERVER_NAME", ""), ("REQUEST_METHOD", "")]);
    setup_testing_defaults(&mut vars);
    assert_eq!(vars["SERVER_NAME"], "");
    assert_eq!(vars["HTTP_HOST"], "");
    assert_eq!(vars["REQUEST_METHOD"], "");
}

#[test]
fn case_30_is_hop_by_hop_set() {
    for name in [
        "Connection",
        "KEEP-ALIVE",
        "Proxy-Authenticate",
        "proxy-authorization",
        "TE",
        "Trailers",
        "Transfer-Encoding",
        "Upgrade",
    ] {
        assert!(is_hop_by_hop(name), "{name}");
    }
}

#[test]
fn is_hop_by_hop_lowercases_like_python() {
    // 'K' (KELVIN SIGN).lower() == 'k' in Python.
    assert!(is_hop_by_hop("\u{212a}eep-Alive"));
}

#[test]
fn case_31_is_hop_by_hop_non_members() {
    for name in [
        "Trailer",
        "Proxy-Connection",
        "Content-Length",
        "connection ",
    ] {
        assert!(!is_hop_by_hop(name), "{name}");
    }
}

#[test]
fn case_32_file_wrapper_chunking() {
    let blocks: Vec<Vec<u8>> = FileWrapper::new(Cursor::new(b"abcdefghij".to_vec()), 4)
        .map(Result::unwrap)
        .collect();
    assert_eq!(blocks, [b"abcd".to_vec(), b"efgh".to_vec(), b"ij".to_vec()]);
    let wrapper = FileWrapper::with_default_blksize(Cursor::new(vec![b'x'; 20000]));
    assert_eq!(wrapper.blksize(), 8192);
    let sizes: Vec<usize> = wrapper.map(|b| b.unwrap().len()).collect();
    assert_eq!(sizes, [8192, 8192, 3616]);
}

#[test]
fn case_33_file_wrapper_close() {
    let mut wrapper = FileWrapper::new(Cursor::new(b"abc".to_vec()), 2);
    assert!(wrapper.filelike().is_some());
    wrapper.close();
    assert!(wrapper.filelike().is_none());
    assert!(wrapper.next().is_none(), "a closed wrapper reads nothing");
}

/// Reads from a script: one result per `read` call.
struct Script(Vec<&'static [u8]>);

impl std::io::Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0.is_empty() {
            return Ok(0);
        }
        let next = self.0.remove(0);
        buf[..next.len()].copy_from_slice(next);
        Ok(next.len())
    }
}

#[test]
fn case_34_file_wrapper_stops_at_first_empty_read_without_latch() {
    let mut wrapper = FileWrapper::new(Script(vec![b"a", b"", b"b"]), 1);
    assert_eq!(wrapper.next().unwrap().unwrap(), b"a");
    assert!(wrapper.next().is_none());
    // No exhausted latch: the file "grew", so the next read has data.
    assert_eq!(wrapper.next().unwrap().unwrap(), b"b");
}
