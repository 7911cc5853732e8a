// The trainer's ABI (build/wisp-train.wasm, built apart from build/wisp.wasm
// so devices that never train do not pay for it).
//   1. wisp_train_init(in, hidden, classes) -> 0 or an error code
//   2. the host writes the parameter words at wisp_train_params_ptr(), the
//      int8 weights and the int32 biases (in the channel records), then
//      wisp_train_prepare()
//   3. per sample: features at wisp_train_input_ptr(), wisp_train_accumulate(label);
//      after a batch: wisp_train_update(); wisp_train_predict() for inference.
import { ensureMemory, modelBase } from "../arena";
import * as head from "./head";

let ready = false;
let regionEnd: usize = 0;

export function wisp_train_init(inDim: i32, hidden: i32, classes: i32): i32 {
  if (inDim < 1 || hidden < 1 || classes < 2 || inDim > 4096 || hidden > 4096 || classes > 256) return 4;
  const base = modelBase();
  const bytes = head.regionBytes(inDim, hidden, classes);
  if (!ensureMemory(<u64>base + <u64>bytes)) return 6;
  memory.fill(base, 0, bytes);
  head.layout(base, inDim, hidden, classes);
  regionEnd = base + bytes;
  ready = true;
  return 0;
}

export function wisp_train_region_bytes(): usize {
  return ready ? regionEnd - modelBase() : 0;
}

export function wisp_train_params_ptr(): usize { return head.paramsPtr(); }
export function wisp_train_weights1_ptr(): usize { return head.weights1Ptr(); }
export function wisp_train_weights2_ptr(): usize { return head.weights2Ptr(); }
export function wisp_train_residuals1_ptr(): usize { return head.residuals1Ptr(); }
export function wisp_train_residuals2_ptr(): usize { return head.residuals2Ptr(); }
export function wisp_train_records1_ptr(): usize { return head.records1Ptr(); }
export function wisp_train_records2_ptr(): usize { return head.records2Ptr(); }
export function wisp_train_input_ptr(): usize { return head.inputPtr(); }
export function wisp_train_logits_ptr(): usize { return head.logitsPtr(); }
export function wisp_train_hidden_ptr(): usize { return head.hiddenPtr(); }
export function wisp_train_grad2_ptr(): usize { return head.grad2Ptr(); }

export function wisp_train_prepare(): i32 {
  if (!ready) return 7;
  head.prepare();
  return 0;
}

export function wisp_train_predict(): i32 {
  return ready ? head.forward() : -7;
}

export function wisp_train_accumulate(label: i32): i32 {
  if (!ready) return 7;
  head.accumulate(label);
  return 0;
}

export function wisp_train_update(): i32 {
  return ready ? head.update() : -7;
}
