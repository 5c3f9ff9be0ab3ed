//! Body handling between hyper and the handlers: the response body the
//! handler feeds, the request body `wsgi.input` reads.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::mpsc;

use super::half_close::{Client, InFlight};
use super::stop::StopOnDrop;
use crate::app::BoxFuture;
use crate::component::GuestBody;
use crate::streams::ChunkSource;

/// Whether a response with status `code` carries no body, whatever its
/// headers say (RFC 9110 §6.4.1): one to a `HEAD` request (`head`), a 204
/// or a 304. The one place this rule is written.
pub(crate) fn carries_no_body(head: bool, code: u16) -> bool {
    head || code == 204 || code == 304
}

/// A response body: fed by the handler through a channel, given whole, or
/// a guest's own body (`wasi:http`), which logs the access line when it
/// ends. Dropped before its end, it stops the request (the client left).
pub struct ResponseBody(Option<Inner>, Option<StopOnDrop>, Option<InFlight>);

enum Inner {
    Channel(BodyChannel),
    Guest(Box<LoggedBody>),
}

/// How a guest's body reports its end: the bytes it yielded, and the
/// error that cut it short, if one did.
type LogEnd = Box<dyn FnOnce(u64, Option<&io::Error>) + Send>;

/// A body that writes the access line, with the bytes it yielded, once:
/// when it ends, fails, or is dropped (the client left).
pub(crate) struct LoggedBody {
    body: GuestBody,
    sent: u64,
    log: Option<LogEnd>,
    /// An error held for one poll, as in [`BodyChannel`].
    failed: Option<io::Error>,
}

impl LoggedBody {
    fn finish(&mut self, error: Option<&io::Error>) {
        if let Some(log) = self.log.take() {
            log(self.sent, error);
        }
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        self.finish(None);
    }
}

struct BodyChannel {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    /// Bytes still owed by the `Content-Length` header, if there is one.
    owed: Option<u64>,
    /// An error received but not reported yet: it is held for one poll so
    /// hyper flushes the bytes before it, and the client sees the response
    /// up to the failure before the connection is cut.
    failed: Option<io::Error>,
}

impl ResponseBody {
    pub(crate) fn empty() -> Self {
        ResponseBody(None, None, None)
    }

    /// A body known whole: a channel holding it.
    pub(crate) fn full(data: Bytes) -> Self {
        let (tx, rx) = mpsc::channel(1);
        let owed = Some(data.len() as u64);
        // A fresh channel with room for one item accepts it.
        let _ = tx.try_send(Ok(data));
        ResponseBody::channel(rx, owed)
    }

    pub(crate) fn channel(rx: mpsc::Receiver<io::Result<Bytes>>, owed: Option<u64>) -> Self {
        ResponseBody(
            Some(Inner::Channel(BodyChannel {
                rx,
                owed,
                failed: None,
            })),
            None,
            None,
        )
    }

    /// This body, stopping the request if dropped before its end.
    pub(crate) fn guarded(mut self, guard: StopOnDrop) -> Self {
        self.1 = Some(guard);
        self
    }

    /// This body, counted as in flight on its connection until dropped.
    pub(crate) fn in_flight(mut self, in_flight: InFlight) -> Self {
        self.2 = Some(in_flight);
        self
    }

    /// The body is over (complete or failed): dropping it is no news.
    fn done(&mut self) {
        if let Some(mut guard) = self.1.take() {
            guard.disarm();
        }
    }

    /// A guest's body; `log` gets the bytes sent when it is over.
    pub(crate) fn guest(
        body: GuestBody,
        log: impl FnOnce(u64, Option<&io::Error>) + Send + 'static,
    ) -> Self {
        ResponseBody(
            Some(Inner::Guest(Box::new(LoggedBody {
                body,
                sent: 0,
                log: Some(Box::new(log)),
                failed: None,
            }))),
            None,
            None,
        )
    }
}

