use std::ffi::OsString;

use tokio::io::{stdin, stdout};
use wasgi::Vars;

use super::simple::StreamGateway;
use super::{BaseHandler, HandlerConfig};
use crate::streams::{ErrorStream, InputStream};

/// `CGIHandler()`: runs an application as a CGI script, with the process's
/// stdin, stdout and stderr and the environ from [`read_environ`].
///
/// `wsgi.run_once` is true, `wsgi.multithread` false, `wsgi.multiprocess`
/// true; output uses a `Status:` header. `wsgi.input` ends after
/// `CONTENT_LENGTH` bytes.
pub struct CGIHandler;

impl CGIHandler {
    /// A handler for this process's CGI request.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> BaseHandler {
        cgi_handler(read_environ())
    }
}

/// `IISCGIHandler()`: [`CGIHandler`] for IIS deployments that repeat
/// SCRIPT_NAME at the front of PATH_INFO; that prefix is removed.
pub struct IISCGIHandler;

impl IISCGIHandler {
    /// A handler for this process's CGI request under IIS.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> BaseHandler {
        let mut environ = read_environ();
        iis_fix_path_info(&mut environ);
        cgi_handler(environ)
    }
}

fn cgi_handler(environ: Vars) -> BaseHandler {
    let config = HandlerConfig {
        wsgi_multithread: false,
        wsgi_multiprocess: true,
        wsgi_run_once: true,
        origin_server: false,
        ..HandlerConfig::default()
    };
    let limit = environ
        .get("CONTENT_LENGTH")
        .and_then(|v| v.trim().parse::<u64>().ok());
    // Without a length there is no body (RFC 3875 §4.2).
    let input = InputStream::from_reader(stdin(), Some(limit.unwrap_or(0)));
    BaseHandler::new(
        config,
        StreamGateway(stdout()),
        input,
        ErrorStream::stderr(),
        environ,
    )
}

/// IIS puts SCRIPT_NAME in front of PATH_INFO: when `PATH_INFO + "/"` starts
/// with `SCRIPT_NAME + "/"`, that prefix is removed.
pub(crate) fn iis_fix_path_info(environ: &mut Vars) {
    let script_name = environ.get("SCRIPT_NAME").cloned().unwrap_or_default();
    if script_name.is_empty() {
        return;
    }
    let Some(path_info) = environ.get("PATH_INFO").cloned() else {
        return;
    };
    if format!("{path_info}/").starts_with(&format!("{script_name}/")) {
        environ.insert(
            "PATH_INFO".to_string(),
            path_info[script_name.len()..].to_string(),
        );
    }
}

/// `read_environ()`: this process's environment as a WSGI environ, with the
/// CGI request variables transcoded to native strings (see
/// [`transcode_environ`]).
pub fn read_environ() -> Vars {
    transcode_environ(std::env::vars_os())
}

/// Transcodes an environment (name, value pairs of OS strings) as
/// `read_environ` does on POSIX: the values of the request variables
/// (`SCRIPT_NAME PATH_INFO QUERY_STRING REQUEST_METHOD AUTH_TYPE
/// CONTENT_TYPE CONTENT_LENGTH HTTPS REMOTE_USER REMOTE_IDENT`, `HTTP_*`,
/// `SSL_*`, and `REDIRECT_` + any of those) become native strings, one char
/// per byte; every other value is decoded as UTF-8.
pub fn transcode_environ(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Vars {
    vars.into_iter()
        .map(|(key, value)| {
            let key = key.to_string_lossy().into_owned();
            let value = if is_transcoded(&key) {
                wasgi::util::from_bytes(&os_bytes(&value))
            } else {
                value.to_string_lossy().into_owned()
            };
            (key, value)
        })
        .collect()
}

fn is_transcoded(key: &str) -> bool {
    const CGI_VARS: [&str; 10] = [
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "REQUEST_METHOD",
        "AUTH_TYPE",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "HTTPS",
        "REMOTE_USER",
        "REMOTE_IDENT",
    ];
    CGI_VARS.contains(&key)
        || key.starts_with("HTTP_")
        || key.starts_with("SSL_")
        || key.strip_prefix("REDIRECT_").is_some_and(is_transcoded)
}

#[cfg(unix)]
fn os_bytes(value: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    value.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn os_bytes(value: &std::ffi::OsStr) -> Vec<u8> {
    value.to_string_lossy().into_owned().into_bytes()
}
