// A TFLM reference-kernel runner with resource variables, for Wisp's state
// tests (tests/state.test.ts): ../shared/tools/tflm-oracle creates no
// MicroResourceVariables, so TFLM refuses VAR_HANDLE there ("VAR_HANDLE
// requires resource variables"). Same command line and output as that oracle:
//   state-oracle MODEL.tflite INPUTS.bin OUTPUTS.bin [--reset-between]
// One interpreter, one Invoke() per input-0 tensor (state carries over), the
// output-0 tensors appended; --reset-between calls Reset() before each.
//
// Built against tflite-micro 90b983c2b3f1480642e040bbd2ddb37b998f3424 (the
// shared oracle's commit) with flatbuffers v25.9.23, gemmlowp and ruy's
// profiler headers: compile this file, tensorflow/lite/micro/*.cc (no tests),
// micro/{memory_planner,arena_allocator,tflite_bridge}/*.cc, the kernels it
// registers with their *_common.cc and kernel_util.cc, lite/core/c/common.cc,
// lite/kernels/kernel_util.cc, lite/kernels/internal/{quantization_util,
// portable_tensor_utils,common}.cc and compiler/mlir/lite/{schema/schema_utils,
// core/api/*}.cc with
//   g++ -std=c++17 -O1 -fno-exceptions -fno-rtti -DTF_LITE_STATIC_MEMORY -I<tflite-micro> -I<flatbuffers>/include -I<gemmlowp> -I<ruy>
// and point $WISP_STATE_ORACLE at the binary. It reproduces the shared
// oracle's outputs on kernel-zoo and zoo2 models (fc_64to16_bias_relu,
// conv3x3_s2_same_even, add_relu_two_convs, split_v checked).
#include <cstdio>
#include <cstring>
#include <vector>
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/micro/micro_resource_variable.h"
#include "tensorflow/lite/micro/micro_allocator.h"
#include "tensorflow/lite/schema/schema_generated.h"

static bool slurp(const char* path, std::vector<uint8_t>& out) {
  FILE* f = fopen(path, "rb");
  if (!f) return false;
  uint8_t buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
  fclose(f);
  return true;
}

alignas(16) static uint8_t arena[8 << 20];

int main(int argc, char** argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s MODEL INPUTS OUTPUTS [--reset-between]\n", argv[0]); return 2; }
  bool reset = argc > 4 && strcmp(argv[4], "--reset-between") == 0;
  std::vector<uint8_t> model_bytes, inputs;
  if (!slurp(argv[1], model_bytes) || !slurp(argv[2], inputs)) { fprintf(stderr, "cannot read inputs\n"); return 1; }
  const tflite::Model* model = tflite::GetModel(model_bytes.data());
  static tflite::MicroMutableOpResolver<24> ops;
  ops.AddCallOnce(); ops.AddVarHandle(); ops.AddReadVariable(); ops.AddAssignVariable();
  ops.AddConcatenation(); ops.AddStridedSlice(); ops.AddSplitV(); ops.AddAdd(); ops.AddFullyConnected();
  ops.AddQuantize(); ops.AddDequantize(); ops.AddReshape(); ops.AddConv2D(); ops.AddDepthwiseConv2D(); ops.AddMul(); ops.AddSub();
  tflite::MicroAllocator* allocator = tflite::MicroAllocator::Create(arena, sizeof arena);
  tflite::MicroResourceVariables* variables = tflite::MicroResourceVariables::Create(allocator, 16);
  tflite::MicroInterpreter interpreter(model, ops, allocator, variables);
  if (interpreter.AllocateTensors() != kTfLiteOk) { fprintf(stderr, "state_oracle: AllocateTensors() failed\n"); return 1; }
  TfLiteTensor* in = interpreter.input(0);
  TfLiteTensor* out = interpreter.output(0);
  if (in->bytes == 0 || inputs.size() % in->bytes != 0) { fprintf(stderr, "state_oracle: inputs are not whole tensors\n"); return 1; }
  size_t n = inputs.size() / in->bytes;
  std::vector<uint8_t> outputs;
  for (size_t i = 0; i < n; i++) {
    if (reset && interpreter.Reset() != kTfLiteOk) { fprintf(stderr, "state_oracle: Reset() failed\n"); return 1; }
    memcpy(in->data.raw, inputs.data() + i * in->bytes, in->bytes);
    if (interpreter.Invoke() != kTfLiteOk) { fprintf(stderr, "state_oracle: Invoke() failed on input %zu\n", i); return 1; }
    outputs.insert(outputs.end(), out->data.uint8, out->data.uint8 + out->bytes);
  }
  FILE* f = fopen(argv[3], "wb");
  if (!f || fwrite(outputs.data(), 1, outputs.size(), f) != outputs.size()) { fprintf(stderr, "cannot write outputs\n"); return 1; }
  fclose(f);
  printf("{\"arena_used_bytes\": %zu, \"inputs\": %zu}\n", interpreter.arena_used_bytes(), n);
  return 0;
}
