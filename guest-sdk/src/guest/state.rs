//! The bindings of the `state` world (`wasgi::kv`, `wasgi::config`).

#[allow(missing_docs)]
pub(crate) mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "state",
        generate_all,
    });
}
