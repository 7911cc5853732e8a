// `wisp fl ...`: the fleet operator's commands (docs/fleet.md).
import { join } from "node:path";
import { fail } from "../errors";
import { readFileSync } from "node:fs";
import { parseConfig } from "./aggregate";
import { provisionFleet, readServerCredential, writeProvisioned } from "./fleet-policy";
import { MqttRoundServer } from "./mqtt";
import { MqttSecureRoundServer } from "./mqtt-secure";

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
  fail("USAGE", sub === undefined ? "fl needs a subcommand: provision, serve" : `unknown fl subcommand "${sub}"`);
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
