//! wstd's TCP stream under tokio's `AsyncRead` and `AsyncWrite`, which
//! tokio-postgres' `connect_raw` takes: each read or write is one of
//! wstd's futures, kept until it completes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wstd::io::{AsyncRead as _, AsyncWrite as _};
use wstd::net::TcpStream;

type Pending<T> = Pin<Box<dyn Future<Output = io::Result<T>>>>;

/// A stream tokio-postgres can use.
pub struct Compat {
    stream: Rc<TcpStream>,
    reading: Option<Pending<Vec<u8>>>,
    /// Bytes read that the last `poll_read` had no room for.
    unread: Vec<u8>,
    writing: Option<Pending<usize>>,
    flushing: Option<Pending<()>>,
}

impl Compat {
    pub fn new(stream: TcpStream) -> Self {
        Compat {
            stream: Rc::new(stream),
            reading: None,
            unread: Vec::new(),
            writing: None,
            flushing: None,
        }
    }
}

impl AsyncRead for Compat {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.unread.is_empty() {
            let stream = self.stream.clone();
            let size = buf.remaining().max(8192);
            let reading = self.reading.get_or_insert_with(|| {
                Box::pin(async move {
                    let mut data = vec![0; size];
                    let n = (&*stream).read(&mut data).await?;
                    data.truncate(n);
                    Ok(data)
                })
            });
            let data = ready!(reading.as_mut().poll(cx));
            self.reading = None;
            self.unread = data?;
        }
        let n = self.unread.len().min(buf.remaining());
        buf.put_slice(&self.unread[..n]);
        self.unread.drain(..n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Compat {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // A write left pending is retried with the same bytes.
        let (stream, data) = (self.stream.clone(), buf.to_vec());
        let writing = self.writing.get_or_insert_with(|| {
            Box::pin(async move {
                (&*stream).write_all(&data).await?;
                Ok(data.len())
            })
        });
        let written = ready!(writing.as_mut().poll(cx));
        self.writing = None;
        Poll::Ready(written)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let stream = self.stream.clone();
        let flushing = (self.flushing)
            .get_or_insert_with(|| Box::pin(async move { (&*stream).flush().await }));
        let flushed = ready!(flushing.as_mut().poll(cx));
        self.flushing = None;
        Poll::Ready(flushed)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
