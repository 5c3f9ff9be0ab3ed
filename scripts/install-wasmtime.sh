#!/usr/bin/env bash
# Installs wasmtime-cli 48.0.8 (the wasmtime the host is built on) from
# crates.io into a cache, once, and prints the path of its `wasmtime`.
# Used by `just wasmtime-check` and the benchmark; never by CI (a cold
# install compiles for many minutes).
set -euo pipefail
version=48.0.8
root="${WASGI_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wasgi/tools}/wasmtime-$version"
bin="$root/bin/wasmtime"
if [ ! -x "$bin" ] || ! "$bin" --version 2>/dev/null | grep -q "$version"; then
    echo "installing wasmtime-cli $version into $root (once; this compiles for several minutes)" >&2
    cargo install wasmtime-cli --version "=$version" --locked --root "$root" >&2
fi
echo "$bin"
