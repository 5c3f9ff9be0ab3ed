//! wsgiref's `demo_app`: `Hello world!`, a blank line, then one
//! `KEY = repr(value)` line per environ item, sorted by key. The `host`
//! binary embeds this app: `host serve` with no app file serves it.

use wasgi::{Body, Environ, Result, StartResponse, pyrepr};

fn demo_app(environ: Environ, start_response: StartResponse) -> Result<Body> {
    let mut items: Vec<(String, String)> = environ
        .vars
        .iter()
        .map(|(k, v)| (k.clone(), pyrepr::str(v)))
        .collect();
    let typed = [
        ("wsgi.errors", "<wasgi.Errors>".to_string()),
        ("wsgi.input", "<wasgi.Input>".to_string()),
        (
            "wsgi.input_terminated",
            pyrepr::bool(environ.input_terminated).into(),
        ),
        (
            "wsgi.multiprocess",
            pyrepr::bool(environ.multiprocess).into(),
        ),
        ("wsgi.multithread", pyrepr::bool(environ.multithread).into()),
        ("wsgi.run_once", pyrepr::bool(environ.run_once).into()),
        (
            "wsgi.version",
            format!("({}, {})", environ.version.0, environ.version.1),
        ),
    ];
    items.extend(typed.into_iter().map(|(k, v)| (k.to_string(), v)));
    if environ.file_wrapper {
        items.push((
            "wsgi.file_wrapper".into(),
            "<class 'wasgi.FileWrapper'>".into(),
        ));
    }
    items.sort();
    let mut text = String::from("Hello world!\n\n");
    for (key, value) in items {
        text.push_str(&format!("{key} = {value}\n"));
    }
    start_response.call(
        "200 OK",
        [("Content-Type", "text/plain; charset=utf-8")],
        None,
    )?;
    Ok(Body::from(text))
}

wasgi::export!(demo_app);
