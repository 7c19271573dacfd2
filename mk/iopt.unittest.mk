# Rules for the test programs. Every test/**/*_ut.c is one CUnit program
# (test/qemu holds guest programs and is built by its own rules). A unit test
# includes the .c file under test, so its static functions are reachable, and
# links libiopt.a for what it does not stub; test/common/ut.c gives every
# program the same runner and the one-line result the summary counts.
IOPT_ROOT_DIR ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
include $(IOPT_ROOT_DIR)/mk/iopt.common.mk

UT_SRCS := $(shell cd $(IOPT_ROOT_DIR) && find test -path test/qemu -prune -o -name '*_ut.c' -print | sort)
UT_BINS := $(patsubst test/%.c,$(TEST_DIR)/%,$(UT_SRCS))
# Every test/common/*.c (the runner, mock drivers) goes into one small
# archive linked before libiopt.a.
UT_COMMON_SRCS := $(sort $(wildcard $(IOPT_ROOT_DIR)/test/common/*.c))
UT_COMMON_OBJS := $(patsubst $(IOPT_ROOT_DIR)/test/common/%.c,$(TEST_DIR)/common/%.o,$(UT_COMMON_SRCS))
UT_COMMON_OBJ := $(TEST_DIR)/common/libut.a
UT_CFLAGS := $(CFLAGS) -I$(IOPT_ROOT_DIR)/test/common -Wno-missing-prototypes

# Tests of DPDK code (named *dpdk*_ut.c) get DPDK's compiler flags.
$(filter %dpdk_ut,$(UT_BINS)): UT_EXTRA_CFLAGS = $(DPDK_CFLAGS)

all: $(UT_BINS)
	@printf '%s\n' $(UT_BINS) > $(TEST_DIR)/unit_programs.txt

$(TEST_DIR)/common/%.o: $(IOPT_ROOT_DIR)/test/common/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(UT_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(UT_COMMON_OBJ): $(UT_COMMON_OBJS)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(TEST_DIR)/%: $(IOPT_ROOT_DIR)/test/%.c $(UT_COMMON_OBJ) $(LIBIOPT_A)
	@mkdir -p $(dir $@)
	@echo "  UT $*"
	$(Q)$(CC) $(UT_CFLAGS) $(UT_EXTRA_CFLAGS) $(DEPFLAGS) -MF $@.d -o $@ $< $(UT_COMMON_OBJ) $(LIBIOPT_A) $(SYS_LIBS) -lcunit -lm

-include $(addsuffix .d,$(UT_BINS)) $(UT_COMMON_OBJS:.o=.d)
.PHONY: all
