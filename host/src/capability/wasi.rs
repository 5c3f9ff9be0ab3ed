//! WASI itself, 0.2 and 0.3: the interfaces every component may import.
//! What a guest can reach through them is what the other capabilities
//! give its context (files, environment); nothing else of the host.

use wasmtime::component::Linker;

use super::Capability;
use crate::component::RequestCtx;

/// `wasi:cli`, `wasi:clocks`, `wasi:filesystem`, `wasi:io`,
/// `wasi:random`, `wasi:sockets`.
pub(crate) struct Wasi;

impl Capability for Wasi {
    fn name(&self) -> &'static str {
        "WASI"
    }

    fn provides(&self) -> &'static [&'static str] {
        &[
            "wasi:cli",
            "wasi:clocks",
            "wasi:filesystem",
            "wasi:io",
            "wasi:random",
            "wasi:sockets",
        ]
    }

    fn add_to_linker(&self, linker: &mut Linker<RequestCtx>) -> wasmtime::Result<()> {
        wasmtime_wasi::p2::add_to_linker_async(linker)?;
        if !super::concurrent(linker) {
            return Ok(());
        }
        wasmtime_wasi::p3::add_to_linker(linker)
    }
}
