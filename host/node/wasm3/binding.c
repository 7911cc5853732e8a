/*
 * A Node binding of Wisp's own over wasm3 (N-API, built by node-gyp from
 * host/node/wasm3.ts): one Wisp module instance per instantiate() call, its
 * exports called by name, its linear memory seen as an ArrayBuffer. It lets
 * the Node API and its tests run the module under the interpreter that
 * devices run, byte for byte.
 *
 *   instantiate(wasm, streamed | null, hostKernels) -> instance (hostKernels: offer host_kernels.c's)
 *   call(instance, name, args[])      -> number (the export's result, or 0)
 *   memory(instance)                  -> ArrayBuffer over linear memory
 *
 * A trap or an engine failure throws an Error with wasm3's message.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_kernels.h"
#include "wasm3.h"

/* The value stack of the C host's wasm3 engine (wasm3_small_ram.h), so a
 * model that overflows it on a device overflows it here too. */
#define STACK_BYTES WISP_WASM3_STACK

typedef struct {
  IM3Environment environment;
  IM3Runtime runtime;
  uint8_t *wasm; /* wasm3 keeps pointers into the module's bytes */
  uint8_t *streamed; /* a streamed model's bytes, served by env.wisp_read */
  size_t streamed_size;
  int host_kernels; /* offer the native host kernels (host/c/host_kernels.c) */
  napi_ref buffer; /* the last ArrayBuffer handed out, and what it covers */
  uint8_t *buffer_data;
  uint32_t buffer_size;
} instance_t;

#define CHECK(env, call)                                              \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error((env), NULL, "wasm3 binding: " #call " failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

m3ApiRawFunction(wisp_abort) {
  (void)_sp;
  (void)_mem;
  (void)_ctx;
  m3ApiTrap("the Wisp module aborted");
}

m3ApiRawFunction(wisp_read) {
  m3ApiGetArg(uint32_t, dst);
  m3ApiGetArg(uint32_t, offset);
  m3ApiGetArg(uint32_t, bytes);
  instance_t *self = (instance_t *)_ctx->userdata;
  uint32_t size = 0;
  uint8_t *memory = m3_GetMemory(self->runtime, &size, 0);
  (void)_mem;
  if (!self->streamed || offset > self->streamed_size || bytes > self->streamed_size - offset || dst > size || bytes > size - dst)
    m3ApiTrap("the module read model bytes outside the model");
  memcpy(memory + dst, self->streamed + offset, bytes);
  m3ApiSuccess();
}

/* The host kernels: none unless instantiate() was asked for them. */
m3ApiRawFunction(wisp_kernels) {
  m3ApiReturnType(uint32_t);
  instance_t *self = (instance_t *)_ctx->userdata;
  (void)_mem;
  (void)runtime;
  m3ApiReturn(self->host_kernels ? wisp_host_kernels() : 0);
}

m3ApiRawFunction(wisp_dot_s8) {
  (void)_ctx;
  if (wisp_host_dot_s8_slots((uint8_t *)_mem, m3_GetMemorySize(runtime), _sp) != 0) m3ApiTrap("host kernel wisp_dot_s8: a range lies outside linear memory");
  m3ApiSuccess();
}

m3ApiRawFunction(wisp_depthwise_s8) {
  (void)_ctx;
  if (wisp_host_depthwise_s8_slots((uint8_t *)_mem, m3_GetMemorySize(runtime), _sp) != 0) m3ApiTrap("host kernel wisp_depthwise_s8: a range lies outside linear memory");
  m3ApiSuccess();
}

m3ApiRawFunction(wisp_add_s8) {
  (void)_ctx;
  if (wisp_host_add_s8_slots((uint8_t *)_mem, m3_GetMemorySize(runtime), _sp) != 0) m3ApiTrap("host kernel wisp_add_s8: a range lies outside linear memory");
  m3ApiSuccess();
}

static void release(instance_t *self) {
  if (self->runtime) m3_FreeRuntime(self->runtime);
  if (self->environment) m3_FreeEnvironment(self->environment);
  free(self->wasm);
  free(self->streamed);
  free(self);
}

