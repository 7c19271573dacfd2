# Rules for one component of libiopt. The component's Makefile sets
# IOPT_ROOT_DIR and C_SRCS (optional sources as C_SRCS-$(CONFIG_X) += x.c),
# optionally CFLAGS_<source without .c> for one source's extra flags, then
# includes this file. Objects go to $(OBJ_DIR)/lib/<component>/; the
# top-level Makefile gathers every component's objects into libiopt.

include $(IOPT_ROOT_DIR)/mk/iopt.common.mk

C_SRCS += $(C_SRCS-y)
COMPONENT := $(patsubst $(IOPT_ROOT_DIR)/%,%,$(CURDIR))
COMP_OBJ_DIR := $(OBJ_DIR)/$(COMPONENT)
OBJS := $(patsubst %.c,$(COMP_OBJ_DIR)/%.o,$(C_SRCS))

all: $(OBJS)
	@rm -f $(filter-out $(OBJS),$(wildcard $(COMP_OBJ_DIR)/*.o))

$(COMP_OBJ_DIR)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $(COMPONENT)/$<"
	$(Q)$(CC) $(CFLAGS) $(CFLAGS_$(<:.c=)) $(DEPFLAGS) -c $< -o $@

clean:
	rm -rf $(COMP_OBJ_DIR)

-include $(OBJS:.o=.d)
.PHONY: all clean
