//! Responses that go out together: a request whose head is ready lets the
//! requests already waiting to run on its thread go first, so their
//! responses are written back to back.
//!
//! Writing a response to a client that sleeps wakes it, and on loopback
//! (a proxy or load balancer on the same machine) the wakeup is paid by
//! the writer: an inter-processor interrupt, a VM exit on a VM. A client
//! woken once reads every response written by then, so responses that go
//! out together cost one wakeup instead of one each.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Gives the thread to the tasks already waiting to run on it, once. The
/// task wakes itself, which puts it behind them in the scheduler's queue
/// without polling for new I/O first (as `tokio::task::yield_now` does):
/// with nothing waiting, it goes on at once.
pub(crate) fn others_first() -> impl Future<Output = ()> {
    OthersFirst(false)
}

struct OthersFirst(bool);

impl Future for OthersFirst {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
