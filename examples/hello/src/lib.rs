//! The seed's `hello_world_app`:
//!
//! ```python
//! def hello_world_app(environ, start_response):
//!     status = '200 OK'
//!     headers = [('Content-type', 'text/plain; charset=utf-8')]
//!     start_response(status, headers)
//!     return [b"Hello World"]
//! ```

use wasgi::{Body, Environ, Result, StartResponse};

fn hello_world_app(_environ: Environ, start_response: StartResponse) -> Result<Body> {
    let status = "200 OK";
    let headers = [("Content-type", "text/plain; charset=utf-8")];
    start_response.call(status, headers, None)?;
    Ok(Body::from_chunks([b"Hello World"]))
}

wasgi::export!(hello_world_app);
