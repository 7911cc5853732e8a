// `wisp fl ...`: the fleet operator's commands (docs/fleet.md).
import { join } from "node:path";
import { fail } from "../errors";
import { readFileSync, writeFileSync } from "node:fs";
import { parseConfig } from "./aggregate";
import { provisionFleet, readDeviceCredential, readServerCredential, writeProvisioned } from "./fleet-policy";
import { MqttRoundServer } from "./mqtt";
import { MqttSecureRoundServer } from "./mqtt-secure";
import { privateKey, publicKey, signFile, verifyFile } from "./signing";

type Flags = Map<string, string | true>;

export async function flCommand(positional: string[], flags: Flags, expectFlags: (args: { positional: string[]; flags: Flags }, allowed: string[]) => void): Promise<void> {
  const [sub, ...rest] = positional;
  const args = { positional: rest, flags };
  switch (sub) {
    case "provision": {
      expectFlags(args, ["--devices", "--out", "--fleet"]);
      const out = flags.get("--out"), devices = flags.get("--devices");
      if (typeof out !== "string" || typeof devices !== "string") fail("USAGE", "fl provision needs --devices <N> --out <dir>");
      if (rest.length) fail("USAGE", `unexpected argument "${rest[0]}"`);
      const fleet = (flags.get("--fleet") as string | undefined) ?? "fleet";
      const p = provisionFleet(fleet, /^\d+$/.test(devices) ? Number(devices) : NaN);
      writeProvisioned(out, p);
      console.log(`fleet "${fleet}": ${p.devices.length} device credentials in ${join(out, "devices")}, the server's in ${join(out, "server.json")} (keep it secret),`);
      console.log(`broker policy in ${join(out, "broker")} (passwd, acl, mosquitto.conf); the server's public key: ${p.server.publicKey}`);
      return;
    }
    case "bridge": {
      // Runs a training firmware under QEMU as one device of the fleet: its
      // updates go to the server, the server's signed deltas go back in.
      expectFlags(args, ["--device", "--broker", "--elf", "--board", "--rounds"]);
      const need = (f: string) => {
        const v = flags.get(f);
        if (typeof v !== "string") fail("USAGE", `fl bridge needs ${f}`);
        return v;
      };
      const credential = readDeviceCredential(need("--device"));
      const rounds = flags.has("--rounds") ? positiveInt(need("--rounds"), "--rounds") : undefined;
      const { startDeviceBridge, bridgeToFleet } = await import("./device-bridge");
      const bridge = await startDeviceBridge({ board: flags.has("--board") ? need("--board") : "mps2-an386", elf: need("--elf") });
      try {
        const r = await bridgeToFleet({ url: need("--broker"), credential, bridge, rounds, onEvent: (e) => console.log(e) });
        console.log(`device ${credential.id}: applied the deltas of rounds ${r.applied.join(", ") || "none"}; refused ${r.refused.length}`);
      } finally {
        const { status, console: out } = await bridge.close();
        if (status !== 0) console.error(`wisp fl: the device exited with status ${status}: ${out.trim().split("\n").slice(-2).join(" | ")}`);
      }
      return;
    }
    case "serve": {
      // Runs the config's rounds (resuming where its store left off) and
      // prints progress on stdout, one line per event; refusals go to stderr.
      expectFlags(args, ["--config", "--server", "--broker", "--params", "--weights", "--model-version", "--round-ms"]);
      const need = (f: string) => {
        const v = flags.get(f);
        if (typeof v !== "string") fail("USAGE", `fl serve needs ${f}`);
        return v;
      };
      const config = parseConfig(readJsonFile(need("--config")));
      const credential = readServerCredential(need("--server"));
      const weights = flags.has("--weights") ? readWeights(need("--weights")) : new Float32Array(positiveInt(need("--params"), "--params"));
      const modelVersion = flags.has("--model-version") ? positiveInt(need("--model-version"), "--model-version") : 1;
      const roundMs = flags.has("--round-ms") ? positiveInt(need("--round-ms"), "--round-ms") : 30_000;
      const options = { onEvent: (e: string) => console.log(e) };
      const server = config.secure_aggregation
        ? await MqttSecureRoundServer.start(need("--broker"), credential, config, modelVersion, weights, options)
        : await MqttRoundServer.start(need("--broker"), credential, config, modelVersion, weights, options);
      try {
        while (server.round < config.rounds) {
          try {
            await server.runRound(roundMs);
          } catch (e) {
            if ((e as { code?: string }).code !== "RUNTIME") throw e;
            console.error(`wisp fl: ${(e as Error).message}`);
          }
        }
        if (server instanceof MqttRoundServer) await server.publishGlobal();
        console.log(`finished ${server.round} rounds`);
      } finally {
        await server.close();
      }
      return;
    }
  }
  fail("USAGE", sub === undefined ? "fl needs a subcommand: provision, serve, bridge" : `unknown fl subcommand "${sub}"`);
}

