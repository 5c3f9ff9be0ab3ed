//! Stopping a request's work from outside: the client left, the request
//! ran past `--timeout`, or the server's drain ran out of time. Dropping the
//! work drops the guest's store, so the guest stops at its next epoch tick
//! at the latest.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use wasgi::ExcInfo;

/// Why a request was stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The client closed the connection before the response was complete.
    ClientLeft,
    /// The request ran longer than its wall-clock limit.
    TimedOut(Duration),
    /// The server stopped and its drain timeout ran out.
    Shutdown,
}

impl Reason {
    /// The status the request gets when its head has not gone out yet
    /// (nobody sees it when the client left; the access log does).
    pub(crate) fn status(self) -> &'static str {
        match self {
            Reason::ClientLeft => "499 Client Closed Request",
            Reason::TimedOut(_) => "504 Gateway Timeout",
            Reason::Shutdown => "503 Service Unavailable",
        }
    }

    /// The exception logged for it; `timeout` names the wall-clock limit
    /// (`--timeout`, or the manifest app's key).
    fn exception(self, timeout: &str) -> ExcInfo {
        match self {
            Reason::ClientLeft => ExcInfo::bare(
                "ConnectionAbortedError",
                "the client closed the connection before the response was complete; the app was stopped",
            ),
            Reason::TimedOut(limit) => ExcInfo::bare(
                "TimeoutError",
                format!(
                    "the request took longer than its {limit:?} ({timeout}); the app was stopped"
                ),
            ),
            Reason::Shutdown => ExcInfo::bare(
                "TimeoutError",
                "the server is shutting down and its --drain-timeout ran out; the request was cut",
            ),
        }
    }
}

/// One request's stop signal, shared by its task and its response.
#[derive(Clone)]
pub(crate) struct Stop {
    reason: Arc<watch::Sender<Option<Reason>>>,
    deadline: Option<(Instant, Duration)>,
    /// What set the wall-clock limit, for its message.
    timeout_set_by: Arc<str>,
    server: watch::Receiver<bool>,
}

impl Stop {
    /// A request that may run for `timeout` (`None`: no limit; set by
    /// `timeout_set_by`, `--timeout` or a manifest's key) and stops when
    /// `server` turns true.
    pub(crate) fn new(
        timeout: Option<Duration>,
        timeout_set_by: Arc<str>,
        server: watch::Receiver<bool>,
    ) -> Self {
        Stop {
            reason: Arc::new(watch::channel(None).0),
            deadline: timeout.map(|t| (Instant::now() + t, t)),
            timeout_set_by,
            server,
        }
    }

    /// The exception logged for a request stopped for `reason`.
    pub(crate) fn exception(&self, reason: Reason) -> ExcInfo {
        reason.exception(&self.timeout_set_by)
    }

    /// Stops the request for `reason`, unless it was stopped already.
    pub(crate) fn trigger(&self, reason: Reason) {
        self.reason.send_if_modified(|r| {
            let first = r.is_none();
            r.get_or_insert(reason);
            first
        });
    }

    /// Why the request was stopped, if it was.
    pub(crate) fn reason(&self) -> Option<Reason> {
        *self.reason.borrow()
    }

    /// Runs `work` until it ends, or until the request is stopped (then
    /// `work` is dropped).
    pub(crate) async fn run<F: Future>(&self, work: F) -> Result<F::Output, Reason> {
        let mut reason = self.reason.subscribe();
        let mut server = self.server.clone();
        let deadline = async {
            match self.deadline {
                Some((at, limit)) => {
                    tokio::time::sleep_until(at).await;
                    Reason::TimedOut(limit)
                }
                None => std::future::pending().await,
            }
        };
        let stopped = tokio::select! {
            done = work => return Ok(done),
            r = reason.wait_for(Option::is_some) => match r {
                Ok(r) => r.unwrap_or(Reason::ClientLeft),
                Err(_) => Reason::ClientLeft,
            },
            r = deadline => r,
            _ = server.wait_for(|stop| *stop) => Reason::Shutdown,
        };
        self.trigger(stopped);
        Err(self.reason.borrow().unwrap_or(stopped))
    }

    /// A guard that stops the request as `ClientLeft` when dropped armed,
    /// after `grace`.
    pub(crate) fn on_drop(&self, grace: Duration) -> StopOnDrop {
        StopOnDrop(Some((self.clone(), grace)))
    }
}

/// How long a request whose client left in the middle of the body has to
/// notice it by itself: its next write fails, and the app's `close()` runs.
/// A guest still computing after that is stopped.
pub(crate) const LEFT_MID_BODY_GRACE: Duration = Duration::from_millis(500);

/// Stops the request when dropped, unless disarmed: held by what the
/// client's side of a request owns (the pending response, the body hyper
/// is sending), so their going away means the client left.
pub(crate) struct StopOnDrop(Option<(Stop, Duration)>);

impl StopOnDrop {
    /// The request went on normally: dropping the guard does nothing.
    pub(crate) fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let Some((stop, grace)) = self.0.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) if !grace.is_zero() => {
                runtime.spawn(async move {
                    tokio::time::sleep(grace).await;
                    stop.trigger(Reason::ClientLeft);
                });
            }
            _ => stop.trigger(Reason::ClientLeft),
        }
    }
}
