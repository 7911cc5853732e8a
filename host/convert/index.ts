// The converter pipeline: parse -> lower (validate, fuse, precompute) -> plan -> emit.
import { readTflite } from "./tflite";
import { lower } from "./lower";
import { planArena, PlanWork } from "./plan";
import { emitWisp, ModelInfo } from "./emit";

export type { ModelInfo, OpInfo, TensorInfo, VariableInfo } from "./emit";
export type { PlanWork } from "./plan";

// `work` is what planning the arena cost, in the planner's work units.
export function convertTflite(tflite: Uint8Array): { wisp: Uint8Array; info: ModelInfo; work: PlanWork } {
  const graph = lower(readTflite(tflite));
  const plan = planArena(graph);
  const { bytes, info } = emitWisp(graph, plan);
  return { wisp: bytes, info, work: plan.work! };
}