function positiveInt(v: string, flag: string): number {
  if (!/^[1-9]\d{0,8}$/.test(v)) fail("USAGE", `${flag} must be a positive integer (got "${v}")`);
  return Number(v);
}

function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    return fail("IO", `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    return fail("BAD_CONFIG", `${path} is not JSON`);
  }
}

// A model as raw little-endian float32 parameters.
function readWeights(path: string): Float32Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    return fail("IO", `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (bytes.length === 0 || bytes.length % 4 !== 0) fail("BAD_INPUT", `${path} is not float32 parameters (${bytes.length} bytes)`);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

function readBytes(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    return fail("IO", `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

// `wisp sign <file> --key server.json [--version N] [-o file.sig]`: a
// detached signature for an over-the-air runtime module or .wisp model.
export function signCommand(positional: string[], flags: Flags): void {
  if (positional.length !== 1) fail("USAGE", "sign needs one file");
  const keyPath = flags.get("--key");
  if (typeof keyPath !== "string") fail("USAGE", "sign needs --key <server.json>");
  const version = flags.get("--version");
  const v = version === undefined ? 0 : typeof version === "string" && /^\d{1,10}$/.test(version) ? Number(version) : NaN;
  const sig = signFile(readBytes(positional[0]), v, privateKey(readServerCredential(keyPath).signingKey));
  const out = (flags.get("-o") as string | undefined) ?? `${positional[0]}.sig`;
  try {
    writeFileSync(out, sig);
  } catch (e) {
    fail("IO", `cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  console.log(`wrote ${out}: version ${v} of ${positional[0]}, signed by fleet "${readServerCredential(keyPath).fleet}"`);
}

// `wisp verify <file> --key <server.json|device.json> [--sig file.sig] [--installed N]`.
export function verifyCommand(positional: string[], flags: Flags): void {
  if (positional.length !== 1) fail("USAGE", "verify needs one file");
  const keyPath = flags.get("--key");
  if (typeof keyPath !== "string") fail("USAGE", "verify needs --key <server.json|device.json>");
  const json = readJsonFile(keyPath) as { publicKey?: unknown; serverPublicKey?: unknown };
  const key = typeof json.serverPublicKey === "string" ? json.serverPublicKey : typeof json.publicKey === "string" ? json.publicKey : fail("BAD_CONFIG", `${keyPath} holds no fleet public key`);
  const installed = flags.get("--installed");
  const min = installed === undefined ? -1 : typeof installed === "string" && /^\d{1,10}$/.test(installed) ? Number(installed) : fail("USAGE", "--installed must be a version number");
  const version = verifyFile(readBytes(positional[0]), readBytes((flags.get("--sig") as string | undefined) ?? `${positional[0]}.sig`), publicKey(key), min);
  console.log(`${positional[0]}: good signature, version ${version}`);
}
