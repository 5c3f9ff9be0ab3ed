//! Dispatches requests to sub-apps with `shift_path_info`, the way wsgiref's
//! docs suggest for serving several apps from one server. Each level moves
//! one segment from PATH_INFO to SCRIPT_NAME, so a sub-app sees where it is
//! mounted:
//!
//! | request | app | SCRIPT_NAME | PATH_INFO |
//! |---|---|---|---|
//! | `/` | the root's index | `/` | `` |
//! | `/hello` | hello | `/hello` | `` |
//! | `/whoami/x/y` | whoami | `/whoami` | `/x/y` |
//! | `/api/v1/items/42` | v1 (nested two levels) | `/api/v1` | `/items/42` |
//! | `/api/v2/...` | v2 | `/api/v2` | ... |

use wasgi::util::{request_uri, shift_path_info};
use wasgi::{Application, Body, Environ, Result, StartResponse};

/// Sub-apps mounted at path segments.
struct Router {
    name: &'static str,
    routes: Vec<(&'static str, Box<dyn Application>)>,
}

impl Application for Router {
    fn call(&self, mut environ: Environ, start_response: StartResponse) -> Result<Body> {
        let segment = shift_path_info(&mut environ.vars)?.filter(|s| !s.is_empty());
        let Some(segment) = segment else {
            let mounts: Vec<&str> = self.routes.iter().map(|(n, _)| *n).collect();
            return text(
                &start_response,
                "200 OK",
                format!("{}: {}\n", self.name, mounts.join(" ")),
            );
        };
        match self.routes.iter().find(|(name, _)| *name == segment) {
            Some((_, app)) => app.call(environ, start_response),
            None => text(
                &start_response,
                "404 Not Found",
                format!("{}: no route {segment:?}\n", self.name),
            ),
        }
    }
}

/// Reports where it was mounted.
fn whoami(environ: Environ, start_response: StartResponse) -> Result<Body> {
    let body = format!(
        "SCRIPT_NAME={}\nPATH_INFO={}\nrequest_uri={}\n",
        environ.get("SCRIPT_NAME").unwrap_or(""),
        environ.get("PATH_INFO").unwrap_or(""),
        request_uri(&environ.vars, true)?,
    );
    text(&start_response, "200 OK", body)
}

fn hello(_environ: Environ, start_response: StartResponse) -> Result<Body> {
    text(&start_response, "200 OK", "Hello from the router\n".into())
}

fn text(start_response: &StartResponse, status: &str, body: String) -> Result<Body> {
    start_response.call(
        status,
        [("Content-Type", "text/plain; charset=utf-8")],
        None,
    )?;
    Ok(Body::from(body))
}

fn router() -> Router {
    let api = Router {
        name: "api",
        routes: vec![("v1", Box::new(whoami)), ("v2", Box::new(whoami))],
    };
    Router {
        name: "root",
        routes: vec![
            ("hello", Box::new(hello)),
            ("whoami", Box::new(whoami)),
            ("api", Box::new(api)),
        ],
    }
}

wasgi::export!(router());
