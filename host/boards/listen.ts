// Streaming wakeword on an emulated board: the first hops of a recording go
// through the module's front end, ring and model inside the firmware
// (firmware/listen.c), checked against the reference's window scores, and
// the guest instructions per 32 ms hop are counted (the difference of two
// runs over their difference in hops), for the front end alone (hops before
// the first window fills) and for front end + inference (steady state), with
// the model re-run on every window and computed incrementally.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HOP_SAMPLES as HOP } from "../../assembly/frontend";
import { streamWindow } from "../audio/listen";
import { readWav } from "../audio/wav";
import { convertTflite } from "../convert";
import { fail } from "../errors";
import { buildGoldenFirmware, runFirmware } from "./build";

export interface ListenMeasurement {
  windows: number;
  exact: number; // windows byte-exact with the full re-run
  incrementalExact: number; // and with incremental inference
  featuresInstructionsPerHop: number;
  instructionsPerHop: number; // features + full re-run of the model
  incrementalInstructionsPerHop: number; // features + incremental inference
  linearMemoryBytes: number;
  incrementalLinearMemoryBytes: number;
}

export function measureListenOnBoard(board: string, modelsDir: string): ListenMeasurement {
  const { wisp, info } = convertTflite(new Uint8Array(readFileSync(join(modelsDir, "sww", "model.tflite"))));
  const audio = readWav(new Uint8Array(readFileSync(join(modelsDir, "samples", "short_wav_easy10s.wav")))).samples;
  const expected = readFileSync(join(modelsDir, "sww", "real", "outputs.bin"));
  // Frame f is whole after hop f + 2, so windows of `frames` start after hop `frames`.
  const window = streamWindow(info.input);
  const fillingHops = window.frames;
  const run = (hops: number, incremental = false) => {
    const windows = Math.max(0, hops - fillingHops);
    const { elf } = buildGoldenFirmware({
      board, program: "listen", fromFlash: true, incremental, name: `sww-${hops}`, wisp, arenaBytes: info.arenaBytes, count: hops,
      inputs: new Uint8Array(audio.buffer, audio.byteOffset, hops * HOP * 2), outputs: expected.subarray(0, windows * 3), outputBytes: 3,
      inputScale: info.input.scale, inputZeroPoint: info.input.zeroPoint, window, outputScale: info.output.scale, outputZeroPoint: info.output.zeroPoint,
    });
    const r = runFirmware(board, elf, { countInstructions: true });
    const m = /(\d+)\/(\d+) windows byte-exact, \d+ detections, linear memory (\d+) bytes/.exec(r.stdout);
    if (!m || r.instructions === undefined) fail("IO", `${board} listen: ${r.stdout.trim()}`);
    return { exact: Number(m[1]), windows: Number(m[2]), memory: Number(m[3]), instructions: r.instructions, status: r.status };
  };
  const early = run(10), filling = run(20), steady = run(60), steadier = run(80);
  const steadyIncremental = run(60, true), steadierIncremental = run(80, true);
  return {
    windows: steadier.windows,
    exact: steadier.exact,
    incrementalExact: steadierIncremental.windows === steadier.windows ? steadierIncremental.exact : 0,
    featuresInstructionsPerHop: Math.round((filling.instructions - early.instructions) / 10),
    instructionsPerHop: Math.round((steadier.instructions - steady.instructions) / 20),
    incrementalInstructionsPerHop: Math.round((steadierIncremental.instructions - steadyIncremental.instructions) / 20),
    linearMemoryBytes: steadier.memory,
    incrementalLinearMemoryBytes: steadierIncremental.memory,
  };
}
