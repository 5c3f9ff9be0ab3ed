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
mod command;
mod ctx;
pub(crate) mod engine;
mod function_cache;
mod host;
mod limits;
mod load;
mod options;
mod p3;
mod p3_reuse;
mod wasgi;
mod wasi_http;

pub use crate::capability::outbound::{BadDestination, OutboundPolicy};
pub use crate::capability::preopens::Preopen;
pub use command::CommandError;
pub use ctx::RequestCtx;
pub use engine::{
    EngineOptions, chosen_cache_dir, default_cache_dir, default_tools_dir, new_engine,
    new_engine_with,
};
pub use host::{CurrentRequest, LogOutput};
pub use limits::{CpuLimitExceeded, CpuMeter, MemoryBudget, MemoryLimitExceeded, set_heavy_lanes};
pub use load::{
    APPLICATION_EXPORT, Compiled, LoadError, Loaded, WASI_HTTP_EXPORT, WASI_HTTP_P3_EXPORT,
    check_component, load_component, load_component_bytes, strip_script_line, trim_heap,
};
pub use options::{
    AppOptions, DEFAULT_MAX_MEMORY, DEFAULT_MAX_QUEUE, Instantiated, P3_REUSE, Reuse, Usage,
    default_memory_budget, max_concurrency,
};
pub use wasgi::WasmApp;
pub use wasi_http::{GuestBody, RequestBody, RequestLine, WasiHttpApp};

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
    let traceback = err
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .map(|bt| traceback(bt, name))
        .unwrap_or_default();
    let message = if let Some(limit) = err.downcast_ref::<CpuLimitExceeded>() {
        limit.to_string()
    } else if let Some(limit) = err.downcast_ref::<MemoryLimitExceeded>() {
        limit.to_string()
    } else if let Some(trap) = err.downcast_ref::<wasmtime::Trap>() {
        stack_overflow(*trap, &traceback).unwrap_or_else(|| trap.to_string())
    } else {
        format!("{err:#}")
    };
    ExcInfo {
        kind: kind.to_string(),
        message,
        traceback,
    }
}

/// A wasm backtrace as Python traceback lines, outermost first. Frames
/// with line tables (a guest built with `debug = "line-tables-only"`) name
/// their file and line, inlined calls included; the Rust runtime's own
/// frames (the panic machinery, `std`, `core`, `alloc`) are left out, as
/// they say nothing about the app.
fn traceback(bt: &wasmtime::WasmBacktrace, name: &str) -> Vec<String> {
    let demangle = |f: &str| format!("{:#}", rustc_demangle::demangle(f));
    let mut lines = Vec::new();
    for frame in bt.frames().iter().rev() {
        let calls: Vec<(String, Option<&str>, Option<u32>)> = if frame.symbols().is_empty() {
            let func = frame.func_name().map(demangle);
            let func = func.unwrap_or_else(|| format!("<wasm function {}>", frame.func_index()));
            vec![(func, None, None)]
        } else {
            // Outermost first: the function itself, then what was inlined
            // in it.
            let symbols = frame.symbols().iter().rev();
            symbols
                .map(|s| {
                    let func = s.name().map(demangle).unwrap_or_else(|| "<unknown>".into());
                    (func, s.file(), s.line())
                })
                .collect()
        };
        for (func, file, line) in calls {
            if is_runtime(&func, file) || is_sdk(&func, file) {
                continue;
            }
            let file = file.map(source_path);
            lines.push(match (file, line) {
                (Some(file), Some(line)) => format!("  File \"{file}\", line {line}, in {func}"),
                _ => format!("  File \"{name}\", in {func}"),
            });
        }
    }
    collapse_repeats(lines)
}

/// A trap that is a stack overflow, said so: wasmtime's own limit on the
/// call stack, or (the same fault in a guest whose stack lives in its
/// linear memory, as Rust's and C's do) an out-of-bounds access at the end
/// of deep recursion.
fn stack_overflow(trap: wasmtime::Trap, traceback: &[String]) -> Option<String> {
    let deep = traceback.iter().any(|line| {
        line.strip_prefix("  [Previous line repeated ")
            .and_then(|rest| rest.split(' ').next()?.parse::<usize>().ok())
            .is_some_and(|n| n >= 8)
    });
    match trap {
        wasmtime::Trap::StackOverflow => Some(format!(
            "stack overflow: the guest's calls went deeper than its call stack ({trap})"
        )),
        wasmtime::Trap::MemoryOutOfBounds if deep => Some(format!(
            "stack overflow: the guest's stack ran out of its memory after deep recursion ({trap})"
        )),
        _ => None,
    }
}

