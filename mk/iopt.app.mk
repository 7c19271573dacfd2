# Rules for one program. Its Makefile sets IOPT_ROOT_DIR, APP (the program's
# name) and C_SRCS, then includes this file. Programs link libiopt.a.

include $(IOPT_ROOT_DIR)/mk/iopt.common.mk

C_SRCS += $(C_SRCS-y)
APP_OBJ_DIR := $(OBJ_DIR)/app/$(APP)
OBJS := $(patsubst %.c,$(APP_OBJ_DIR)/%.o,$(C_SRCS))
APP_BIN := $(BIN_DIR)/$(APP)
ifeq ($(CONFIG_STATIC_APPS),y)
LDFLAGS += -static
endif

all: $(APP_BIN)

$(APP_BIN): $(OBJS) $(LIBIOPT_A)
	@mkdir -p $(dir $@)
	@echo "  LINK $(APP)"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LIBIOPT_A) $(SYS_LIBS) $(APP_LIBS) -lm

$(APP_OBJ_DIR)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC app/$(APP)/$<"
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

clean:
	rm -rf $(APP_OBJ_DIR) $(APP_BIN)

-include $(OBJS:.o=.d)
.PHONY: all clean
