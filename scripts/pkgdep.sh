#!/usr/bin/env bash
# Install, with apt, everything iopt's build, unit tests and guest tests need.
#
# Idempotent: when every package is present it prints nothing and exits 0.
# `apt-get update` runs only when something is missing. Needs root (or sudo)
# only when it has something to install.
#
#   scripts/pkgdep.sh           install what is missing
#   scripts/pkgdep.sh --check   list what is missing; exit 1 if anything is
set -euo pipefail

PKGS=(
	build-essential pkg-config
	libdpdk-dev libpciaccess-dev libnuma-dev libcunit1-dev
	libhugetlbfs-bin acpica-tools
	clang libclang-rt-14-dev
	qemu-system-x86 qemu-system-arm busybox-static cpio
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross
	gnuplot-nox
	python3 zlib1g-dev
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ "${1:-}" = "--check" ]; then
	[ ${#missing[@]} -eq 0 ] && exit 0
	printf '%s\n' "${missing[@]}"
	exit 1
fi

[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "pkgdep: need root to install: ${missing[*]}" >&2; exit 1; }
	SUDO=sudo
fi

echo "pkgdep: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "pkgdep: done"
