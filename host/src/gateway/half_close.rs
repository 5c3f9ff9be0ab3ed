//! Half-closed connections. A client may shut down its sending side once
//! its request is out and still wait for the answer (RFC 9112 §9.6);
//! wsgiref answers it, and so do we. hyper would take that end of stream
//! for a client that left and drop the request, so while a request is in
//! flight the end is kept from hyper and told to the request body instead,
//! which fails only if it was still waiting for bytes. A client that resets
//! the connection is still noticed at once; one that closed both sides is
//! noticed when its answer is written (its kernel refuses the bytes), or
//! at the request's `--timeout`.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What one connection's requests and its reader share.
#[derive(Default)]
pub(crate) struct Client {
    /// Requests whose responses are not finished yet.
    in_flight: AtomicUsize,
    /// The client has sent its last byte.
    done_sending: AtomicBool,
    /// The connection's reader, waiting for the last response to end.
    reader: Mutex<Option<Waker>>,
    /// A request body waiting for bytes.
    body: Mutex<Option<Waker>>,
}

impl Client {
    /// A request has arrived; its response is in flight until the guard
    /// is dropped.
    pub(crate) fn enter(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// True once the client has sent everything it will send; otherwise
    /// the task is woken when that happens.
    pub(crate) fn poll_done_sending(&self, cx: &mut Context<'_>) -> bool {
        if self.done_sending.load(Ordering::Acquire) {
            return true;
        }
        register(&self.body, cx);
        self.done_sending.load(Ordering::Acquire)
    }
}

fn register(slot: &Mutex<Option<Waker>>, cx: &mut Context<'_>) {
    let mut slot = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    *slot = Some(cx.waker().clone());
}

fn wake(slot: &Mutex<Option<Waker>>) {
    let waker = slot
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// A response in flight; held by the response body until hyper is done
/// with it.
pub(crate) struct InFlight(Arc<Client>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            wake(&self.0.reader);
        }
    }
}

/// A connection's socket as hyper sees it: its end of stream is held back
/// while a response is in flight.
pub(crate) struct HalfClose<S> {
    io: S,
    client: Arc<Client>,
}

impl<S> HalfClose<S> {
    pub(crate) fn new(io: S, client: Arc<Client>) -> Self {
        HalfClose { io, client }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for HalfClose<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let client = &this.client;
        if !client.done_sending.load(Ordering::Acquire) {
            let before = buf.filled().len();
            match Pin::new(&mut this.io).poll_read(cx, buf) {
                Poll::Ready(Ok(())) if buf.filled().len() == before && buf.remaining() > 0 => {
                    client.done_sending.store(true, Ordering::Release);
                    wake(&client.body);
                }
                other => return other,
            }
        }
        if client.in_flight.load(Ordering::Acquire) == 0 {
            return Poll::Ready(Ok(()));
        }
        register(&client.reader, cx);
        if client.in_flight.load(Ordering::Acquire) == 0 {
            return Poll::Ready(Ok(()));
        }
        Poll::Pending
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for HalfClose<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
