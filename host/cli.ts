// The `wisp` command line. Bad input exits 1 (2 for usage errors) with one
// line on stderr and no stack trace.
import { readFileSync, writeFileSync } from "node:fs";
import * as A from "../assembly/frontend";
import { WispError, fail } from "./errors";
import { convertTflite, ModelInfo } from "./convert";
import { detectFormat, loadSync } from "./node/api";
import { fetchModels } from "./node/models";
import { buildModule } from "./node/build-module";
import { benchModel, formatBench } from "./node/bench-model";
import { listen, streamWindow } from "./audio/listen";
import { scoreDetections } from "./audio/score";
import { readWav } from "./audio/wav";
import { flCommand, signCommand, verifyCommand } from "./fl/cli";

const USAGE = `usage:
  wisp convert <model.tflite> -o <model.wisp>
  wisp run <model.tflite|model.wisp> --input <in.bin> --output <out.bin>
  wisp inspect <model.tflite|model.wisp> [--json]
  wisp listen <model.tflite|model.wisp> <file.wav> [--json] [--score <windows.json>]
  wisp build-module <model.tflite|model.wisp> -o <runtime.wasm> [--with-audio]
  wisp bench <model.tflite|model.wisp> [--runs N] [--input <in.bin>] [--no-board] [--json]
  wisp fetch-models [--dir <folder>]
  wisp fl provision --devices <N> --out <dir> [--fleet <name>]
  wisp sign <file> --key <server.json> [--version <N>] [-o <file.sig>]
  wisp verify <file> --key <server.json|device.json> [--sig <file.sig>] [--installed <N>]
  wisp fl serve --config <fl.json> --server <server.json> --broker <mqtt://host:port> (--params <N> | --weights <f32 file>)
  wisp fl bridge --device <device.json> --broker <mqtt://host:port> --elf <training firmware> [--board mps2-an386] [--rounds N]`;

interface Args {
  positional: string[];
  flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set(["-o", "--output", "--input", "--dir", "--score", "--runs", "--devices", "--out", "--fleet", "--config", "--server", "--broker", "--params", "--weights", "--model-version", "--round-ms", "--key", "--version", "--sig", "--installed", "--device", "--elf", "--board", "--rounds"]);

function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (VALUE_FLAGS.has(a)) {
      if (i + 1 >= argv.length) fail("USAGE", `${a} needs a value`);
      flags.set(a, argv[++i]);
    } else if (a.startsWith("-") && a !== "-") {
      flags.set(a, true);
    } else {
      positional.push(a);
    }
  }
  return { positional, flags };
}

function expectFlags(args: Args, allowed: string[]): void {
  for (const f of args.flags.keys()) if (!allowed.includes(f)) fail("USAGE", `unknown option ${f}`);
}

function readInput(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    return fail("IO", `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function writeOutput(path: string, bytes: Uint8Array): void {
  try {
    writeFileSync(path, bytes);
  } catch (e) {
    fail("IO", `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

// The MLPerf Tiny test description: [{ "detection_windows": [[start, stop], ...] }].
function readDetectionWindows(path: string): [number, number][] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(readInput(path)));
  } catch (e) {
    if (e instanceof WispError) throw e;
    return fail("BAD_INPUT", `${path} is not JSON`);
  }
  const windows = Array.isArray(parsed) ? (parsed[0] as { detection_windows?: unknown })?.detection_windows : undefined;
  const valid = Array.isArray(windows) && windows.every((w) => Array.isArray(w) && w.length === 2 && w.every((t) => typeof t === "number" && Number.isFinite(t)));
  if (!valid) fail("BAD_INPUT", `${path} has no detection_windows list of [start, stop] seconds`);
  return windows as [number, number][];
}

function onePath(args: Args, what: string): string {
  if (args.positional.length !== 1) fail("USAGE", `expected one ${what}`);
  return args.positional[0];
}

