//! The `host` command: `host serve [APP.wasm]`.

mod cli;
mod scaffold;

fn main() -> std::process::ExitCode {
    cli::main()
}