impl HttpBody for ResponseBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let polled = self.poll_inner(cx);
        // hyper stops polling at the end, at an error, or once the body
        // says it has ended.
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) || self.is_end_stream() {
            self.done();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            None => true,
            Some(Inner::Guest(logged)) => logged.body.is_end_stream(),
            // A body with a Content-Length has ended once it is all sent.
            Some(Inner::Channel(channel)) => channel.owed == Some(0) && channel.failed.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            None => SizeHint::with_exact(0),
            Some(Inner::Guest(logged)) => logged.body.size_hint(),
            Some(Inner::Channel(_)) => SizeHint::default(),
        }
    }
}

impl ResponseBody {
    fn poll_inner(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let channel = match self.0.as_mut() {
            None => return Poll::Ready(None),
            Some(Inner::Guest(logged)) => {
                if let Some(e) = logged.failed.take() {
                    logged.finish(Some(&e));
                    return Poll::Ready(Some(Err(e)));
                }
                return match Pin::new(&mut logged.body).poll_frame(cx) {
                    Poll::Ready(Some(Ok(frame))) => {
                        logged.sent += frame.data_ref().map_or(0, |d| d.len() as u64);
                        Poll::Ready(Some(Ok(frame)))
                    }
                    Poll::Ready(Some(Err(e))) => {
                        logged.failed = Some(e);
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                    Poll::Ready(None) => {
                        logged.finish(None);
                        Poll::Ready(None)
                    }
                    Poll::Pending => Poll::Pending,
                };
            }
            Some(Inner::Channel(channel)) => channel,
        };
        if let Some(e) = channel.failed.take() {
            return Poll::Ready(Some(Err(e)));
        }
        let failed = match channel.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(data))) => {
                if let Some(owed) = channel.owed.as_mut() {
                    *owed = owed.saturating_sub(data.len() as u64);
                }
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            Poll::Ready(Some(Err(e))) => e,
            Poll::Ready(None) => match channel.owed {
                Some(owed) if owed > 0 => io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the body ended {owed} bytes short of its Content-Length"),
                ),
                _ => return Poll::Ready(None),
            },
            Poll::Pending => return Poll::Pending,
        };
        channel.failed = Some(failed);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// hyper's request body, failing once it grows past `max` bytes: the
/// source of `wsgi.input`, and the body a `wasi:http` guest reads.
pub(crate) struct RequestBody {
    pub(crate) body: Incoming,
    pub(crate) seen: u64,
    pub(crate) max: Option<u64>,
    /// Whether the client has stopped sending.
    pub(crate) client: Arc<Client>,
}

impl HttpBody for RequestBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let polled = match Pin::new(&mut self.body).poll_frame(cx) {
            // hyper has everything the client sent before it stopped
            // sending (see `half_close`): nothing more can come.
            Poll::Pending if self.client.poll_done_sending(cx) => {
                return Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client stopped sending before the request body was complete",
                ))));
            }
            Poll::Pending => return Poll::Pending,
            Poll::Ready(polled) => polled,
        };
        Poll::Ready(match polled {
            None => None,
            Some(Err(e)) => Some(Err(io::Error::new(io::ErrorKind::ConnectionAborted, e))),
            Some(Ok(frame)) => {
                self.seen += frame.data_ref().map_or(0, |d| d.len() as u64);
                match self.max.filter(|&max| self.seen > max) {
                    Some(max) => Some(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "the request body is larger than this server accepts ({max} bytes, --max-body-size)"
                        ),
                    ))),
                    None => Some(Ok(frame)),
                }
            }
        })
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl ChunkSource for RequestBody {
    fn next_chunk(&mut self) -> BoxFuture<'_, io::Result<Option<Bytes>>> {
        Box::pin(async move {
            while let Some(frame) = self.frame().await {
                if let Ok(data) = frame?.into_data() {
                    return Ok(Some(data));
                }
            }
            Ok(None)
        })
    }
}
