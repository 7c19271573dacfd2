# iopt top-level Makefile.
#
#   make              libiopt (static and shared) and the apps, in build/
#   make test         install what is missing, build with ASan+UBSan in
#                     build/test, run every test, print one summary line
#   make test-qemu    only the guest tests (test/qemu: QEMU, every VT-d mode and path)
#   make bench        the page-table benchmark (release build)
#   make perf         iopt_perf (PERF_ARGS=...) with 2M huge pages reserved for the run
#   make run          the main job: build, run app/iopt_demo, then a short benchmark table
#   make fuzz         the firmware-table fuzzers (clang, libFuzzer)
#   make install      PREFIX=/usr/local DESTDIR=  headers, libraries, iopt.pc
#   make clean
#
# Options: see config/config.defaults; ./configure writes mk/config.mk.
IOPT_ROOT_DIR := $(CURDIR)
include $(IOPT_ROOT_DIR)/mk/iopt.common.mk

VERSION := 0.1.0
# Components and programs are found by their Makefiles: lib/<x>/Makefile,
# lib/<x>/<y>/Makefile, app/<x>/Makefile.
LIB_COMPONENTS := $(sort $(patsubst %/Makefile,%,$(wildcard lib/*/Makefile lib/*/*/Makefile)))
APPS := $(sort $(patsubst %/Makefile,%,$(wildcard app/*/Makefile)))
TEST_O := $(IOPT_ROOT_DIR)/build/test
TEST_MAKEFLAGS := O=$(TEST_O) CONFIG_ASAN=y CONFIG_UBSAN=y CONFIG_DEBUG=y CONFIG_STATIC_APPS=n

all: apps

libs:
	$(Q)for d in $(LIB_COMPONENTS); do $(MAKE) --no-print-directory -C $$d O=$(O) all || exit 1; done
	$(Q)$(MAKE) --no-print-directory -f mk/iopt.libiopt.mk O=$(O) all

apps: libs
	$(Q)for d in $(APPS); do $(MAKE) --no-print-directory -C $$d O=$(O) all || exit 1; done

unittests: libs
	$(Q)$(MAKE) --no-print-directory -C test/data/acpi O=$(O) all
	$(Q)$(MAKE) --no-print-directory -f mk/iopt.unittest.mk O=$(O) all

deps:
	$(Q)scripts/pkgdep.sh

test: deps
	$(Q)$(MAKE) --no-print-directory $(TEST_MAKEFLAGS) apps unittests
	$(Q)scripts/run_tests.sh $(TEST_O)

test-qemu: deps
	$(Q)mkdir -p $(TEST_O)
	$(Q)scripts/run_tests.sh $(TEST_O) $(IOPT_ROOT_DIR)/test/qemu/qemu.test.sh

# libFuzzer targets (clang) in build/fuzz; test/fuzz/fuzz.test.sh runs them.
fuzz:
	$(Q)$(MAKE) --no-print-directory -C test/fuzz

bench: apps
	$(Q)$(BIN_DIR)/pgtbl_bench

# iopt_perf with the 2M huge pages its 1 GiB case needs, reserved for the run
# and given back afterwards (scripts/perf.sh). make perf PERF_ARGS="--layer api"
perf: apps
	$(Q)scripts/perf.sh $(PERF_ARGS)

PREFIX ?= $(CONFIG_PREFIX)

install: libs
	install -d $(DESTDIR)$(PREFIX)/include/iopt $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/iopt/*.h $(DESTDIR)$(PREFIX)/include/iopt/
	install -m 644 $(LIBIOPT_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIBIOPT_SO) $(DESTDIR)$(PREFIX)/lib/libiopt.so.0
	ln -sf libiopt.so.0 $(DESTDIR)$(PREFIX)/lib/libiopt.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
		-e 's|@LIBS_PRIVATE@|$(strip $(SYS_LIBS))|' mk/iopt.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/iopt.pc
	@if [ -d $(BIN_DIR) ] && [ -n "$$(ls $(BIN_DIR) 2>/dev/null)" ]; then \
		install -d $(DESTDIR)$(PREFIX)/bin && install -m 755 $(BIN_DIR)/* $(DESTDIR)$(PREFIX)/bin/; fi

clean:
	rm -rf build

.PHONY: all libs apps unittests deps test test-qemu fuzz bench perf install clean

# The main job: the demo (app/iopt_demo), then a short iopt_perf table (the
# page-table benchmark where iopt_perf is not built).
run: deps
	$(Q)$(MAKE) --no-print-directory apps
	$(Q)$(BIN_DIR)/iopt_demo
	$(Q)if [ -x $(BIN_DIR)/iopt_perf ]; then $(BIN_DIR)/iopt_perf --quick; \
		else $(BIN_DIR)/pgtbl_bench; fi

.PHONY: run
