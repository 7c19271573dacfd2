# Shared settings for every iopt Makefile: configuration, toolchain, flags,
# output directories. Each Makefile sets IOPT_ROOT_DIR and includes this
# (through iopt.lib.mk, iopt.app.mk or iopt.unittest.mk).
#
# A component Makefile that uses C_SRCS-$(CONFIG_X) includes this file first,
# so that the options are resolved when that line is read; the guard makes the
# second include (through iopt.lib.mk) a no-op.
#
# Output goes below $(O) (default: build/), so the release build and the
# sanitizer test build (build/test) live side by side.

ifndef IOPT_COMMON_MK_INCLUDED
IOPT_COMMON_MK_INCLUDED := 1

include $(IOPT_ROOT_DIR)/config/config.defaults
-include $(IOPT_ROOT_DIR)/mk/config.mk

O ?= $(IOPT_ROOT_DIR)/build
override O := $(abspath $(O))
OBJ_DIR := $(O)/obj
LIB_DIR := $(O)/lib
BIN_DIR := $(O)/bin
TEST_DIR := $(O)/test

CROSS := $(CONFIG_CROSS_PREFIX)
CC := $(CROSS)gcc
AR := $(CROSS)ar
PKG_CONFIG ?= pkg-config

# "auto" options resolve against what pkg-config finds; a cross build has no
# target copies of these libraries, so auto means off there.
define resolve_auto
$(if $(filter auto,$(CONFIG_$(1))),$(if $(CROSS),n,$(if $(shell $(PKG_CONFIG) --exists $(2) 2>/dev/null && echo y),y,n)),$(CONFIG_$(1)))
endef
override CONFIG_DPDK := $(strip $(call resolve_auto,DPDK,libdpdk))
override CONFIG_PCIACCESS := $(strip $(call resolve_auto,PCIACCESS,pciaccess))
override CONFIG_NUMA := $(strip $(if $(filter auto,$(CONFIG_NUMA)),$(if $(CROSS),n,$(if $(wildcard /usr/include/numa.h),y,n)),$(CONFIG_NUMA)))

COMMON_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-missing-field-initializers -fno-strict-aliasing \
	-fPIC -g -pthread -D_GNU_SOURCE
COMMON_CFLAGS += -I$(IOPT_ROOT_DIR)/include -I$(IOPT_ROOT_DIR)/lib

ifeq ($(CONFIG_DEBUG),y)
COMMON_CFLAGS += -O0 -DDEBUG
else
COMMON_CFLAGS += -O2 -DNDEBUG
endif

SAN_FLAGS :=
ifeq ($(CONFIG_ASAN),y)
SAN_FLAGS += -fsanitize=address -fno-omit-frame-pointer
endif
ifeq ($(CONFIG_UBSAN),y)
SAN_FLAGS += -fsanitize=undefined -fno-sanitize-recover=undefined
endif
COMMON_CFLAGS += $(SAN_FLAGS)

SYS_LIBS := -pthread
# DPDK's own flags (-include rte_config.h, -march=...) go only to the sources
# that call DPDK: a component sets CFLAGS_<source> = $(DPDK_CFLAGS). Only the
# EAL is linked, not every DPDK library pkg-config lists.
DPDK_CFLAGS :=
ifeq ($(CONFIG_DPDK),y)
COMMON_CFLAGS += -DIOPT_HAVE_DPDK=1
DPDK_CFLAGS := $(shell $(PKG_CONFIG) --cflags libdpdk)
SYS_LIBS += -lrte_eal -lrte_kvargs -lrte_telemetry
endif
ifeq ($(CONFIG_PCIACCESS),y)
COMMON_CFLAGS += -DIOPT_HAVE_PCIACCESS=1
SYS_LIBS += -lpciaccess
endif
ifeq ($(CONFIG_NUMA),y)
COMMON_CFLAGS += -DIOPT_HAVE_NUMA=1
SYS_LIBS += -lnuma
endif

CFLAGS += $(COMMON_CFLAGS)
LDFLAGS += $(SAN_FLAGS)

# The whole library, one archive; the shared object exports iopt_* only.
LIBIOPT_A := $(LIB_DIR)/libiopt.a
LIBIOPT_SO := $(LIB_DIR)/libiopt.so

Q ?= @
DEPFLAGS = -MMD -MP

endif
