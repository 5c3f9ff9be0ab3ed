//! The `host` command: `host serve [APP.wasm]`.

mod build_python;
mod cli;
mod kv_command;
mod native_deps;
mod run_python;
mod scaffold;

fn main() -> std::process::ExitCode {
    cli::main()
}
