/*
 * The wasm3 engine: build/wisp.wasm, embedded as wisp_wasm[] by the build,
 * interpreted by the user's own wasm3 (its public API in wasm3.h only).
 * Sizing for small RAM: WISP_WASM3_STACK sets the interpreter's stack; see
 * the README for d_m3MaxFunctionStackHeight and d_m3CodePageAlignSize.
 */
#include <string.h>

#include "engine.h"
#include "wasm3.h"
#include "wisp.h"

#ifndef WISP_WASM3_STACK
#define WISP_WASM3_STACK (8u * 1024u)
#endif

extern const uint8_t wisp_wasm[];
extern const uint32_t wisp_wasm_size;

static const char *const export_names[WISP_EXPORT_COUNT] = {
  "wisp_model_buffer", "wisp_load", "wisp_invoke", "wisp_input_ptr", "wisp_input_bytes", "wisp_output_ptr",
  "wisp_output_bytes", "wisp_arena_ptr", "wisp_arena_bytes", "wisp_error_ptr", "wisp_error_length",
  "wisp_load_streamed", "wisp_memory_used", "wisp_lfbe_init", "wisp_stream_hop_ptr", "wisp_stream_push",
  "wisp_stream_incremental",
};

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
  if ((r = m3_ParseModule(environment, &module, wisp_wasm, wisp_wasm_size))) return failed(r);
  if ((r = m3_LoadModule(runtime, module))) return failed(r);
  /* Compile every function now, so no inference allocates. */
  if ((r = m3_CompileModule(module))) return failed(r);
  r = m3_LinkRawFunction(module, "env", "abort", "v(iiii)", &wisp_abort);
  if (r && r != m3Err_functionLookupFailed) return failed(r);
  if ((r = m3_LinkRawFunction(module, "env", "wisp_read", "v(iii)", &wisp_read))) return failed(r);
  for (int i = 0; i < WISP_EXPORT_COUNT; i++) {
    if ((r = m3_FindFunction(&functions[i], runtime, export_names[i]))) return failed(r);
  }
  return WISP_OK;
}

int engine_call(enum wisp_export fn, uint32_t a, uint32_t b, float x, uint32_t *result) {
  IM3Function f = functions[fn];
  M3Result r;
  if (fn == WISP_EXPORT_LFBE_INIT || fn == WISP_EXPORT_STREAM_PUSH) {
    r = m3_CallV(f, x, a); /* (f32, i32) */
  } else {
    switch (m3_GetArgCount(f)) {
      case 0: r = m3_CallV(f); break;
      case 1: r = m3_CallV(f, a); break;
      default: r = m3_CallV(f, a, b); break;
    }
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
