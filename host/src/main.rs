//! The `host` command: `host serve [APP.wasm]`.

fn main() -> std::process::ExitCode {
    host::cli::main()
}
