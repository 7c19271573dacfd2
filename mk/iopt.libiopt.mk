# Gather every component's objects into libiopt.a and libiopt.so. Run after
# the components are built (the top-level Makefile does), so the wildcard
# sees the current set of objects.
IOPT_ROOT_DIR ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
include $(IOPT_ROOT_DIR)/mk/iopt.common.mk

LIB_OBJS := $(sort $(shell find $(OBJ_DIR)/lib -name '*.o' 2>/dev/null))

all: $(LIBIOPT_A) $(LIBIOPT_SO)

$(LIBIOPT_A): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  AR libiopt.a"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# The shared object exports the public API (iopt_*) and nothing else.
$(LIBIOPT_SO): $(LIB_OBJS) $(IOPT_ROOT_DIR)/lib/libiopt.map
	@mkdir -p $(dir $@)
	@echo "  SO libiopt.so"
	$(Q)$(CC) -shared $(LDFLAGS) -Wl,--version-script=$(IOPT_ROOT_DIR)/lib/libiopt.map \
		-Wl,-soname,libiopt.so.0 -o $@ $(LIB_OBJS) $(SYS_LIBS)

.PHONY: all
