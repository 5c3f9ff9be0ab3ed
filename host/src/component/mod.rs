//! The wasmtime layer: components as servable apps, one executor per
//! guest ABI (like Spin's trigger-http):
//!
//! * [`WasmApp`] (`wasgi.rs`): the wasgi world, `wasgi:wsgi/application`,
//!   an [`Application`](crate::Application) run by the WSGI handlers;
//! * [`WasiHttpApp`] (`wasi_http.rs`, `p3.rs`): `wasi:http/incoming-handler`
//!   (WASIp2) or `wasi:http/handler` (WASIp3), the request handed over as
//!   is.
//!
//! One [`Engine`](wasmtime::Engine) (pooling allocator, epoch interruption)
//! compiles each component once; [`load_component`] tells the kinds apart
//! by their exports and pre-instantiates them. Every request gets a fresh
//! `Store` and instance ([`RequestCtx`]), so requests share no guest state
//! and a trap ends only its own request.

mod bindings;
mod body;
mod ctx;
mod engine;
mod host;
mod limits;
mod load;
mod options;
mod outbound;
mod p3;
mod wasgi;
mod wasi_http;

pub use ctx::RequestCtx;
pub use engine::{EngineOptions, default_cache_dir, new_engine, new_engine_with};
pub use limits::{CpuLimitExceeded, CpuMeter, MemoryBudget, MemoryLimitExceeded, set_heavy_lanes};
pub use load::{
    APPLICATION_EXPORT, Compiled, LoadError, Loaded, WASI_HTTP_EXPORT, WASI_HTTP_P3_EXPORT,
    load_component, load_component_bytes, strip_script_line,
};
pub use options::{AppOptions, DEFAULT_MAX_MEMORY, Preopen, default_memory_budget};
pub use outbound::{BadDestination, OutboundPolicy};
pub use wasgi::WasmApp;
pub use wasi_http::{GuestBody, RequestBody, WasiHttpApp};

use ::wasgi::ExcInfo;

/// A trap (or any wasmtime error) as the exception the handler logs: kind
/// `WasmTrap`, the trap message, and the wasm backtrace as traceback lines
/// (outermost frame first).
pub fn trap_to_exc(err: wasmtime::Error, name: &str) -> ExcInfo {
    let kind = if err.downcast_ref::<CpuLimitExceeded>().is_some() {
        "TimeoutError"
    } else if err.downcast_ref::<MemoryLimitExceeded>().is_some() {
        "MemoryError"
    } else if err.downcast_ref::<wasmtime::Trap>().is_some() {
        "WasmTrap"
    } else {
        "WasmError"
    };
    let mut traceback = Vec::new();
    if let Some(bt) = err.downcast_ref::<wasmtime::WasmBacktrace>() {
        for frame in bt.frames().iter().rev() {
            let func = frame
                .func_name()
                .map(|f| format!("{:#}", rustc_demangle::demangle(f)))
                .unwrap_or_else(|| format!("<wasm function {}>", frame.func_index()));
            traceback.push(format!("  File \"{name}\", in {func}"));
        }
    }
    let message = if let Some(limit) = err.downcast_ref::<CpuLimitExceeded>() {
        limit.to_string()
    } else if let Some(limit) = err.downcast_ref::<MemoryLimitExceeded>() {
        limit.to_string()
    } else if let Some(trap) = err.downcast_ref::<wasmtime::Trap>() {
        trap.to_string()
    } else {
        format!("{err:#}")
    };
    ExcInfo {
        kind: kind.to_string(),
        message,
        traceback,
    }
}
