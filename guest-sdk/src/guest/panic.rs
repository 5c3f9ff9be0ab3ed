//! How a guest panic is reported: the message and where it was raised,
//! on `wsgi.errors` (the component's stderr). The host's traceback then
//! lists the app's frames. Rust's own hook would add a hint about
//! `RUST_BACKTRACE`, which cannot apply inside a component.

use std::io::Write;
use std::sync::Once;

/// Installs the hook, once per instance.
pub(crate) fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("Box<dyn Any>");
            let line = match info.location() {
                Some(at) => format!(
                    "panicked at {}:{}:{}:\n{message}\n",
                    at.file(),
                    at.line(),
                    at.column()
                ),
                None => format!("panicked:\n{message}\n"),
            };
            let _ = std::io::stderr().write_all(line.as_bytes());
        }));
    });
}
