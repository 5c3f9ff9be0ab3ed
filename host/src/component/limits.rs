//! Per-request limits enforced through epoch interruption.

use std::time::Duration;

use wasmtime::UpdateDeadline;

use super::{RequestCtx, engine};

/// The epoch callback of a request's store: at every tick the guest yields
/// to other requests, so a busy guest cannot starve the worker threads; and
/// the ticks it ran through without a pause are its CPU time, checked
/// against `limit`. (A guest resuming after a wait sees a deadline that
/// expired while it was not running: that tick is not counted.)
pub(super) fn cpu_meter(
    limit: Option<Duration>,
) -> impl FnMut(wasmtime::StoreContextMut<'_, RequestCtx>) -> wasmtime::Result<UpdateDeadline>
+ Send
+ Sync
+ 'static {
    let tick_ms = engine::EPOCH_TICK.as_millis().max(1);
    let allowed = limit.map(|l| (l.as_millis() / tick_ms) as u64);
    let mut last = engine::ticks();
    let mut used = 0u64;
    move |_store| {
        let now = engine::ticks();
        if now <= last + 1 {
            used += 1;
        }
        last = now;
        match (allowed, limit) {
            (Some(allowed), Some(limit)) if used > allowed => {
                Err(wasmtime::Error::new(CpuLimitExceeded(limit)))
            }
            _ => Ok(UpdateDeadline::Yield(1)),
        }
    }
}

/// A request's guest ran past its CPU time limit.
#[derive(Debug)]
pub struct CpuLimitExceeded(pub Duration);

impl std::fmt::Display for CpuLimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the app used more than its {:?} of CPU time for this request (--cpu-limit)",
            self.0
        )
    }
}

impl std::error::Error for CpuLimitExceeded {}
