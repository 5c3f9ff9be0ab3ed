//! `spin:variables@3.0.0` (Spin's Rust SDK 7, a WASIp3 async function):
//! the app's configuration values under Spin's name for them. Spin's
//! variable names are lower-case letters, digits and `_`, starting with a
//! letter.

use wasmtime::component::{Accessor, HasData, Linker};

use super::ConfigVars;
use crate::capability::CapabilitySettings;
use crate::component::RequestCtx;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "spin:variables/imports@3.0.0",
        imports: { default: trappable },
    });
}

use bindings::spin::variables::variables::{self, Error};

/// What the function sees: the app's settings.
struct HasVars;

impl HasData for HasVars {
    type Data<'a> = &'a CapabilitySettings;
}

pub(super) fn add_to_linker(linker: &mut Linker<RequestCtx>) -> wasmtime::Result<()> {
    variables::add_to_linker::<_, HasVars>(linker, |ctx| &ctx.capabilities)
}

impl variables::Host for &CapabilitySettings {}

impl<T> variables::HostWithStore<T> for HasVars {
    async fn get(
        accessor: &Accessor<T, Self>,
        name: String,
    ) -> wasmtime::Result<Result<String, Error>> {
        let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Ok(Err(Error::InvalidName(format!(
                "{name:?}: a variable's name is lower-case letters, digits and '_'"
            ))));
        }
        let value = accessor.with(|mut access| {
            let vars = access.get().get::<ConfigVars>();
            vars.and_then(|v| v.values.get(&name).cloned())
        });
        Ok(value.ok_or(Error::Undefined(name)))
    }
}
