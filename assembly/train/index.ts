// The trainer's ABI (build/wisp-train.wasm, built apart from build/wisp.wasm
// so devices that never train do not pay for it).
//   1. wisp_train_init(in, hidden, classes) -> 0 or an error code
//   2. the host writes the parameter words at wisp_train_params_ptr(), the
//      int8 weights and the int32 biases (in the channel records), then
//      wisp_train_prepare()
//   3. per sample: features at wisp_train_input_ptr(), wisp_train_accumulate(label);
//      after a batch: wisp_train_update(); wisp_train_predict() for inference.
//   4. federated rounds: wisp_train_units(...) once; after taking the global
//      head, wisp_train_begin_round(); after local training,
//      wisp_train_export(...) writes the update message (its length is
//      returned) at wisp_train_message_ptr(), keeping the error-feedback
//      residual at wisp_train_residual_ptr() for the next round.
import { ensureMemory, modelBase } from "../arena";
import * as head from "./head";
import * as update from "./update";

let ready = false;
let regionEnd: usize = 0;

export function wisp_train_init(inDim: i32, hidden: i32, classes: i32): i32 {
  if (inDim < 1 || hidden < 1 || classes < 2 || inDim > 4096 || hidden > 4096 || classes > 256) return 4;
  const base = modelBase();
  const headBytes = head.regionBytes(inDim, hidden, classes);
  const bytes = headBytes + update.regionBytes(hidden * inDim + classes * hidden + hidden + classes);
  if (!ensureMemory(<u64>base + <u64>bytes)) return 6;
  memory.fill(base, 0, bytes);
  head.layout(base, inDim, hidden, classes);
  update.layout(base + headBytes);
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

// The real value of one fine unit of w1, w2 (a Q16 int8 step times the
// layer's scale / 65536) and of b1, b2 (a bias unit).
export function wisp_train_units(w1: f64, w2: f64, b1: f64, b2: f64): i32 {
  if (!ready) return 7;
  update.setUnits(w1, w2, b1, b2);
  return 0;
}

export function wisp_train_begin_round(): i32 {
  if (!ready) return 7;
  update.beginRound();
  return 0;
}

// Parameter i's change since the round began, as a real number (w1, w2,
// b1, b2 in order): what the update carries before the residual.
export function wisp_train_delta(i: i32): f32 {
  return ready && i >= 0 && i < head.parameterCount() ? update.delta(i) : 0;
}

// Writes the update message; returns its bytes, or -4 for bad arguments.
export function wisp_train_export(bits: i32, topk: f64, groups: i32, modelVersion: u32, clientId: u32, round: u32, sampleCount: u32): i32 {
  if (!ready) return -7;
  const bytes = update.exportUpdate(bits, topk, groups, modelVersion, clientId, round, sampleCount);
  return bytes < 0 ? -4 : bytes;
}

export function wisp_train_message_ptr(): usize { return ready ? update.messagePtr() : 0; }
export function wisp_train_residual_ptr(): usize { return ready ? update.residualPtr() : 0; }

// Room for a message at wisp_train_message_ptr().
export function wisp_train_message_capacity(): usize { return ready ? update.messageBytes() : 0; }

// Adds a global delta from the server (an update message the host wrote at
// wisp_train_message_ptr()) to the head. 0, or 1 malformed, 2 bad CRC, 3 a
// message for another head; a refused message changes nothing.
export function wisp_train_apply(length: usize): i32 {
  if (!ready) return 7;
  return update.applyUpdate(update.messagePtr(), length);
}

// Puts the head back where the round began (the global head that
// wisp_train_begin_round marked), keeping the error-feedback residual: a
// device does this before it adds the server's global delta, so it follows
// the global model rather than its own local steps.
export function wisp_train_revert(): i32 {
  if (!ready) return 7;
  update.revert();
  return 0;
}
