# Shared rules of iopt's guest programs (test/qemu/guest/<program>/Makefile):
# the program's Makefile sets IOPT_ROOT_DIR, APP and C_SRCS, then includes
# this. Adds the common sources (result lines, edu, the VT-d unit by hand,
# the shared platform scenarios) and links statically (the initramfs has no
# shared libraries). The VT-d layouts come from lib/hwdrv/vtd/regs.h (lib/
# is on the include path of every build).
GUEST_COMMON := $(IOPT_ROOT_DIR)/test/qemu/guest/common
C_SRCS += $(addprefix ../common/,report.c mode.c edu.c vtd.c scenarios.c)
CFLAGS += -I$(GUEST_COMMON)
override CONFIG_STATIC_APPS := y

include $(IOPT_ROOT_DIR)/mk/iopt.app.mk

# A static libpciaccess needs zlib.
ifeq ($(CONFIG_PCIACCESS),y)
APP_LIBS += -lz
endif
