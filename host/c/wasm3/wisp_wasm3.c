/*
 * The wasm3 engine: build/wisp.wasm (or a per-model module), embedded as
 * wisp_wasm[] by the build, interpreted by the user's own wasm3.
 * Sizing for small RAM (docs/wasm3.md):
 * - wasm3_small_ram.h: wasm3's own settings, and WISP_WASM3_STACK, the
 *   interpreter's value stack;
 * - the linear memory is only as large as the symbol wisp_memory_limit says
 *   (-Wl,--defsym=wisp_memory_limit=<bytes>, what wisp_memory_bytes()
 *   reports, as for the AOT engine), not whole 64 KiB pages; without it,
 *   whole pages;
 * - functions are compiled when first called (WISP_WASM3_EAGER=1: all of
 *   them when Wisp opens), so only the code a model runs takes RAM; the
 *   first load and the first invoke then allocate, later calls do not.
 */
#include <string.h>

#include "engine.h"
#include "host_kernels.h"
#include "wasm3.h"
#include "m3_env.h" /* wasm3's runtime struct, for its memoryLimit */
#include "wisp.h"

#ifndef WISP_WASM3_EAGER
#define WISP_WASM3_EAGER 0
#endif

/* Weak: an application that does not define it gets whole pages. */
extern const char wisp_memory_limit[] __attribute__((weak));

#ifndef WISP_WASM3_STACK
#define WISP_WASM3_STACK (8u * 1024u) /* wasm3_small_ram.h sets 2 KiB */
#endif

extern const uint8_t wisp_wasm[];
extern const uint32_t wisp_wasm_size;

#define WISP_NAME(id, name, call) #name,
static const char *const export_names[WISP_EXPORT_COUNT] = {WISP_EXPORTS(WISP_NAME)};
#undef WISP_NAME

static IM3Environment environment;
static IM3Runtime runtime;
static IM3Function functions[WISP_EXPORT_COUNT];
static const char *failure = "";

/* The module's only import; release builds never call it. */
m3ApiRawFunction(wisp_abort) {
  (void)_sp;
  (void)_mem;
  (void)_ctx;
  m3ApiTrap("the Wisp module aborted");
}

/* The import env.wisp_read: serves a flash-resident model's bytes. */
m3ApiRawFunction(wisp_read) {
  m3ApiGetArg(uint32_t, dst);
  m3ApiGetArg(uint32_t, offset);
  m3ApiGetArg(uint32_t, bytes);
  (void)_mem;
  (void)_ctx;
  if (wisp_host_read(dst, offset, bytes) != 0) m3ApiTrap(m3Err_trapOutOfBoundsMemoryAccess);
  m3ApiSuccess();
}

/* The host kernels (host_kernels.h): a range outside linear memory is a trap. */
m3ApiRawFunction(wisp_kernels) {
  m3ApiReturnType(uint32_t);
  (void)_mem;
  (void)_ctx;
  m3ApiReturn(wisp_host_kernels());
}

m3ApiRawFunction(wisp_dot_s8) {
  (void)_ctx;
  if (wisp_host_dot_s8_slots((uint8_t *)_mem, (uint32_t)m3_GetMemorySize(runtime), _sp) != 0) m3ApiTrap(m3Err_trapOutOfBoundsMemoryAccess);
  m3ApiSuccess();
}

m3ApiRawFunction(wisp_depthwise_s8) {
  (void)_ctx;
  if (wisp_host_depthwise_s8_slots((uint8_t *)_mem, (uint32_t)m3_GetMemorySize(runtime), _sp) != 0) m3ApiTrap(m3Err_trapOutOfBoundsMemoryAccess);
  m3ApiSuccess();
}

m3ApiRawFunction(wisp_add_s8) {
  (void)_ctx;
  if (wisp_host_add_s8_slots((uint8_t *)_mem, (uint32_t)m3_GetMemorySize(runtime), _sp) != 0) m3ApiTrap(m3Err_trapOutOfBoundsMemoryAccess);
  m3ApiSuccess();
}

static int failed(M3Result r) {
  failure = r;
  return WISP_ERR_ENGINE;
}

int engine_open(void) {
  IM3Module module = NULL;
  M3Result r;
  environment = m3_NewEnvironment();
  if (!environment) return failed("wasm3: cannot create the environment");
  runtime = m3_NewRuntime(environment, WISP_WASM3_STACK, NULL);
  if (!runtime) return failed("wasm3: cannot create the runtime");
  if (wisp_memory_limit) runtime->memoryLimit = (uint32_t)(uintptr_t)wisp_memory_limit;
  if ((r = m3_ParseModule(environment, &module, wisp_wasm, wisp_wasm_size))) return failed(r);
  if ((r = m3_LoadModule(runtime, module))) return failed(r);
  r = m3_LinkRawFunction(module, "env", "abort", "v(iiii)", &wisp_abort);
  if (r && r != m3Err_functionLookupFailed) return failed(r);
  if ((r = m3_LinkRawFunction(module, "env", "wisp_read", "v(iii)", &wisp_read))) return failed(r);
  /* A per-model module imports only the host kernels its ops use. */
  r = m3_LinkRawFunction(module, "wisp_kernels", "wisp_kernels", "i()", &wisp_kernels);
  if (r && r != m3Err_functionLookupFailed) return failed(r);
  r = m3_LinkRawFunction(module, "wisp_kernels", "wisp_dot_s8", "v(iiiiiiiiiiiiiiiii)", &wisp_dot_s8);
  if (r && r != m3Err_functionLookupFailed) return failed(r);
  r = m3_LinkRawFunction(module, "wisp_kernels", "wisp_depthwise_s8", "v(iiiiiiiiiiiiiiiiii)", &wisp_depthwise_s8);
  if (r && r != m3Err_functionLookupFailed) return failed(r);
  r = m3_LinkRawFunction(module, "wisp_kernels", "wisp_add_s8", "v(iiiiiiiiiiiiiiii)", &wisp_add_s8);
  if (r && r != m3Err_functionLookupFailed) return failed(r);
#if WISP_WASM3_EAGER
  if ((r = m3_CompileModule(module))) return failed(r);
  for (int i = 0; i < WISP_EXPORT_COUNT; i++) {
    if ((r = m3_FindFunction(&functions[i], runtime, export_names[i]))) return failed(r);
  }
#endif
  return WISP_OK;
}

/* The dispatch: one case per export of wisp_exports.h, each with its own
 * argument types (wasm3 takes an f32 through the varargs as a double). */
#define WISP_SELF f
#define WISP_ARG_I32(n) args[n].i32
#define WISP_ARG_F32(n) (double)args[n].f32
#define WISP_CASE(id, name, call) \
  case WISP_EXPORT_##id: r = m3_CallV call; break;

int engine_call(enum wisp_export fn, const union wisp_value *args, uint32_t *result) {
  if ((unsigned)fn >= WISP_EXPORT_COUNT) return WISP_ERR_ENGINE;
  M3Result r;
  if (!functions[fn] && (r = m3_FindFunction(&functions[fn], runtime, export_names[fn]))) return failed(r);
  IM3Function f = functions[fn];
  switch (fn) {
    WISP_EXPORTS(WISP_CASE)
    default: return WISP_ERR_ENGINE;
  }
  if (!r) r = m3_GetResultsV(f, result);
  if (r) {
    failure = r;
    return WISP_ERR_TRAP;
  }
  return WISP_OK;
}

uint8_t *engine_memory(uint32_t *bytes) { return m3_GetMemory(runtime, bytes, 0); }

const char *engine_failure(void) { return failure; }
