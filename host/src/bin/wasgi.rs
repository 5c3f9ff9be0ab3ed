//! The `host` command under the name `wasgi`, for systems where `host` is
//! taken (on Debian and Ubuntu it is the DNS lookup tool).

#[path = "../build_python.rs"]
mod build_python;
#[path = "../cli.rs"]
mod cli;
#[path = "../kv_command.rs"]
mod kv_command;
#[path = "../native_deps.rs"]
mod native_deps;
#[path = "../run_python.rs"]
mod run_python;
#[path = "../scaffold.rs"]
mod scaffold;

fn main() -> std::process::ExitCode {
    cli::main()
}