static void finalize(napi_env env, void *data, void *hint) {
  instance_t *self = data;
  (void)hint;
  if (self->buffer) napi_delete_reference(env, self->buffer);
  release(self);
}

/* Copies a Uint8Array's bytes into a new malloc block. */
static int copy_bytes(napi_env env, napi_value value, uint8_t **out, size_t *size) {
  napi_typedarray_type type;
  void *data = NULL;
  size_t length = 0;
  bool is_array = false;
  if (napi_is_typedarray(env, value, &is_array) != napi_ok || !is_array) return 0;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) return 0;
  *out = malloc(length ? length : 1);
  if (!*out) return 0;
  memcpy(*out, data, length);
  *size = length;
  return 1;
}

static napi_value fail(napi_env env, instance_t *self, const char *what, M3Result r) {
  char message[256];
  snprintf(message, sizeof message, "wasm3: %s: %s", what, r);
  if (self) release(self);
  napi_throw_error(env, NULL, message);
  return NULL;
}

static napi_value instantiate(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  napi_valuetype kind;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  instance_t *self = calloc(1, sizeof *self);
  if (!self) return fail(env, NULL, "instantiate", "out of memory");
  size_t wasm_size = 0;
  if (argc < 1 || !copy_bytes(env, argv[0], &self->wasm, &wasm_size)) return fail(env, self, "instantiate", "the module must be a Uint8Array");
  if (argc > 1 && napi_typeof(env, argv[1], &kind) == napi_ok && kind != napi_null && kind != napi_undefined &&
      !copy_bytes(env, argv[1], &self->streamed, &self->streamed_size))
    return fail(env, self, "instantiate", "the streamed model must be a Uint8Array");
  bool host_kernels = false;
  if (argc > 2 && napi_get_value_bool(env, argv[2], &host_kernels) != napi_ok) host_kernels = false;
  self->host_kernels = host_kernels;
  IM3Module module = NULL;
  M3Result r;
  if (!(self->environment = m3_NewEnvironment())) return fail(env, self, "instantiate", "cannot create the environment");
  if (!(self->runtime = m3_NewRuntime(self->environment, STACK_BYTES, self))) return fail(env, self, "instantiate", "cannot create the runtime");
  if ((r = m3_ParseModule(self->environment, &module, self->wasm, (uint32_t)wasm_size))) return fail(env, self, "parse", r);
  if ((r = m3_LoadModule(self->runtime, module))) {
    m3_FreeModule(module);
    return fail(env, self, "load", r);
  }
  r = m3_LinkRawFunctionEx(module, "env", "abort", "v(iiii)", &wisp_abort, self);
  if (r && r != m3Err_functionLookupFailed) return fail(env, self, "link env.abort", r);
  r = m3_LinkRawFunctionEx(module, "env", "wisp_read", "v(iii)", &wisp_read, self);
  if (r && r != m3Err_functionLookupFailed) return fail(env, self, "link env.wisp_read", r);
  r = m3_LinkRawFunctionEx(module, "wisp_kernels", "wisp_kernels", "i()", &wisp_kernels, self);
  if (r && r != m3Err_functionLookupFailed) return fail(env, self, "link wisp_kernels", r);
  r = m3_LinkRawFunctionEx(module, "wisp_kernels", "wisp_dot_s8", "v(iiiiiiiiiiiiiiiii)", &wisp_dot_s8, self);
  if (r && r != m3Err_functionLookupFailed) return fail(env, self, "link wisp_dot_s8", r);
  r = m3_LinkRawFunctionEx(module, "wisp_kernels", "wisp_depthwise_s8", "v(iiiiiiiiiiiiiiiiii)", &wisp_depthwise_s8, self);
  if (r && r != m3Err_functionLookupFailed) return fail(env, self, "link wisp_depthwise_s8", r);
  r = m3_LinkRawFunctionEx(module, "wisp_kernels", "wisp_add_s8", "v(iiiiiiiiiiiiiiii)", &wisp_add_s8, self);
  if (r && r != m3Err_functionLookupFailed) return fail(env, self, "link wisp_add_s8", r);
  CHECK(env, napi_create_external(env, self, finalize, NULL, &result));
  return result;
}

