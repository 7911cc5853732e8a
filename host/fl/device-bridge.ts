// A bridge between a federated server and a device that trains in its own
// firmware (host/boards/firmware/train.c under QEMU): the device's update
// messages come out of its UART as they are made, and each global delta
// goes back in, to be applied there. What carries them to and from the
// server (the MQTT fleet client, as that device) is the caller's:
//
//   const bridge = await startDeviceBridge({ board: "mps2-an386", elf });
//   for await (const update of bridge.updates) {
//     publish(update);                           // the device's round update
//     const { status, head } = await bridge.sendDelta(await nextGlobalDelta());
//   }
//   await bridge.close();
import { fail } from "../errors";
import { Frame, MAX_FRAME_BYTES, startTrainDevice, TrainDevice } from "../boards/train";

export interface DeltaResult {
  status: number; // 0 applied; 1 malformed, 2 bad CRC, 3 for another head (refused, nothing changed)
  head: Uint8Array; // the device's head image after it (host/fl/head-image.ts)
}

export interface DeviceBridge {
  updates: AsyncIterable<Uint8Array>; // each round's update message, in order; ends when the device stops
  sendDelta(delta: Uint8Array): Promise<DeltaResult>; // after an update: the device reverts to the round's start and applies it
  close(): Promise<{ status: number | null; console: string }>; // asks the device to stop, and waits for it
}

export async function startDeviceBridge(o: { board: string; elf: string; timeoutMs?: number }): Promise<DeviceBridge> {
  const device: TrainDevice = await startTrainDevice(o.board, o.elf, o.timeoutMs);
  let ended = false;
  // Frames other than updates wait here for the call that expects them.
  const acks: Frame[] = [];
  let pendingUpdates = 0; // updates received and not yet answered by a delta or quit
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
      pendingUpdates--;
      device.send("D", delta);
      const f = acks.shift() ?? await nextFrame();
      if (!f || f.kind !== "A") fail("IO", f ? `expected the device's apply status, got frame '${f.kind}'` : "the device stopped before applying the delta");
      const view = new DataView(f.payload.buffer, f.payload.byteOffset, f.payload.byteLength);
      return { status: view.getUint32(0, true), head: f.payload.slice(4) };
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
