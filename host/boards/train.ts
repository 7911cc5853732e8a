// Training on an emulated device: builds firmware/train.c (the trainer
// module, host/c/train, beside the inference module for the backbone),
// runs it under QEMU with its UART on a loopback socket, and speaks its
// frames ("WF", kind, u32 length, payload; see train.c); measures its
// guest instructions per sample, per step and per export, its flash and RAM.
import { ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";
import { fail } from "../errors";
import { PACKAGE_ROOT } from "../node/package-root";
import { loadSync } from "../node/api";
import { readHeadImageLayout } from "../fl/head-image";
import { trainerMemoryBytes } from "../fl/trainer";
import { BOARDS_DIR, cArray, cLibrary, readBoard, run, runFirmware, sectionSizes } from "./build";
import { connectWithRetry, freePort } from "./dut";

const C_DIR = join(PACKAGE_ROOT, "host", "c");
const GEN_DIR = join(PACKAGE_ROOT, "build", "c");
const OUT_DIR = join(PACKAGE_ROOT, "build", "firmware");

export interface UpdateOptions {
  bits: 8 | 4;
  topk: number;
  groups: number | "tensor";
  modelVersion: number;
  clientId: number;
}

export interface TrainFirmware {
  board: string; // e.g. "mps2-an386"
  name: string;
  head: Uint8Array; // the provisioned head image (HeadTrainer.image())
  labels: Uint8Array;
  features?: Int8Array; // precomputed [examples][in], or:
  images?: Uint8Array[]; // 28 x 28 gray, through the backbone on the device
  backbone?: Uint8Array; // the .wisp of backboneFeatureModel (host/fl/fashion-mnist.ts)
  epochs: number;
  batch: number;
  rounds?: number; // 0 (default): until the host sends quit
  stage?: number; // see train.c; default 5, the rounds over the UART
  update: UpdateOptions;
  // Provisioning: the fleet whose server's signed deltas the device applies
  // (needed for the rounds over the UART), and the round whose delta the
  // head already holds (-1, the default: the fleet's initial model).
  fleet?: { name: string; serverPublicKey: string }; // the key as in device.json: Ed25519 SPKI DER, base64
  appliedRound?: number;
  signedDelta?: Uint8Array; // stages 6 and 7: a signed delta in flash, verified (and applied) once
}

// The raw 32-byte Ed25519 key in a base64 SPKI DER (12 bytes of prefix, then the key).
export function rawPublicKey(spkiBase64: string): Uint8Array {
  const der = Buffer.from(spkiBase64, "base64");
  if (der.length !== 44 || !der.subarray(0, 12).equals(Buffer.from("302a300506032b6570032100", "hex"))) fail("BAD_CONFIG", "the server's public key is not an Ed25519 SPKI key");
  return new Uint8Array(der.subarray(12));
}

export interface BuiltTrainFirmware {
  elf: string;
  trainerMemoryBytes: number;
  inferenceMemoryBytes: number;
}

const round16 = (n: number) => Math.ceil(n / 16) * 16;

export function buildTrainFirmware(f: TrainFirmware): BuiltTrainFirmware {
  const board = readBoard(f.board);
  if (board.startup !== "cortex-m") fail("USAGE", `the training firmware runs on the Cortex-M boards (${f.board} is not one)`);
  const { inDim, hidden, classes } = readHeadImageLayout(f.head);
  const count = f.labels.length;
  const withBackbone = f.backbone !== undefined;
  if (withBackbone ? f.images?.length !== count : f.features?.length !== count * inDim) fail("USAGE", `give ${count} images with a backbone, or ${count} x ${inDim} features`);
  if (!Number.isInteger(f.batch) || f.batch < 1 || !Number.isInteger(f.epochs) || f.epochs < 1) fail("USAGE", "batch and epochs are positive integers");
  const stage = f.stage ?? 5;
  if (stage === 5 && !f.fleet) fail("USAGE", "the rounds over the UART need the fleet (its name and the server's public key) the device applies deltas from");
  if (stage >= 6 && !f.signedDelta) fail("USAGE", `stage ${stage} verifies a signed delta in flash: give signedDelta`);
  const appliedRound = f.appliedRound ?? -1;
  if (!Number.isInteger(appliedRound) || appliedRound < -1 || appliedRound > 0x7fffffff) fail("USAGE", `appliedRound must be -1 or a round number (got ${appliedRound})`);
  const fleetName = f.fleet?.name ?? "";
  if (!/^[A-Za-z0-9_-]{0,64}$/.test(fleetName)) fail("USAGE", `fleet name "${fleetName}" must be letters, digits, '-' or '_'`);
  const out = join(OUT_DIR, `${f.board}-train-${f.name}-s${stage}`);
  mkdirSync(out, { recursive: true });
  const images = new Uint8Array(withBackbone ? count * 784 : 0);
  f.images?.forEach((im, i) => images.set(im, i * 784));
  const groups = f.update.groups === "tensor" ? 0 : f.update.groups;
  writeFileSync(join(out, "train_data.h"), `#include <stdint.h>
#define TRAIN_COUNT ${count}u
#define TRAIN_IN ${inDim}u
extern const uint8_t train_head[], train_labels[], train_images[], train_backbone[];
extern const int8_t train_features[];
extern const unsigned train_head_bytes, train_backbone_bytes, train_epochs, train_batch, train_rounds, train_stage;
extern const int train_bits, train_groups;
extern const double train_topk;
extern const uint32_t train_model_version, train_client_id;
extern const char train_fleet[];
extern const uint8_t train_server_key[32], train_signed_delta[];
extern const unsigned train_signed_delta_bytes;
extern const int32_t train_applied_round;
`);
  writeFileSync(join(out, "train_data.c"), `#include "train_data.h"
const unsigned train_head_bytes = ${f.head.length}, train_backbone_bytes = ${f.backbone?.length ?? 0};
const unsigned train_epochs = ${f.epochs}, train_batch = ${f.batch}, train_rounds = ${f.rounds ?? 0}, train_stage = ${stage};
const int train_bits = ${f.update.bits}, train_groups = ${groups};
const double train_topk = ${f.update.topk};
const uint32_t train_model_version = ${f.update.modelVersion}u, train_client_id = ${f.update.clientId}u;
const char train_fleet[] = "${fleetName}";
const int32_t train_applied_round = ${appliedRound};
const unsigned train_signed_delta_bytes = ${f.signedDelta?.length ?? 0};
${cArray("train_server_key", f.fleet ? rawPublicKey(f.fleet.serverPublicKey) : new Uint8Array(32))}${cArray("train_signed_delta", f.signedDelta ?? new Uint8Array(0))}${cArray("train_head", f.head)}${cArray("train_labels", f.labels)}${cArray("train_images", images)}${cArray("train_backbone", f.backbone ?? new Uint8Array(0))}${cArray("train_features", new Uint8Array(f.features?.buffer ?? new ArrayBuffer(0), f.features?.byteOffset, f.features?.length ?? 0), "int8_t")}`);
  // Each module's linear memory, as it uses it (from flash: the backbone's weights stay there).
  const trainerBytes = round16(trainerMemoryBytes(inDim, hidden, classes));
  const inferenceBytes = withBackbone ? round16(loadSync(f.backbone!, { streamWeights: true, simd: false }).memoryBytes) : 16;
  const trainLibrary = join(GEN_DIR, `${f.board}-train-${trainerBytes}`);
  run("make", ["-s", "-C", join(C_DIR, "train"), `BOARD=${f.board}`, `OUT=${trainLibrary}`, `TRAIN_MEMORY_BYTES=${trainerBytes}`]);
  const elf = join(out, "firmware.elf");
  run(board.cc, [
    ...board.cpu, "-O2", "-g", "-ffunction-sections", "-fdata-sections", "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0", "-DWISP_PAINT_STACK=1",
    `-DTRAIN_BACKBONE=${withBackbone ? 1 : 0}`, `-DWISP_MEMORY_BYTES=${inferenceBytes}`,
    "-I", C_DIR, "-I", join(C_DIR, "aot"), "-I", join(C_DIR, "train"), "-I", join(C_DIR, "verify"), "-I", GEN_DIR, "-I", out, "-I", join(BOARDS_DIR, "firmware"), "-I", join(BOARDS_DIR, "cortex-m"),
    join(BOARDS_DIR, "firmware", "train.c"), join(out, "train_data.c"), join(C_DIR, "verify", "wisp_verify.c"), join(BOARDS_DIR, board.name, "board.c"),
    join(C_DIR, "aot", "wasm_rt_static.c"), join(trainLibrary, "libwisp_train.a"), ...(withBackbone ? [cLibrary(board.name, "aot", board.hostKernels)] : []),
    `-Wl,--defsym=wisp_memory_limit=${inferenceBytes}`, `-Wl,--defsym=wisp_train_memory_limit=${trainerBytes}`,
    join(BOARDS_DIR, "cortex-m", "startup.c"), "--specs=rdimon.specs", "-nostartfiles", "-L", join(BOARDS_DIR, "cortex-m"), "-T", join(BOARDS_DIR, board.name, "board.ld"),
    ...board.ldflags, "-Wl,--gc-sections", "-lm", "-o", elf,
  ]);
  return { elf, trainerMemoryBytes: trainerBytes, inferenceMemoryBytes: withBackbone ? inferenceBytes : 0 };
}

// Frames, both ways.
export type FrameKind = "U" | "A" | "E" | "D" | "Q";
export interface Frame {
  kind: string;
  payload: Uint8Array;
}

export const MAX_FRAME_BYTES = 1 << 20;

export function encodeFrame(kind: FrameKind, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(7 + payload.length);
  out.set([0x57, 0x46, kind.charCodeAt(0)]);
  new DataView(out.buffer).setUint32(3, payload.length, true);
  out.set(payload, 7);
  return out;
}

// Collects frames from a byte stream; bytes before a "WF" are skipped, and a
// frame longer than MAX_FRAME_BYTES is a broken stream.
export class FrameReader {
  private buffer = new Uint8Array(0);

  push(chunk: Uint8Array): Frame[] {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.length);
    const frames: Frame[] = [];
    let at = 0;
    for (;;) {
      while (at + 1 < joined.length && !(joined[at] === 0x57 && joined[at + 1] === 0x46)) at++;
      if (at + 7 > joined.length) break;
      const length = new DataView(joined.buffer, at + 3, 4).getUint32(0, true);
      if (length > MAX_FRAME_BYTES) fail("IO", `the device sent a ${length}-byte frame (at most ${MAX_FRAME_BYTES})`);
      if (at + 7 + length > joined.length) break;
      frames.push({ kind: String.fromCharCode(joined[at + 2]), payload: joined.slice(at + 7, at + 7 + length) });
      at += 7 + length;
    }
    this.buffer = joined.slice(at);
    return frames;
  }
}