static instance_t *instance_of(napi_env env, napi_value value) {
  void *data = NULL;
  napi_valuetype kind;
  if (napi_typeof(env, value, &kind) != napi_ok || kind != napi_external || napi_get_value_external(env, value, &data) != napi_ok) return NULL;
  return data;
}

/* Calls an export with numeric arguments, converted to its parameter types;
 * functions are compiled by wasm3 when first looked up. */
static napi_value call(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  char name[128];
  size_t name_length = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  instance_t *self = argc == 3 ? instance_of(env, argv[0]) : NULL;
  if (!self || napi_get_value_string_utf8(env, argv[1], name, sizeof name, &name_length) != napi_ok) {
    napi_throw_type_error(env, NULL, "call(instance, name, args)");
    return NULL;
  }
  IM3Function f = NULL;
  M3Result r = m3_FindFunction(&f, self->runtime, name);
  if (r) return fail(env, NULL, name, r);
  uint32_t count = 0, n = m3_GetArgCount(f);
  CHECK(env, napi_get_array_length(env, argv[2], &count));
  if (count != n || n > 8 || m3_GetRetCount(f) > 1) return fail(env, NULL, name, "wrong number of arguments");
  union { int32_t i32; int64_t i64; float f32; double f64; } values[8], ret;
  const void *pointers[8];
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    double v = 0;
    CHECK(env, napi_get_element(env, argv[2], i, &item));
    CHECK(env, napi_get_value_double(env, item, &v));
    switch (m3_GetArgType(f, i)) {
      case c_m3Type_i32: values[i].i32 = (int32_t)(int64_t)v; break;
      case c_m3Type_i64: values[i].i64 = (int64_t)v; break;
      case c_m3Type_f32: values[i].f32 = (float)v; break;
      case c_m3Type_f64: values[i].f64 = v; break;
      default: return fail(env, NULL, name, "unsupported argument type");
    }
    pointers[i] = &values[i];
  }
  if ((r = m3_Call(f, n, pointers))) {
    M3ErrorInfo error;
    m3_GetErrorInfo(self->runtime, &error);
    char what[200];
    snprintf(what, sizeof what, "%s trapped%s%s", name, error.message && *error.message ? ": " : "", error.message ? error.message : "");
    return fail(env, NULL, what, r);
  }
  double out = 0;
  if (m3_GetRetCount(f) == 1) {
    const void *rp[1] = {&ret};
    if ((r = m3_GetResults(f, 1, rp))) return fail(env, NULL, name, r);
    switch (m3_GetRetType(f, 0)) {
      case c_m3Type_i32: out = ret.i32; break;
      case c_m3Type_i64: out = (double)ret.i64; break;
      case c_m3Type_f32: out = ret.f32; break;
      case c_m3Type_f64: out = ret.f64; break;
      default: break;
    }
  }
  CHECK(env, napi_create_double(env, out, &result));
  return result;
}

/* The linear memory as an ArrayBuffer over wasm3's own bytes. It stays the
 * same object until memory grows; then, as a WebAssembly.Memory does, the
 * old one is detached and a new one covers the new bytes. */
static napi_value memory(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  instance_t *self = argc == 1 ? instance_of(env, argv[0]) : NULL;
  if (!self) {
    napi_throw_type_error(env, NULL, "memory(instance)");
    return NULL;
  }
  uint32_t size = 0;
  uint8_t *data = m3_GetMemory(self->runtime, &size, 0);
  if (self->buffer) {
    napi_value old = NULL;
    if (napi_get_reference_value(env, self->buffer, &old) == napi_ok && old) {
      if (data == self->buffer_data && size == self->buffer_size) return old;
      napi_detach_arraybuffer(env, old);
    }
    napi_delete_reference(env, self->buffer);
    self->buffer = NULL;
  }
  CHECK(env, napi_create_external_arraybuffer(env, data, size, NULL, NULL, &result));
  CHECK(env, napi_create_reference(env, result, 0, &self->buffer));
  self->buffer_data = data;
  self->buffer_size = size;
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
    {"instantiate", NULL, instantiate, NULL, NULL, NULL, napi_default, NULL},
    {"call", NULL, call, NULL, NULL, NULL, napi_default, NULL},
    {"memory", NULL, memory, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
