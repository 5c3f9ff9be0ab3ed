//! The host half of the `wasgi:wsgi/types` interface: `wsgi.input`,
//! `wsgi.errors` and `start_response` as resources the guest calls.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime::component::Resource;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use super::RequestCtx;
use super::bindings::wasgi::wsgi::types::{
    ExcInfo as WitExcInfo, Host, HostErrorStream, HostInputStream, HostStartResponse,
};
use crate::app::StartResponse;
use crate::streams::{ErrorStream, InputStream};
use wasgi::ExcInfo;

pub fn exc_from_wit(e: WitExcInfo) -> ExcInfo {
    ExcInfo {
        kind: e.kind,
        message: e.message,
        traceback: e.traceback,
    }
}

fn exc_to_wit(e: ExcInfo) -> WitExcInfo {
    WitExcInfo {
        kind: e.kind,
        message: e.message,
        traceback: e.traceback,
    }
}

fn io_to_wit(e: std::io::Error) -> WitExcInfo {
    exc_to_wit(ExcInfo::from(e))
}

impl Host for RequestCtx {}

impl HostInputStream for RequestCtx {
    async fn read(
        &mut self,
        this: Resource<InputStream>,
        size: Option<u64>,
    ) -> wasmtime::Result<Result<Vec<u8>, WitExcInfo>> {
        let input = self.table.get_mut(&this)?;
        Ok(input
            .read(size)
            .await
            .map(|b| b.to_vec())
            .map_err(io_to_wit))
    }

    async fn readline(
        &mut self,
        this: Resource<InputStream>,
        size: Option<u64>,
    ) -> wasmtime::Result<Result<Vec<u8>, WitExcInfo>> {
        let input = self.table.get_mut(&this)?;
        Ok(input
            .readline(size)
            .await
            .map(|b| b.to_vec())
            .map_err(io_to_wit))
    }

    async fn readlines(
        &mut self,
        this: Resource<InputStream>,
        hint: Option<u64>,
    ) -> wasmtime::Result<Result<Vec<Vec<u8>>, WitExcInfo>> {
        let input = self.table.get_mut(&this)?;
        Ok(input
            .readlines(hint)
            .await
            .map(|lines| lines.into_iter().map(|b| b.to_vec()).collect())
            .map_err(io_to_wit))
    }

    async fn drop(&mut self, this: Resource<InputStream>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl HostErrorStream for RequestCtx {
    async fn write(&mut self, this: Resource<ErrorStream>, s: String) -> wasmtime::Result<()> {
        self.table.get(&this)?.write(&s);
        Ok(())
    }

    async fn writelines(
        &mut self,
        this: Resource<ErrorStream>,
        lines: Vec<String>,
    ) -> wasmtime::Result<()> {
        self.table.get(&this)?.writelines(lines);
        Ok(())
    }

    async fn flush(&mut self, this: Resource<ErrorStream>) -> wasmtime::Result<()> {
        self.table.get(&this)?.flush();
        Ok(())
    }

    async fn drop(&mut self, this: Resource<ErrorStream>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl HostStartResponse for RequestCtx {
    async fn call(
        &mut self,
        this: Resource<StartResponse>,
        status: String,
        headers: Vec<(String, String)>,
        exc_info: Option<WitExcInfo>,
    ) -> wasmtime::Result<Result<(), WitExcInfo>> {
        let start_response = self.table.get(&this)?.clone();
        Ok(start_response
            .call(status, headers, exc_info.map(exc_from_wit))
            .await
            .map_err(exc_to_wit))
    }

    async fn write(
        &mut self,
        this: Resource<StartResponse>,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<(), WitExcInfo>> {
        let start_response = self.table.get(&this)?.clone();
        Ok(start_response.write(data).await.map_err(exc_to_wit))
    }

    async fn drop(&mut self, this: Resource<StartResponse>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

/// The guest's stdout and stderr: lines go to the server log, never to the
/// response (under CGI, the process's stdout *is* the response).
pub struct LogOutput(pub ErrorStream);

impl IsTerminal for LogOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LogWriter(self.0.clone()))
    }
}

struct LogWriter(ErrorStream);

impl AsyncWrite for LogWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.write(&String::from_utf8_lossy(buf));
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.0.flush();
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
