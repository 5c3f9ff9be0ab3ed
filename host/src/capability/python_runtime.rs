//! Host bindings of the `wasgi:wsgi/python-runtime` world: the interfaces
//! the Python bridge imports besides the app world, each served by its
//! own capability ([`super::kdf`], [`super::file_lock`], [`super::tls`]).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "wasgi:wsgi/python-runtime",
    imports: { default: async | trappable },
    with: {
        "wasgi:wsgi/file-lock.lock": crate::capability::file_lock::HeldLock,
        "wasgi:wsgi/tls.client": crate::capability::tls::TlsClient,
    },
});

pub(crate) use self::wasgi::wsgi::{file_lock, kdf, tls};