// A training firmware running under QEMU, its UART on a loopback socket.
export interface TrainDevice {
  next(): Promise<Frame>; // the next frame from the device
  send(kind: FrameKind, payload?: Uint8Array): void;
  exited: Promise<{ status: number | null; stdout: string }>; // QEMU's exit and the semihosted console
  close(): void;
}

export async function startTrainDevice(boardName: string, elf: string, timeoutMs = 300_000): Promise<TrainDevice> {
  const qemu = readBoard(boardName).qemu;
  const port = await freePort();
  const child: ChildProcess = spawn(qemu[0], [...qemu.slice(1), "-nographic", "-monitor", "none",
    "-serial", `tcp:127.0.0.1:${port},server=on,wait=on`, "-semihosting-config", "enable=on,target=native", "-kernel", elf],
  { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stdout += d));
  const exited = new Promise<{ status: number | null; stdout: string }>((resolve) => child.once("exit", (status) => resolve({ status, stdout })));
  const timer = setTimeout(() => child.kill(), timeoutMs);
  exited.then(() => clearTimeout(timer));
  let socket: Socket;
  try {
    socket = await connectWithRetry(port, 50);
  } catch (e) {
    child.kill();
    throw e;
  }
  const reader = new FrameReader();
  const frames: Frame[] = [];
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  socket.on("data", (chunk) => {
    try {
      frames.push(...reader.push(new Uint8Array(chunk)));
    } catch (e) {
      failure = e as Error;
    }
    wake?.();
  });
  socket.on("close", () => wake?.());
  socket.on("error", () => undefined); // a device that already exited; its exit says why
  let gone = false;
  exited.then(() => { gone = true; wake?.(); });
  return {
    next: () => new Promise<Frame>((resolve, reject) => {
      const check = () => {
        if (frames.length) { wake = null; resolve(frames.shift()!); }
        else if (failure) reject(failure);
        else if (gone) reject(new Error(`the device exited before sending a frame: ${stdout.trim()}`));
      };
      wake = check;
      check();
    }),
    send: (kind, payload) => {
      socket.write(encodeFrame(kind, payload));
    },
    exited,
    close: () => {
      clearTimeout(timer);
      socket.destroy();
      child.kill();
    },
  };
}

