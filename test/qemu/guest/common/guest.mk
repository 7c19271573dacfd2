# Shared rules of iopt's guest programs (test/qemu/guest/<program>/Makefile):
# the program's Makefile sets IOPT_ROOT_DIR, APP and C_SRCS, then includes
# this. Adds the common sources (result lines, edu, the VT-d unit by hand,
# the temporary platform helpers) and links statically (the initramfs has no
# shared libraries).
GUEST_COMMON := $(IOPT_ROOT_DIR)/test/qemu/guest/common
C_SRCS += $(addprefix ../common/,report.c dmar.c edu.c hugemem.c vtd.c scenarios.c)
CFLAGS += -I$(GUEST_COMMON)
override CONFIG_STATIC_APPS := y

include $(IOPT_ROOT_DIR)/mk/iopt.app.mk

# A static libpciaccess needs zlib.
ifeq ($(CONFIG_PCIACCESS),y)
APP_LIBS += -lz
endif
