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