function shape(s: number[]): string {
  return s.join("x");
}

function summary(info: ModelInfo): string {
  return `${info.ops.length} ops, ${info.macs.toLocaleString("en-US")} MACs, arena ${info.arenaBytes} bytes, weights ${info.weightsBytes} bytes, input ${shape(info.input.shape)}, output ${shape(info.output.shape)}`;
}

function table(info: ModelInfo): string {
  const rows = [["#", "op", "inputs", "output", "MACs", "arena offset", "arena bytes", "weights"]];
  for (const o of info.ops) {
    rows.push([String(o.index), o.op, o.inputShapes.map(shape).join(" + "), shape(o.outputShape), o.macs.toLocaleString("en-US"), String(o.arenaOffset), String(o.arenaBytes), String(o.weightsBytes)]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) => r.map((cell, c) => (c >= 4 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join("  "));
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  if (info.variables.length > 0) {
    // Resource variables keep their place for the model's whole life.
    lines.push("", "resource variables (kept across invokes; arena offset, bytes, first fill):");
    for (const v of info.variables) lines.push(`  variable ${v.name}  ${v.arenaOffset}  ${v.arenaBytes}  fill ${v.fill}`);
  }
  lines.push("", `total: ${summary(info)}`);
  return lines.join("\n");
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const args = parseArgs(rest);
  switch (command) {
    case "convert": {
      expectFlags(args, ["-o", "--output"]);
      const input = onePath(args, "input .tflite file");
      const output = (args.flags.get("-o") ?? args.flags.get("--output")) as string | undefined;
      if (!output) fail("USAGE", "convert needs -o <model.wisp>");
      const bytes = readInput(input);
      if (detectFormat(bytes) !== "tflite") fail("BAD_INPUT", `${input} is not a .tflite model`);
      const { wisp, info } = convertTflite(bytes);
      writeOutput(output, wisp);
      console.log(`wrote ${output} (${wisp.length} bytes): ${summary(info)}`);
      return;
    }
    case "run": {
      expectFlags(args, ["--input", "--output"]);
      const modelPath = onePath(args, "model file");
      const inPath = args.flags.get("--input") as string | undefined;
      const outPath = args.flags.get("--output") as string | undefined;
      if (!inPath || !outPath) fail("USAGE", "run needs --input <in.bin> and --output <out.bin>");
      const model = loadSync(readInput(modelPath));
      const input = readInput(inPath);
      const n = input.length / model.inputBytes;
      if (input.length === 0 || !Number.isInteger(n)) fail("BAD_INPUT", `${inPath} holds ${input.length} bytes, not a multiple of the input size ${model.inputBytes}`);
      const out = new Uint8Array(n * model.outputBytes);
      for (let i = 0; i < n; i++) {
        const x = new Int8Array(input.buffer, input.byteOffset + i * model.inputBytes, model.inputBytes);
        out.set(new Uint8Array(model.invoke(x).buffer), i * model.outputBytes);
      }
      writeOutput(outPath, out);
      console.log(`ran ${n} input${n === 1 ? "" : "s"}, wrote ${out.length} bytes to ${outPath}`);
      return;
    }
    case "inspect": {
      expectFlags(args, ["--json"]);
      const model = loadSync(readInput(onePath(args, "model file")));
      console.log(args.flags.has("--json") ? JSON.stringify(model.info, null, 2) : table(model.info));
      return;
    }
    case "listen": {
      expectFlags(args, ["--json", "--score"]);
      if (args.positional.length !== 2) fail("USAGE", "listen needs a model and a .wav file");
      const [modelPath, wavPath] = args.positional;
      const wav = readWav(readInput(wavPath));
      const model = loadSync(readInput(modelPath));
      const result = listen(model, wav);
      if (args.flags.has("--json")) {
        console.log(JSON.stringify(result.detections));
      } else {
        console.log(`${result.windows} windows of ${streamWindow(model.info.input).frames} frames (one per ${(1000 * A.HOP_SAMPLES) / A.SAMPLE_RATE} ms hop)`);
        console.log(`wakeword probability per window: ${result.probabilities.map((p) => p.toFixed(3)).join(" ")}`);
        if (result.detections.length === 0) console.log("no detections");
        for (const d of result.detections) console.log(`detection at ${d.time_s.toFixed(3)} s (window ${d.window}, probability ${d.probability.toFixed(4)})`);
      }
      const scorePath = args.flags.get("--score") as string | undefined;
      if (scorePath) {
        const windows = readDetectionWindows(scorePath);
        const s = scoreDetections(result.probabilities.map((p) => p > A.DETECTION_THRESHOLD), wav.samples.length, windows);
        const line = `MLPerf Tiny scoring: ${s.truePositives} true detections, ${s.falsePositives} false detections, ${s.falseNegatives} false rejections`;
        (args.flags.has("--json") ? console.error : console.log)(line);
      }
      return;
    }
    case "build-module": {
      expectFlags(args, ["-o", "--output", "--with-audio"]);
      const modelPath = onePath(args, "model file");
      const output = (args.flags.get("-o") ?? args.flags.get("--output")) as string | undefined;
      if (!output) fail("USAGE", "build-module needs -o <runtime.wasm>");
      const bytes = readInput(modelPath);
      const wisp = detectFormat(bytes) === "tflite" ? convertTflite(bytes).wisp : bytes;
      const model = loadSync(wisp); // validates the model before building for it
      const { wasm } = buildModule(wisp, { audio: args.flags.has("--with-audio") });
      // The new module must run the model exactly as the full one does.
      const own = loadSync(wisp, { module: wasm });
      const probe = Int8Array.from({ length: model.inputBytes }, (_, i) => ((i * 37) % 256) - 128);
      if (!Buffer.from(own.invoke(probe).buffer).equals(Buffer.from(model.invoke(probe).buffer))) fail("RUNTIME", "the built module's output differs from build/wisp.wasm's");
      writeOutput(output, wasm);
      console.log(`wrote ${output} (${wasm.length} bytes) for ${Object.keys(model.info.opCounts).join(", ")}${args.flags.has("--with-audio") ? ", with the audio front ends" : ""}`);
      return;
    }
    case "sign":
      expectFlags(args, ["--key", "--version", "-o"]);
      return signCommand(args.positional, args.flags);
    case "verify":
      expectFlags(args, ["--key", "--sig", "--installed"]);
      return verifyCommand(args.positional, args.flags);
    case "fl":
      return flCommand(args.positional, args.flags, expectFlags);
    case "bench": {
      expectFlags(args, ["--runs", "--input", "--no-board", "--json"]);
      const modelPath = onePath(args, "model file");
      const runs = Number(args.flags.get("--runs") ?? 200);
      if (!Number.isInteger(runs) || runs < 1 || runs > 1e6) fail("USAGE", "--runs takes a whole number from 1 to 1000000");
      const inPath = args.flags.get("--input") as string | undefined;
      const report = benchModel(readInput(modelPath), { runs, input: inPath ? readInput(inPath) : undefined, board: !args.flags.has("--no-board") });
      console.log(args.flags.has("--json") ? JSON.stringify(report, null, 2) : formatBench(modelPath, report));
      return;
    }
    case "fetch-models": {
      expectFlags(args, ["--dir"]);
      await fetchModels((args.flags.get("--dir") as string | undefined) ?? undefined);
      return;
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return;
  }
  fail("USAGE", `unknown command "${command}"`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof WispError) {
    const hint = e.code === "USAGE" ? " (run `wisp help` for usage)" : "";
    process.stderr.write(`wisp: ${e.code}: ${e.message}${hint}\n`);
    process.exit(e.code === "USAGE" ? 2 : 1);
  }
  process.stderr.write(`wisp: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
