//! Body handling between hyper and the handlers: the response body the
//! handler feeds, the request body `wsgi.input` reads.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::mpsc;

use crate::app::BoxFuture;
use crate::streams::ChunkSource;

/// A response body fed by the handler through a channel, or given whole;
/// `None` is empty.
pub struct ResponseBody(Option<BodyChannel>);

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
    pub(super) fn empty() -> Self {
        ResponseBody(None)
    }

    /// A body known whole: a channel holding it.
    pub(super) fn full(data: Bytes) -> Self {
        let (tx, rx) = mpsc::channel(1);
        let owed = Some(data.len() as u64);
        // A fresh channel with room for one item accepts it.
        let _ = tx.try_send(Ok(data));
        ResponseBody::channel(rx, owed)
    }

    pub(super) fn channel(rx: mpsc::Receiver<io::Result<Bytes>>, owed: Option<u64>) -> Self {
        ResponseBody(Some(BodyChannel {
            rx,
            owed,
            failed: None,
        }))
    }
}

impl HttpBody for ResponseBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let Some(channel) = self.0.as_mut() else {
            return Poll::Ready(None);
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

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.0 {
            None => SizeHint::with_exact(0),
            Some(_) => SizeHint::default(),
        }
    }
}

/// hyper's request body as the source of `wsgi.input`, failing once it
/// grows past `max` bytes.
pub(super) struct RequestBody {
    pub(super) body: Incoming,
    pub(super) seen: u64,
    pub(super) max: Option<u64>,
}

impl ChunkSource for RequestBody {
    fn next_chunk(&mut self) -> BoxFuture<'_, io::Result<Option<Bytes>>> {
        Box::pin(async move {
            loop {
                match self.body.frame().await {
                    None => return Ok(None),
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            self.seen += data.len() as u64;
                            if let Some(max) = self.max.filter(|&max| self.seen > max) {
                                return Err(io::Error::new(
                                    io::ErrorKind::InvalidData,
                                    format!(
                                        "the request body is larger than this server accepts ({max} bytes, --max-body-size)"
                                    ),
                                ));
                            }
                            return Ok(Some(data));
                        }
                    }
                    Some(Err(e)) => {
                        return Err(io::Error::new(io::ErrorKind::ConnectionAborted, e));
                    }
                }
            }
        })
    }
}
