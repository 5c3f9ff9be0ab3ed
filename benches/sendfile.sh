#!/usr/bin/env bash
# Throughput of file bodies, three ways, on a 100 MB file served by the
# static-files example (release build, loopback, curl as the client):
#   host-sent   wsgi.file_wrapper: the host reads the file itself in 256 KiB blocks
#   host-8k     --no-sendfile: the host reads it in the wrapper's 8 KiB blocks
#   guest-8k    --no-file-wrapper: the guest reads it and passes 8 KiB chunks out
# Writes target/bench/sendfile.md (best of 5 runs each).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p host >/dev/null 2>&1
host=target/release/host
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
head -c $((100 * 1024 * 1024)) /dev/urandom > "$work/big.bin"
mkdir -p target/bench
report=target/bench/sendfile.md

run() {
    local name=$1; shift
    "$host" serve examples/static-files.wasm --dir "$work" --port 0 "$@" > "$work/out" 2>/dev/null &
    local pid=$!
    for _ in $(seq 100); do grep -q Serving "$work/out" 2>/dev/null && break; sleep 0.05; done
    local url
    url=$(sed -n 's/.*(\(http:[^)]*\)).*/\1/p' "$work/out")big.bin
    local best=0
    for _ in 1 2 3 4 5; do
        local bps
        bps=$(curl -s -o /dev/null -w '%{speed_download}' "$url")
        best=$(python3 -c "print(max($best, $bps))")
    done
    kill $pid; wait $pid 2>/dev/null || true
    python3 -c "print(f'| $name | {$best / 1e6:.0f} MB/s |')" >> "$report"
}

{
    echo "# File bodies: 100 MB over loopback ($(date -u +%Y-%m-%d), $(nproc) cores)"
    echo
    echo "| path | throughput (best of 5) |"
    echo "|---|---|"
} > "$report"
run "host-sent (wsgi.file_wrapper, 256 KiB blocks)"
run "host-read 8 KiB blocks (--no-sendfile)" --no-sendfile
run "through the guest, 8 KiB chunks (--no-file-wrapper)" --no-file-wrapper
cat "$report"
