// `wisp fl ...`: the fleet operator's commands (docs/fleet.md).
import { join } from "node:path";
import { fail } from "../errors";
import { provisionFleet, writeProvisioned } from "./fleet-policy";

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
  }
  fail("USAGE", sub === undefined ? "fl needs a subcommand: provision" : `unknown fl subcommand "${sub}"`);
}
