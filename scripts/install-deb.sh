#!/usr/bin/env bash
# Installs a Debian package for the tests (lighttpd for CGI, apache2-utils
# for ab, nginx for scale-out, clang and wasi-libc for SQLite in a Rust
# guest) unless COMMAND (or, given as an absolute path, that file) is
# already there, without
# letting the package start a system service. Tests may call it at once:
# one apt runs at a time.
#   scripts/install-deb.sh PACKAGE COMMAND
set -euo pipefail
package=$1
command=$2
found() {
    case $command in
    /*) [ -e "$command" ] ;;
    *) command -v "$command" >/dev/null 2>&1 || [ -x "/usr/sbin/$command" ] ;;
    esac
}
if found; then
    exit 0
fi
exec 9>"${TMPDIR:-/tmp}/wasgi-apt.lock"
flock 9
if found; then
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo -n"
fi
policy=/usr/sbin/policy-rc.d
created=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    created=yes
fi
cleanup() { if [ -n "$created" ]; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y --no-install-recommends "$package"; then
    $sudo apt-get update
    $sudo apt-get install -y --no-install-recommends "$package"
fi
