// Lowers TFLM's resource variables and CALL_ONCE (records of
// assembly/ops/variable.ts and ONCE records):
//   VAR_HANDLE       no record: names a variable by (container, shared_name),
//                    the same one in every subgraph, as TFLM's
//                    MicroResourceVariables does
//   READ_VARIABLE    the output shares the variable's buffer when no later
//                    ASSIGN_VARIABLE can change it while the output is still
//                    read; otherwise a copy
//   ASSIGN_VARIABLE  no record when the value's producer can write straight into
//                    the variable (Lowering.writeInto); otherwise a copy into
//                    it (from a constant block in init graphs)
//   CALL_ONCE        the init subgraph, lowered in place inside a ONCE block
// A variable is a value of its own that the planner keeps alive across
// invokes (graph.variables). Its size, type and first fill come from its
// first ASSIGN_VARIABLE in TFLM's prepare order (subgraph 0 first): TFLM
// allocates it there and fills it with that tensor's zero point.
import type { Lowering } from "../lower";
import type { Value, Variable } from "../graph";
import { Builtin, Operator, Tensor, TensorType, TENSOR_TYPE_NAMES, TfliteModel } from "../tflite";
import { fail } from "../../errors";
import { pushRecord } from "./record";

// The types a variable may hold (READ and ASSIGN move bytes, whatever the type).
const TYPES = [TensorType.INT8, TensorType.UINT8, TensorType.INT16, TensorType.INT32];
const ELEMENT_BYTES: Record<number, number> = { [TensorType.INT8]: 1, [TensorType.UINT8]: 1, [TensorType.INT16]: 2, [TensorType.INT32]: 4 };

interface State {
  byKey: Map<string, Variable | null>; // null: declared, never assigned
  keyOf: Map<number, string>; // VAR_HANDLE output tensor -> variable key
  opcode: number; // this op's, for the fills
}

const states = new WeakMap<Lowering, State>();

function keyOf(op: Operator): string {
  // VarHandleOptions: container 0, shared_name 1.
  return `${op.options?.string(0) ?? ""}\u0000${op.options?.string(1) ?? ""}`;
}

function displayName(key: string): string {
  const [container, shared] = key.split("\u0000");
  return (container ? `${container}/${shared}` : shared) || "(unnamed)";
}

// Finds every variable before the first op is lowered: which VAR_HANDLE
// names which variable, and where each is first assigned.
function state(l: Lowering, opcode: number): State {
  let s = states.get(l);
  if (s) return s;
  const m: TfliteModel = l.model;
  s = { byKey: new Map(), keyOf: new Map(), opcode };
  const firstAssign = new Map<string, Tensor>();
  for (const g of m.subgraphs) {
    for (const op of g.operators) {
      if (op.builtin === Builtin.VAR_HANDLE && op.outputs.length === 1) s.keyOf.set(op.outputs[0], keyOf(op));
      if (op.builtin === Builtin.ASSIGN_VARIABLE && op.inputs.length === 2) {
        const key = s.keyOf.get(op.inputs[0]);
        const value = m.tensors[op.inputs[1]];
        if (key !== undefined && value && !firstAssign.has(key)) firstAssign.set(key, value);
      }
    }
  }
  for (const key of new Set(s.keyOf.values())) {
    const t = firstAssign.get(key);
    if (!t) { s.byKey.set(key, null); continue; }
    const name = displayName(key);
    const elements = t.shape.reduce((a, b) => a * b, 1);
    const size = ELEMENT_BYTES[t.type];
    if (size === undefined) fail("UNSUPPORTED_TYPE", `resource variable "${name}" holds ${TENSOR_TYPE_NAMES[t.type] ?? t.type} values; Wisp keeps int8, uint8, int16 or int32 variables`);
    if (t.dynamic || t.shape.some((d) => d <= 0) || !Number.isSafeInteger(elements * size) || elements * size > 1 << 28) fail("BAD_MODEL", `resource variable "${name}" has shape ${JSON.stringify(t.shape)}`);
    const zeroPoint = t.zeroPoints[0] ?? 0;
    const quant = { scale: t.scales[0] ?? 1, zeroPoint };
    const value = l.addValue({ bytes: elements * size, shape: t.shape, quant, name: `variable ${name}`, type: t.type });
    // TFLM memsets the buffer with the zero point cast to int8.
    const fill = ((zeroPoint % 256) + 256) % 256;
    const variable: Variable = {
      value, name, fill,
      pushFill: () => pushRecord(l, opcode, { output: value, inputs: [], args: [fill > 127 ? fill - 256 : fill], tfliteOutput: t.index, name: "VARIABLE_FILL" }),
    };
    s.byKey.set(key, variable);
    l.variables.push(variable);
  }
  states.set(l, s);
  return s;
}

function variableOf(l: Lowering, s: State, resource: number): Variable {
  const key = s.keyOf.get(resource);
  if (key === undefined) l.reject("BAD_MODEL", "its resource input is not the output of a VAR_HANDLE");
  const v = s.byKey.get(key);
  if (!v) l.reject("BAD_MODEL", `resource variable "${displayName(key)}" is read, but no ASSIGN_VARIABLE ever writes it (TFLM would read an unallocated buffer)`);
  return v;
}

