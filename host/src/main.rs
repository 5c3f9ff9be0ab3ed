//! The `host` command: `host serve [APP.wasm]`.

mod build_python;
mod cli;
mod reload;
mod scaffold;

fn main() -> std::process::ExitCode {
    cli::main()
}
