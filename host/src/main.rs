//! The `host` command: `host serve [APP.wasm]`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