// A tensor moved into or out of a variable has the variable's size and type.
function checkSide(l: Lowering, v: Variable, index: number, role: string): void {
  const t = l.tensor(index, role);
  if (t.type !== v.value.type) l.reject("UNSUPPORTED_TYPE", `${role} tensor "${t.name}" is ${TENSOR_TYPE_NAMES[t.type]}, but variable "${v.name}" holds ${TENSOR_TYPE_NAMES[v.value.type]}`);
  const bytes = t.shape.reduce((a, b) => a * b, 1) * ELEMENT_BYTES[t.type];
  if (bytes !== v.value.bytes) l.reject("BAD_MODEL", `${role} tensor "${t.name}" has ${bytes} bytes, but variable "${v.name}" has ${v.value.bytes}`);
}

function side(l: Lowering, v: Variable, index: number, role: string): Value {
  checkSide(l, v, index, role);
  return l.activation(index, role, TYPES);
}

// The ops of the subgraph after `op` that read tensor `t`, directly or
// through the renaming ops (RESHAPE, SQUEEZE, EXPAND_DIMS share buffers),
// as indices; Infinity when a subgraph output holds it.
function lastUse(l: Lowering, op: Operator, t: number): number {
  const g = l.model.subgraphs[op.subgraph];
  const renames = new Set<number>([Builtin.RESHAPE, Builtin.SQUEEZE, Builtin.EXPAND_DIMS]);
  const names = new Set([t]);
  let last = op.index;
  for (const o of g.operators.slice(op.index + 1)) {
    if (!o.inputs.some((i) => names.has(i))) continue;
    last = o.index;
    if (renames.has(o.builtin) && names.has(o.inputs[0])) o.outputs.forEach((x) => names.add(x));
  }
  return g.outputs.some((x) => names.has(x)) ? Infinity : last;
}

// The first ASSIGN_VARIABLE to variable `v` after `op` in its subgraph.
function nextAssign(l: Lowering, s: State, op: Operator, v: Variable): number {
  const g = l.model.subgraphs[op.subgraph];
  const later = g.operators.slice(op.index + 1).find((o) => o.builtin === Builtin.ASSIGN_VARIABLE && s.byKey.get(s.keyOf.get(o.inputs[0]) ?? "") === v);
  return later ? later.index : Infinity;
}

export function lower(l: Lowering, builtin: string, opcode: number): void {
  const op = l.op;
  const s = state(l, opcode);
  switch (builtin) {
    case "VAR_HANDLE": {
      l.arity([0], 1);
      const t = l.tensor(op.outputs[0], "output");
      if (t.type !== TensorType.RESOURCE) l.reject("BAD_MODEL", `output tensor "${t.name}" is ${TENSOR_TYPE_NAMES[t.type]}, not a resource`);
      return;
    }
    case "READ_VARIABLE": {
      l.arity([1], 1);
      const v = variableOf(l, s, op.inputs[0]);
      const out = l.tensor(op.outputs[0], "output");
      const q = v.value.quant;
      const sameQuant = out.type === v.value.type && (out.scales[0] ?? 1) === q.scale && (out.zeroPoints[0] ?? 0) === q.zeroPoint;
      // Sharing the variable's buffer is safe while nothing assigns the
      // variable before the output's last reader.
      if (sameQuant && !out.dynamic && lastUse(l, op, op.outputs[0]) < nextAssign(l, s, op, v)) {
        checkSide(l, v, op.outputs[0], "output");
        l.alias(op.outputs[0], v.value);
        return;
      }
      pushRecord(l, opcode, { output: side(l, v, op.outputs[0], "output"), inputs: [v.value], args: [] });
      return;
    }
    case "ASSIGN_VARIABLE": {
      l.arity([2], 0);
      const v = variableOf(l, s, op.inputs[0]);
      const t = l.tensor(op.inputs[1], "value");
      if (t.data) {
        if (t.type !== v.value.type || t.data.length !== v.value.bytes) l.reject("BAD_MODEL", `constant "${t.name}" (${TENSOR_TYPE_NAMES[t.type]}, ${t.data.length} bytes) does not fit variable "${v.name}" (${TENSOR_TYPE_NAMES[v.value.type]}, ${v.value.bytes} bytes)`);
        pushRecord(l, opcode, { output: v.value, inputs: [], args: [], blocks: [t.data], tfliteOutput: op.inputs[1] });
        return;
      }
      const value = side(l, v, op.inputs[1], "value");
      // No copy when the value's producer can write it into the variable and
      // nothing reads the value after a later ASSIGN could change it.
      if (lastUse(l, op, op.inputs[1]) < nextAssign(l, s, op, v) && l.writeInto(op.inputs[1], value, v.value)) return;
      // No overlap: the variable keeps its bytes until this copy.
      pushRecord(l, opcode, { output: v.value, inputs: [value], args: [], tfliteOutput: op.inputs[1] });
      return;
    }
    case "CALL_ONCE": {
      l.arity([0], 0);
      if (op.subgraph !== 0) l.reject("UNSUPPORTED_OP", "CALL_ONCE inside an init graph is not supported");
      // CallOnceOptions: init_subgraph_index 0.
      l.lowerInitGraph(l.options().i32(0));
      return;
    }
  }
}