export interface TrainReport {
  samples: number;
  steps: number;
  updateBytes: number;
  trainerMemoryBytes: number;
  inferenceMemoryBytes: number;
  heapBytes: number;
  peakStackBytes: number;
}

export function parseTrainReport(stdout: string): TrainReport {
  const m = /train: stage \d+, (\d+) samples, (\d+) steps, update (\d+) bytes, trainer memory (\d+) bytes, inference memory (\d+) bytes, heap (\d+) bytes, peak stack (\d+) bytes/.exec(stdout);
  if (!m) fail("IO", `no report from the training firmware: ${stdout.trim().split("\n").slice(-3).join(" | ")}`);
  const [samples, steps, updateBytes, trainerMemoryBytes, inferenceMemoryBytes, heapBytes, peakStackBytes] = m.slice(1).map(Number);
  return { samples, steps, updateBytes, trainerMemoryBytes, inferenceMemoryBytes, heapBytes, peakStackBytes };
}

export interface TrainMeasurement {
  board: string;
  samples: number; // per round (examples x epochs)
  steps: number;
  instructionsPerImage?: number; // the backbone's features, per image (with a backbone)
  instructionsPerSample: number; // wisp_train_accumulate: forward, softmax, gradients
  instructionsPerStep: number; // wisp_train_update after a batch
  instructionsPerExport: number; // wisp_train_export: the update message
  instructionsPerVerify?: number; // checking a signed global delta (Ed25519, wisp_verify.c), with a signedDelta
  instructionsPerApply?: number; // then back to the round's start and the delta applied
  updateBytes: number;
  flashBytes: number; // .text + .data of the firmware (the stage that sends over the UART), data included
  dataFlashBytes: number; // of which the head image, examples and backbone model
  ramBytes: number; // .data + .bss (both linear memories included) + heap + peak stack, of a round up to the export
  trainerMemoryBytes: number;
  inferenceMemoryBytes: number;
  peakStackBytes: number;
}


