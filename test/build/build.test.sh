#!/usr/bin/env bash
# Build checks that the sanitizer test build does not cover:
#   cross_aarch64    libiopt and the apps cross-compile for aarch64 (the Arm build)
#   install_pkgconfig  make install lays out headers, libraries and iopt.pc, and
#                    a program compiled with `pkg-config --cflags --libs iopt`
#                    against the installed tree links and runs (shared and static)
#   public_headers   every public header compiles on its own, as C11 and as C++
# Usage: build.test.sh BUILD_DIR   (scripts/run_tests.sh passes it)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?build dir}" && pwd)
work="$build/build-checks"
rm -rf "$work" && mkdir -p "$work"
pass=0 fail=0 skip=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
sk() { echo "SKIP $1: $2"; skip=$((skip + 1)); }

# ---- cross_aarch64
if command -v aarch64-linux-gnu-gcc >/dev/null; then
	if make -C "$root" --no-print-directory -j2 O="$work/aarch64" \
		CONFIG_CROSS_PREFIX=aarch64-linux-gnu- CONFIG_ASAN=n CONFIG_UBSAN=n apps \
		> "$work/aarch64.log" 2>&1; then
		m=$(od -An -tx2 -j18 -N2 "$work/aarch64/lib/libiopt.so" | tr -d ' ')
		# e_machine 0x00b7 is EM_AARCH64.
		if [ "$m" = "00b7" ]; then ok cross_aarch64; else ko cross_aarch64 "e_machine $m"; fi
	else
		tail -n 20 "$work/aarch64.log"
		ko cross_aarch64 "cross build failed (log: $work/aarch64.log)"
	fi
else
	sk cross_aarch64 "aarch64-linux-gnu-gcc is not installed (scripts/pkgdep.sh installs it)"
fi

# ---- install_pkgconfig
cat > "$work/hello.c" <<'C'
#include <stdio.h>
#include <iopt/env.h>
#include <iopt/log.h>
#include <iopt/pgtbl.h>
int main(void)
{
	struct iopt_env *env;
	struct iopt_dma_buf b;
	uint64_t pa;
	if (iopt_env_create(NULL, &env) != 0 || iopt_dma_alloc(env, 4096, 4096, IOPT_NUMA_ANY, &b) != 0)
		return 1;
	if (iopt_vtophys(env, b.va, &pa, NULL) != 0 || pa != b.pa)
		return 2;
	iopt_dma_free(env, &b);
	iopt_env_destroy(env);
	puts("installed iopt works");
	return 0;
}
C
stage="$work/stage"
if make -C "$root" --no-print-directory -j2 O="$work/release" CONFIG_ASAN=n CONFIG_UBSAN=n \
	PREFIX=/usr/local DESTDIR="$stage" install > "$work/install.log" 2>&1; then
	pc="$stage/usr/local/lib/pkgconfig/iopt.pc"
	export PKG_CONFIG_PATH="$stage/usr/local/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage"
	if [ -f "$pc" ] && [ -f "$stage/usr/local/include/iopt/iopt.h" ] &&
	   gcc -std=gnu11 -Wall -Werror -o "$work/hello" "$work/hello.c" $(pkg-config --cflags --libs iopt) \
		>> "$work/install.log" 2>&1 &&
	   LD_LIBRARY_PATH="$stage/usr/local/lib" "$work/hello" >> "$work/install.log" 2>&1 &&
	   gcc -std=gnu11 -Wall -Werror -o "$work/hello-static" "$work/hello.c" \
		$(pkg-config --cflags iopt) "$stage/usr/local/lib/libiopt.a" \
		$(pkg-config --libs-only-other --libs-only-l --static iopt | sed 's/-liopt//') \
		>> "$work/install.log" 2>&1 &&
	   "$work/hello-static" >> "$work/install.log" 2>&1; then
		ok install_pkgconfig
	else
		tail -n 20 "$work/install.log"
		ko install_pkgconfig "see $work/install.log"
	fi
else
	tail -n 20 "$work/install.log"
	ko install_pkgconfig "make install failed"
fi

# ---- public_headers
hdr_fail=""
for h in "$root"/include/iopt/*.h; do
	n=$(basename "$h")
	echo "#include <iopt/$n>" > "$work/h.c"
	gcc -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -I"$root/include" "$work/h.c" \
		> "$work/h.log" 2>&1 || hdr_fail="$hdr_fail $n(C)"
	if command -v g++ >/dev/null; then
		g++ -x c++ -std=c++17 -Wall -Werror -fsyntax-only -I"$root/include" "$work/h.c" \
			>> "$work/h.log" 2>&1 || hdr_fail="$hdr_fail $n(C++)"
	fi
done
if [ -z "$hdr_fail" ]; then ok public_headers; else cat "$work/h.log"; ko public_headers "$hdr_fail"; fi

echo "UT-RESULT passed=$pass failed=$fail skipped=$skip"
[ "$fail" -eq 0 ]
