#!/usr/bin/env bash
# Installs what Edge and its tests need on a fresh Debian machine: npm packages (when missing or
# stale) and, for the tests, the Debian packages they drive. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

install_npm_packages() {
  # npm ci also runs `prepare`, which compiles TypeScript into dist/.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "==> installing npm packages (npm ci)" >&2
    ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-audit --no-fund >&2
  fi
}

install_debian_packages() {
  local need=()
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v certutil >/dev/null 2>&1 || need+=(libnss3-tools)
  command -v curl >/dev/null 2>&1 || need+=(curl)
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
  # The Linux keychain token store is tested against a private gnome-keyring on its own D-Bus.
  command -v dbus-daemon >/dev/null 2>&1 || need+=(dbus-daemon)
  command -v gnome-keyring-daemon >/dev/null 2>&1 || need+=(gnome-keyring)
  command -v secret-tool >/dev/null 2>&1 || need+=(libsecret-tools)
  # The generated systemd unit is checked with systemd-analyze verify.
  command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
  # The benchmark's reference relay (bench/reference-relay.c) is built and tested with the C compiler.
  command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
  # The end-to-end test drives python3 requests; Debian's python3-requests serves /usr/bin/python3.
  python3 -c 'import requests' >/dev/null 2>&1 || /usr/bin/python3 -c 'import requests' >/dev/null 2>&1 || need+=(python3-requests)
  if [ "${#need[@]}" -gt 0 ]; then
    echo "==> installing Debian packages: ${need[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  fi
}

case "${1:-runtime}" in
  runtime) install_npm_packages ;;
  test) install_debian_packages; install_npm_packages ;;
  *) echo "usage: $0 [runtime|test]" >&2; exit 2 ;;
esac
