// A bridge between a federated server and a device that trains in its own
// firmware (host/boards/firmware/train.c under QEMU): the device's update
// messages come out of its UART as they are made, and each signed global
// delta goes back in, to be checked (signature, fleet, round) and applied
// there. startDeviceBridge speaks to the firmware alone:
//
//   const bridge = await startDeviceBridge({ board: "mps2-an386", elf });
//   for await (const update of bridge.updates) {
//     publish(update);                           // the device's round update
//     const { status, head } = await bridge.sendDelta(await nextSignedDelta());
//   }
//   await bridge.close();
//
// bridgeToFleet (`wisp fl bridge`) makes it one member of a fleet: it
// connects to the broker with the device's provisioned credential, publishes
// each update when the server's signed global model puts the device on the
// round's roster, and carries every signed delta the server publishes into
// the firmware. The bridge itself is trusted with nothing: the firmware
// checks each delta, and the broker lets the device's login publish only its
// own topics.
import { MqttClient } from "mqtt";
import { fail } from "../errors";
import { Frame, MAX_FRAME_BYTES, startTrainDevice, TrainDevice } from "../boards/train";
import { DeviceCredential } from "./fleet-policy";
import { deltaTopic } from "./global-delta";
import { connect, Log, receiveGlobal, stderrLog } from "./mqtt";
import { DeviceModel } from "./signing";

// The firmware's answer to a delta (train.c). 1-3: the module refused a
// signed delta, the head is at the round's start; 4, 5: refused before
// anything changed.
export const DELTA_STATUS = ["applied", "malformed", "bad CRC", "for a head of another size", "bad or missing signature, or another fleet's", "not newer than the last applied round (replay)"];
export const deltaStatusText = (status: number) => DELTA_STATUS[status] ?? `error ${status}`;

export interface DeltaResult {
  status: number; // 0 applied (the device's next round is the delta's + 1); else refused (DELTA_STATUS), and the device waits for another
  head: Uint8Array; // the device's head image after it (host/fl/head-image.ts)
}

export interface DeviceBridge {
  updates: AsyncIterable<Uint8Array>; // each round's update message, in order; ends when the device stops
  sendDelta(signedDelta: Uint8Array): Promise<DeltaResult>; // after an update: the device checks the delta, reverts to the round's start and applies it
  close(): Promise<{ status: number | null; console: string }>; // asks the device to stop, and waits for it
}

export async function startDeviceBridge(o: { board: string; elf: string; timeoutMs?: number }): Promise<DeviceBridge> {
  const device: TrainDevice = await startTrainDevice(o.board, o.elf, o.timeoutMs);
  let ended = false;
  // Frames other than updates wait here for the call that expects them.
  const acks: Frame[] = [];
  let pendingUpdates = 0; // updates received and not yet followed by an applied delta
  const nextFrame = async (): Promise<Frame | null> => {
    if (ended) return null;
    try {
      const f = await device.next();
      if (f.kind === "E") fail("IO", `the device reported: ${new TextDecoder().decode(f.payload)}`);
      return f;
    } catch (e) {
      ended = true;
      if (/exited before sending/.test((e as Error).message)) return null;
      throw e;
    }
  };
  async function* updates(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const f = await nextFrame();
      if (!f) return;
      if (f.kind === "A") { acks.push(f); continue; }
      if (f.kind !== "U") fail("IO", `unexpected frame '${f.kind}' from the device`);
      pendingUpdates++;
      yield f.payload;
    }
  }
  return {
    updates: { [Symbol.asyncIterator]: updates },
    sendDelta: async (delta) => {
      if (!(delta instanceof Uint8Array) || delta.length === 0 || delta.length > MAX_FRAME_BYTES) fail("BAD_UPDATE", "a global delta is a non-empty update message");
      if (pendingUpdates === 0) fail("USAGE", "the device takes a global delta only after sending its update");
      device.send("D", delta);
      const f = acks.shift() ?? await nextFrame();
      if (!f || f.kind !== "A") fail("IO", f ? `expected the device's apply status, got frame '${f.kind}'` : "the device stopped before applying the delta");
      const view = new DataView(f.payload.buffer, f.payload.byteOffset, f.payload.byteLength);
      const status = view.getUint32(0, true);
      if (status === 0) pendingUpdates--;
      return { status, head: f.payload.slice(4) };
    },
    close: async () => {
      if (!ended) device.send("Q");
      const timer = setTimeout(() => device.close(), 10_000);
      const { status, stdout } = await device.exited;
      clearTimeout(timer);
      device.close();
      return { status, console: stdout };
    },
  };
}