// Guest instructions of each part, as differences of whole runs that stop
// after it (train.c's stages), counted by the QEMU plugin; onStep sees each run.
export function measureTrainOnBoard(f: Omit<TrainFirmware, "stage">, onStep?: (done: number) => void): TrainMeasurement {
  const stages = f.signedDelta ? [0, 1, 2, 3, 4, 6, 7] : [0, 1, 2, 3, 4];
  const runs = stages.map((stage, done) => {
    const built = buildTrainFirmware({ ...f, stage });
    const r = runFirmware(f.board, built.elf, { countInstructions: true });
    if (r.status !== 0 || r.instructions === undefined) fail("IO", `training firmware stage ${stage} failed: ${r.stdout.trim()}`);
    const delta = /train: delta status (-?\d+)/.exec(r.stdout);
    if (stage >= 6 && delta?.[1] !== "0") fail("IO", `training firmware stage ${stage}: the signed delta was refused (${delta ? `status ${delta[1]}` : r.stdout.trim()})`);
    onStep?.(done + 1);
    return { built, instructions: r.instructions, report: parseTrainReport(r.stdout) };
  });
  const last = runs[runs.length - 1]; // the deepest: with a signed delta, its check and apply
  const samples = runs[2].report.samples, steps = runs[3].report.steps;
  const uart = buildTrainFirmware({ ...f, stage: 5, signedDelta: undefined, fleet: f.fleet ?? { name: "measure", serverPublicKey: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.alloc(32)]).toString("base64") } });
  const sizes = sectionSizes(f.board, uart.elf), ram = sectionSizes(f.board, last.built.elf);
  const count = f.labels.length;
  return {
    board: f.board, samples, steps,
    instructionsPerImage: f.backbone ? Math.round((runs[1].instructions - runs[0].instructions) / count) : undefined,
    instructionsPerSample: Math.round((runs[2].instructions - runs[1].instructions) / samples),
    instructionsPerStep: Math.round((runs[3].instructions - runs[2].instructions) / steps),
    instructionsPerExport: runs[4].instructions - runs[3].instructions,
    instructionsPerVerify: f.signedDelta ? runs[5].instructions - runs[4].instructions : undefined,
    instructionsPerApply: f.signedDelta ? runs[6].instructions - runs[5].instructions : undefined,
    updateBytes: last.report.updateBytes,
    flashBytes: sizes.text + sizes.data,
    dataFlashBytes: f.head.length + f.labels.length + (f.backbone ? f.backbone.length + count * 784 : (f.features?.length ?? 0)),
    ramBytes: ram.data + ram.bss + last.report.heapBytes + last.report.peakStackBytes,
    trainerMemoryBytes: last.report.trainerMemoryBytes,
    inferenceMemoryBytes: last.report.inferenceMemoryBytes,
    peakStackBytes: last.report.peakStackBytes,
  };
}
