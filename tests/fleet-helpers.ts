// Brokers for the federated tests: the embedded one (aedes) and a real
// mosquitto on the loopback interface, both enforcing the policy of
// provisioned fleets (host/fl/fleet-policy.ts).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect, createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { Broker, startBroker } from "../host/fl/mqtt";
import { mosquittoAcl, mosquittoConf, parsePasswd, parseUsername, Provisioned } from "../host/fl/fleet-policy";

export const mosquitto = ["/usr/sbin/mosquitto", "mosquitto"].find((m) => !spawnSync(m, ["-h"]).error);
export const NO_MOSQUITTO = "mosquitto not installed (host/c/install-toolchain.sh)";

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export type BrokerKind = "aedes" | "mosquitto";

// A broker for these fleets, with what it logged.
export async function fleetBroker(kind: BrokerKind, fleets: Provisioned[]): Promise<Broker & { log: string[] }> {
  const passwd = fleets.map((f) => f.passwd).join("");
  const log: string[] = [];
  if (kind === "aedes") return { ...(await startBroker(parsePasswd(passwd), (l) => log.push(l))), log };
  // One ACL file for all the fleets: the same rules, written as mosquitto reads them.
  const users = [...parsePasswd(passwd).keys()].map((username) => ({ username, who: parseUsername(username)! }));
  const dir = mkdtempSync(join(tmpdir(), "wisp-mosquitto-"));
  writeFileSync(join(dir, "passwd"), passwd, { mode: 0o600 });
  writeFileSync(join(dir, "acl"), mosquittoAcl(users));
  const port = await freePort();
  // Run as whoever runs the tests, who owns the (private) password file.
  writeFileSync(join(dir, "mosquitto.conf"), `${mosquittoConf(dir, port)}user ${userInfo().username}\n`);
  const child = spawn(mosquitto!, ["-c", join(dir, "mosquitto.conf")], { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr!.on("data", (d) => log.push(String(d)));
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, "127.0.0.1", () => { socket.destroy(); resolve(true); });
      socket.once("error", () => resolve(false));
    });
    if (up) break;
    if (i > 50 || child.exitCode !== null) throw new Error(`mosquitto did not start: ${log.join("")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    log,
    close: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
