# Verify-before-load (wisp_verify.h): included by host/c/Makefile, so
# libwisp.a carries the Ed25519 check for signed modules and models.
SOURCES += $(C_DIR)/verify/wisp_verify.c
INCLUDES += -I $(C_DIR)/verify
HEADERS_wisp_verify := $(C_DIR)/verify/wisp_verify.h
