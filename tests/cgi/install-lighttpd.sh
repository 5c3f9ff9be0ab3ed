#!/usr/bin/env bash
# Installs Debian's lighttpd for the CGI tests (tests/e2e/cgi.rs), without
# letting the package start its system service. Does nothing when lighttpd
# is already there.
set -euo pipefail
if command -v lighttpd >/dev/null 2>&1 || [ -x /usr/sbin/lighttpd ]; then
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
if ! $sudo apt-get install -y --no-install-recommends lighttpd; then
    $sudo apt-get update
    $sudo apt-get install -y --no-install-recommends lighttpd
fi