/// Runs of one line (deep recursion) shortened as Python does: three
/// times, then `[Previous line repeated N more times]`.
fn collapse_repeats(lines: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(lines.len());
    let mut run = 0;
    let note = |out: &mut Vec<String>, run: usize| {
        if run > 3 {
            out.push(format!("  [Previous line repeated {} more times]", run - 3));
        }
    };
    let mut previous: Option<String> = None;
    for line in lines {
        if previous.as_ref() == Some(&line) {
            run += 1;
        } else {
            note(&mut out, run);
            run = 1;
            previous = Some(line.clone());
        }
        if run <= 3 {
            out.push(line);
        }
    }
    note(&mut out, run);
    out
}

/// Whether a frame is the guest SDK's (its sources, or the export glue
/// `wasgi::export!` expands to), not the app's: the traceback shows the
/// app's own frames.
fn is_sdk(func: &str, file: Option<&str>) -> bool {
    let sdk_file = file.is_some_and(|f| {
        f.contains("/guest-sdk/src/")
            || f.split('/').any(|dir| {
                dir.strip_prefix("guest-sdk-")
                    .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
            })
    });
    sdk_file || func == "export_call" || func.starts_with("_export_")
}

/// A source path as its line tables give it, without a build directory in
/// front of an absolute one: wasi-libc's read
/// `wasisdk://v30.0/build/.../wasisdk://v30.0/src/wasi-libc/...`.
fn source_path(file: &str) -> &str {
    match file.rfind("://") {
        Some(at) if file[..at].contains("://") => {
            let scheme = file[..at]
                .rfind(|c: char| !c.is_ascii_alphanumeric())
                .map_or(0, |i| i + 1);
            &file[scheme..]
        }
        _ => file,
    }
}

/// Whether a frame belongs to the Rust runtime rather than to the app.
fn is_runtime(func: &str, file: Option<&str>) -> bool {
    if file.is_some_and(|f| f.starts_with("/rustc/") || f.contains("/library/std/")) {
        return true;
    }
    [
        "std::",
        "core::",
        "alloc::",
        "__rustc::",
        "<std::",
        "<core::",
        "<alloc::",
    ]
    .iter()
    .any(|p| func.starts_with(p))
        || matches!(func, "abort" | "__rust_start_panic" | "rust_panic")
}

#[cfg(test)]
mod tests {
    #[test]
    fn sdk_frames_are_left_out_and_libc_paths_read_once() {
        let libc = "wasisdk://v30.0/build/sysroot/wasi-libc-wasm32-wasip2-build-prefix/src/wasi-libc-wasm32-wasip2-build-build/wasisdk://v30.0/src/wasi-libc/dlmalloc/src/malloc.c";
        assert_eq!(
            super::source_path(libc),
            "wasisdk://v30.0/src/wasi-libc/dlmalloc/src/malloc.c"
        );
        assert_eq!(super::source_path("/src/app/lib.rs"), "/src/app/lib.rs");
        assert!(super::is_sdk("call", Some("/w/guest-sdk/src/guest/mod.rs")));
        assert!(super::is_sdk(
            "call",
            Some("/c/registry/src/x/guest-sdk-0.1.0/src/app.rs")
        ));
        assert!(super::is_sdk("export_call", Some("/w/app/src/lib.rs")));
        assert!(super::is_sdk("_export_call_cabi<app::X>", None));
        assert!(!super::is_sdk(
            "hostile",
            Some("/w/examples/hostile/src/lib.rs")
        ));
    }

    #[test]
    fn repeated_frames_collapse_as_in_python() {
        let lines = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let got = super::collapse_repeats(lines(&["a", "b", "b", "b", "b", "b", "c", "c"]));
        assert_eq!(
            got,
            lines(&[
                "a",
                "b",
                "b",
                "b",
                "  [Previous line repeated 2 more times]",
                "c",
                "c"
            ])
        );
    }
}
