//! Host bindings for the `wasgi:wsgi/app` world.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "app",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "wasi": wasmtime_wasi::p2::bindings,
        "wasgi:wsgi/types.input-stream": crate::streams::InputStream,
        "wasgi:wsgi/types.error-stream": crate::streams::ErrorStream,
        "wasgi:wsgi/types.start-response": crate::app::StartResponse,
    },
});

/// Host bindings for the `wasgi:wsgi/command-line` world: the command an
/// app runs for `host run-python`.
pub mod command_line {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "command-line",
        exports: { default: async },
    });
}
