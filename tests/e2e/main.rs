//! End-to-end tests: the real `host` binary and library, real compiled
//! guest components (built by host/build.rs), real HTTP over 127.0.0.1.

mod common;

mod bench_smoke;
mod build;
mod cgi;
mod cli;
mod clients;
mod config;
mod deploy;
mod environ;
mod files;
mod fuzz_regressions;
mod handlers;
mod hostile;
mod keyvalue;
mod library;
mod manifest;
mod new_app;
mod p3_reuse;
mod packaged;
mod public_apps;
mod python;
mod python_apps;
mod python_build;
mod python_commands;
mod python_login;
mod sandbox;
mod scale_out;
mod serve;
mod soak;
mod sockets;
mod sqlite;
mod tls;
mod validate;
mod wasi_http;
