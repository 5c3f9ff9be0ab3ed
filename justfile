# Everyday recipes. `just` is optional: each recipe is a plain cargo command.

# Serve the demo app on http://127.0.0.1:8000/
serve app="":
    cargo run --release -p host -- serve {{app}}

# Run every test (what CI runs)
test:
    cargo test --workspace

# Build the guest apps (examples/*.wasm); any host build does this too
guests:
    cargo build -p host

# Format and lint the host workspace and the guest workspace
lint:
    cargo fmt --all -- --check
    cargo fmt --all --manifest-path examples/Cargo.toml -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy -p guest-sdk --target wasm32-wasip2 -- -D warnings
    cargo clippy -p guest-sdk --target wasm32-wasip2 --features wasi-http -- -D warnings
    cargo clippy --manifest-path examples/Cargo.toml --workspace --target wasm32-wasip2 -- -D warnings

# Format everything
fmt:
    cargo fmt --all
    cargo fmt --all --manifest-path examples/Cargo.toml

# Install wasmtime-cli 48.0.8 into a cache (once) and check the wasi:http
# components under the real `wasmtime serve -Scli` (not part of CI)
wasmtime-check:
    WASGI_WASMTIME="$(scripts/install-wasmtime.sh)" cargo test -p host --test e2e under_wasmtime_serve -- --ignored --nocapture

# Fuzz one target for SECONDS (installs cargo-fuzz into a cache once); a
# crash is kept in fuzz/regressions/, which `cargo test` replays
fuzz-environ seconds="120":
    scripts/fuzz.sh environ {{seconds}}

fuzz-headers seconds="120":
    scripts/fuzz.sh headers {{seconds}}

fuzz-cgi seconds="120":
    scripts/fuzz.sh cgi {{seconds}}

fuzz-shift-path-info seconds="120":
    scripts/fuzz.sh shift_path_info {{seconds}}

fuzz-validator seconds="120":
    scripts/fuzz.sh validator {{seconds}}

# 60 s at 256 connections against a release build, good and faulty
# requests mixed; writes target/bench/soak.md (CI runs a 5 s version)
soak:
    cargo build --release -p host
    mkdir -p target/bench
    WASGI_HOST_BIN="$PWD/target/release/host" WASGI_SOAK_SECS=60 WASGI_SOAK_REPORT="$PWD/target/bench/soak.md" cargo test -p host --test e2e soak -- --nocapture

# The container image of deploy/Dockerfile (docker, or podman where that
# is what there is); .dockerignore keeps target/ out of the context
docker tag="wasgi:latest":
    if command -v docker >/dev/null && docker info >/dev/null 2>&1; then docker build -f deploy/Dockerfile -t {{tag}} .; else podman build -f deploy/Dockerfile -t {{tag}} .; fi

# The one-run benchmark (installs wrk, wasmtime-cli 48.0.8 and gunicorn into
# caches once): writes BENCHMARKS.md and benchmarks.svg
bench:
    python3 benches/bench.py --reuse 1000
