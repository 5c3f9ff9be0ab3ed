//! The `host` command under the name `wasgi`, for systems where `host` is
//! taken (on Debian and Ubuntu it is the DNS lookup tool).

fn main() -> std::process::ExitCode {
    host::cli::main()
}
