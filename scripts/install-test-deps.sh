#!/usr/bin/env bash
# Installs what kvcore's tests need: the Python test extras, and Debian's etcd-server
# and etcd-client (the reference etcd and etcdctl the tests compare kvcore against).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq etcd-server etcd-client >/dev/null
fi
# etcd-server's package starts a system etcd on 2379; the tests start their own.
if command -v systemctl >/dev/null && systemctl is-active --quiet etcd 2>/dev/null; then
    systemctl stop etcd || true
fi
# A fresh Debian/Ubuntu marks its Python as externally managed (PEP 668).
PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --disable-pip-version-check -e '.[test]'
