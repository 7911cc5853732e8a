// The signed global delta a round server publishes when a round closes, for
// devices that keep their head on themselves and apply deltas (the trainer
// in firmware, host/boards/firmware/train.c, or HeadTrainer.applyGlobalDelta).
// The delta is the step from the model those devices hold to the server's new
// global, as an 8-bit dense update message (one scale per 64 parameters),
// signed with the fleet's key (signing.ts). The server keeps the devices'
// model (the sum of the deltas it sent), so what one delta could not carry
// goes out with the next, and its own global stays the exact FedAvg.
// Retained on wisp/F/delta; stored with the round, so a restarted server
// republishes the same bytes.
import { MqttClient } from "mqtt";
import { RoundHistory, StoredDelta } from "./aggregate";
import { ServerCredential } from "./fleet-policy";
import { dequantizeUpdate, equalGroups, quantizeDelta } from "./quantize";
import { privateKey, signDelta } from "./signing";
import { decodeUpdate, encodeUpdate } from "./update-format";

export const DELTA_GROUP_SIZE = 64;
export const SERVER_CLIENT_ID = 0xffffffff; // the client id in the server's delta messages

export const deltaTopic = (fleet: string) => `wisp/${fleet}/delta`;

// The delta message for `round` from `deviceModel` to `next`, and the
// devices' model once applied. sampleCount: what the round counted.
export function globalDelta(deviceModel: Float32Array, next: Float32Array, round: number, modelVersion: number, sampleCount: number): { delta: Uint8Array; deviceModel: Float32Array } {
  const n = next.length;
  const step = Float32Array.from(next, (w, i) => w - deviceModel[i]);
  const groups = Math.min(256, n, Math.ceil(n / DELTA_GROUP_SIZE));
  const q = quantizeDelta(step, new Float32Array(n), { bits: 8, topk: 1, groupEnds: equalGroups(n, groups) });
  const delta = encodeUpdate({ modelVersion, clientId: SERVER_CLIENT_ID, round, sampleCount: Math.max(1, sampleCount), bits: 8, elements: n,
    scales: q.scales, groupEnds: q.groupEnds, indices: null, values: q.values });
  const applied = dequantizeUpdate(decodeUpdate(delta));
  return { delta, deviceModel: Float32Array.from(deviceModel, (w, i) => w + applied[i]) };
}

// A round server's deltas: the devices' model, each round's signed delta.
export class GlobalDeltas {
  deviceModel: Float32Array;

  constructor(private readonly credential: ServerCredential, private readonly history: RoundHistory, initial: Float32Array) {
    this.deviceModel = history.latestDelta()?.deviceModel ?? initial.slice();
  }

  // In the round's closing transaction: signs and stores round's delta to `next`.
  record(round: number, modelVersion: number, next: Float32Array, sampleCount: number): StoredDelta {
    const d = globalDelta(this.deviceModel, next, round, modelVersion, sampleCount);
    const stored = { round, signed: signDelta(d.delta, this.credential.fleet, privateKey(this.credential.signingKey)), deviceModel: d.deviceModel };
    this.history.saveDelta(stored);
    this.deviceModel = d.deviceModel;
    return stored;
  }

  // The latest delta, as stored, retained (after each round, and again after a restart).
  async publish(client: MqttClient): Promise<void> {
    const latest = this.history.latestDelta();
    if (latest) await client.publishAsync(deltaTopic(this.credential.fleet), Buffer.from(latest.signed), { qos: 1, retain: true });
  }
}
