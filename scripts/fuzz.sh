#!/usr/bin/env bash
# Runs one fuzz target for a while: scripts/fuzz.sh NAME [SECONDS]
# (targets: environ headers cgi shift_path_info validator; default 120 s).
# Installs cargo-fuzz into a cache once. libFuzzer and the sanitizer need
# nightly features; the pinned stable toolchain provides them with
# RUSTC_BOOTSTRAP=1 (no nightly download). A crash is copied to
# fuzz/regressions/NAME/, which the normal test suite replays.
set -euo pipefail
name="${1:?usage: scripts/fuzz.sh NAME [SECONDS]}"
seconds="${2:-120}"
cd "$(dirname "$0")/.."
root="${WASGI_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wasgi/tools}/cargo-fuzz"
if [ ! -x "$root/bin/cargo-fuzz" ]; then
    echo "installing cargo-fuzz into $root (once)" >&2
    cargo install cargo-fuzz --locked --root "$root" >&2
fi
mkdir -p "fuzz/corpus/$name" "fuzz/regressions/$name"
cp -n fuzz/regressions/"$name"/* "fuzz/corpus/$name/" 2>/dev/null || true
features=()
# The cgi target runs the host's handlers, so it builds wasmtime (long).
[ "$name" = cgi ] && features=(--features cgi)
status=0
RUSTC_BOOTSTRAP=1 "$root/bin/cargo-fuzz" run --fuzz-dir fuzz "${features[@]}" "$name" "fuzz/corpus/$name" \
    -- -max_total_time="$seconds" -max_len=4096 || status=$?
if [ "$status" -ne 0 ]; then
    for crash in fuzz/artifacts/"$name"/*; do
        [ -f "$crash" ] && cp "$crash" "fuzz/regressions/$name/" && echo "kept $crash as a regression test" >&2
    done
fi
exit "$status"
