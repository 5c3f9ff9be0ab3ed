//! The gateway: what happens to a request between the listener and the
//! app's executor, and the tenants it can go to.
//!
//! A request's path, one file per stage:
//!
//! 1. the listener ([`listener`]: accept, TLS ([`tls`]), HTTP/1 or
//!    HTTP/2, half-close ([`half_close`]); the drain is
//!    [`WSGIServer::serve_forever`](crate::WSGIServer::serve_forever)'s);
//! 2. the pipeline ([`pipeline`]): the RFC checks and the authority
//!    ([`checks`]), refusals ([`reply`]);
//! 3. the router ([`router`]): the tenant, and the path after mounting;
//! 4. the tenant's limits and admission, then its executor
//!    ([`crate::executor`]);
//! 5. the response ([`body`]), stopped from outside when it must be
//!    ([`stop`]), and its access line ([`access_log`]).
//!
//! Around it: the one way an app becomes a tenant ([`tenant_builder`]),
//! the manifest ([`manifest`]) and its deployment
//! ([`deployment`]: engine sizing, hot reload), the metrics and admin
//! endpoints ([`metrics`]), and serving it all until a signal
//! ([`serving`]).

pub(crate) mod access_log;
pub(crate) mod batch;
pub(crate) mod body;
pub(crate) mod checks;
pub mod deployment;
pub(crate) mod half_close;
pub mod json_log;
pub(crate) mod listener;
pub mod manifest;
pub mod metrics;
pub(crate) mod pipeline;
pub mod reload;
pub(crate) mod reply;
pub mod router;
pub mod serving;
pub(crate) mod stop;
pub mod tenant_builder;
pub mod tls;

/// Why a deployment did not load or serving stopped short: what to say,
/// and the exit status a command should end with.
#[derive(Debug)]
pub struct Failure {
    /// The exit status.
    pub exit_code: u8,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}