export interface FleetBridgeOptions {
  url: string; // the fleet's broker
  credential: DeviceCredential; // the device's, from provisioning (its firmware holds the same fleet key)
  bridge: DeviceBridge;
  rounds?: number; // stop (and quit the device) after this many applied deltas; default: until the device stops
  log?: Log; // refusals; stderr by default
  onEvent?: (event: string) => void; // "update R B", "delta R applied|refused S MS"
}

export interface FleetBridgeResult {
  applied: number[]; // rounds whose delta the device applied
  refused: { round: number; status: number }[]; // deltas the device refused
  roundTripMs: number[]; // per applied delta: from its arrival at the bridge to the device's answer
  updateToDeltaMs: number[]; // per applied delta: from publishing the update to the delta's arrival (the server's round)
}

const roundOf = (message: Uint8Array) => (message.length >= 20 ? new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(16, true) : -1);

// Runs the firmware device as a member of its fleet (see the top of this file).
export async function bridgeToFleet(o: FleetBridgeOptions): Promise<FleetBridgeResult> {
  const { fleet, id } = o.credential;
  const log = o.log ?? stderrLog, event = o.onEvent ?? (() => undefined);
  const model = new DeviceModel(fleet, o.credential.serverPublicKey); // to learn each round's roster
  const deltas: { signed: Uint8Array; at: number }[] = [];
  let wake: (() => void) | null = null;
  const client: MqttClient = await connect(o.url, o.credential, (topic, payload) => {
    if (topic === `wisp/${fleet}/global`) receiveGlobal(model, new Uint8Array(payload), log, id);
    else if (topic === deltaTopic(fleet)) deltas.push({ signed: new Uint8Array(payload), at: performance.now() });
    wake?.();
  });
  const until = (ready: () => boolean) => new Promise<void>((resolve) => {
    const check = () => { if (ready()) { wake = null; resolve(); } };
    wake = check;
    check();
  });
  const result: FleetBridgeResult = { applied: [], refused: [], roundTripMs: [], updateToDeltaMs: [] };
  try {
    await client.subscribeAsync(`wisp/${fleet}/global`, { qos: 1 });
    await client.subscribeAsync(deltaTopic(fleet), { qos: 1 });
    for await (const update of o.bridge.updates) {
      const round = roundOf(update);
      const named = new DataView(update.buffer, update.byteOffset, update.byteLength).getUint32(12, true);
      if (named !== id) fail("BAD_CONFIG", `the firmware's updates name device ${named}, the credential is device ${id}'s: build it for this device`);
      // The server's model for this round (or a delta: the round went on without us).
      await until(() => model.round >= round || deltas.some((d) => roundOf(d.signed) >= round));
      let sentAt = performance.now();
      if (model.round === round && model.members.includes(id)) {
        await client.publishAsync(`wisp/${fleet}/round/${round}/update/${id}`, Buffer.from(update), { qos: 1 });
        sentAt = performance.now();
        event(`update ${round} ${update.length}`);
      } else {
        log(`device ${id}: not on round ${round}'s roster (or the round is over); its update is not sent`);
      }
      // Every delta goes to the device, which applies only the fleet's own, newer one.
      for (;;) {
        await until(() => deltas.length > 0);
        const { signed, at } = deltas.shift()!;
        const { status } = await o.bridge.sendDelta(signed);
        const ms = performance.now() - at;
        if (status === 0) {
          result.applied.push(roundOf(signed));
          result.roundTripMs.push(ms);
          result.updateToDeltaMs.push(at - sentAt);
          event(`delta ${roundOf(signed)} applied ${status} ${ms.toFixed(0)}`);
          break;
        }
        result.refused.push({ round: roundOf(signed), status });
        log(`device ${id}: refused a global delta (round ${roundOf(signed)}): ${deltaStatusText(status)}`);
        event(`delta ${roundOf(signed)} refused ${status} ${ms.toFixed(0)}`);
      }
      if (o.rounds !== undefined && result.applied.length >= o.rounds) break;
    }
  } finally {
    await client.endAsync(true);
  }
  return result;
}
