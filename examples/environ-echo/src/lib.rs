//! Responds `application/json`: an object mapping every environ key to its
//! value. Native strings stay native (each char is one byte of the
//! request); `wsgi.*` values are rendered as strings or booleans, and the
//! whole of `wsgi.input` is read into the key `wsgi.input` as a native
//! string.

use wasgi::{Body, Environ, Result, StartResponse};

fn environ_echo(mut environ: Environ, start_response: StartResponse) -> Result<Body> {
    let body = environ.input.read(None)?;
    let mut fields: Vec<(String, String)> = environ
        .vars
        .iter()
        .map(|(k, v)| (k.clone(), json_string(v)))
        .collect();
    let boolean = |b: bool| if b { "true" } else { "false" }.to_string();
    fields.push((
        "wsgi.input".into(),
        json_string(&wasgi::util::from_bytes(&body)),
    ));
    fields.push(("wsgi.errors".into(), json_string("<wasgi.Errors>")));
    fields.push((
        "wsgi.version".into(),
        json_string(&format!("({}, {})", environ.version.0, environ.version.1)),
    ));
    fields.push(("wsgi.multithread".into(), boolean(environ.multithread)));
    fields.push(("wsgi.multiprocess".into(), boolean(environ.multiprocess)));
    fields.push(("wsgi.run_once".into(), boolean(environ.run_once)));
    fields.push((
        "wsgi.input_terminated".into(),
        boolean(environ.input_terminated),
    ));
    fields.push(("wsgi.file_wrapper".into(), boolean(environ.file_wrapper)));
    fields.sort();
    let members: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}: {v}", json_string(k)))
        .collect();
    let json = format!("{{{}}}\n", members.join(", "));
    start_response.call("200 OK", [("Content-Type", "application/json")], None)?;
    Ok(Body::from(json))
}

/// A JSON string literal; characters above U+001F other than `"` and `\`
/// are written as themselves (UTF-8).
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

wasgi::export!(environ_echo);
