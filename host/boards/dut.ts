// Drives the MLPerf Tiny DUT firmware (firmware/dut.c) the way the MLPerf
// Tiny runner does: through the board's UART, which QEMU exposes as a TCP
// socket on the loopback interface. Commands end with '%'; each reply runs
// until "m-ready".
import { ChildProcess, spawn } from "node:child_process";
import { connect, createServer, Socket } from "node:net";
import { fail } from "../errors";
import { readBoard } from "./build";

export interface Dut {
  send(command: string): Promise<string[]>; // the reply's lines, "m-ready" last
  close(): void;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export async function connectWithRetry(port: number, tries: number): Promise<Socket> {
  for (let i = 0; ; i++) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = connect(port, "127.0.0.1", () => resolve(socket));
        socket.once("error", reject);
      });
    } catch (e) {
      if (i >= tries) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function startDut(boardName: string, elf: string, timeoutMs = 60_000): Promise<Dut> {
  const qemu = readBoard(boardName).qemu;
  const port = await freePort();
  const child: ChildProcess = spawn(qemu[0], [...qemu.slice(1), "-nographic", "-monitor", "none",
    "-serial", `tcp:127.0.0.1:${port},server=on,wait=on`, "-semihosting-config", "enable=on,target=native", "-kernel", elf],
  { stdio: ["ignore", "ignore", "pipe"] });
  const timer = setTimeout(() => child.kill(), timeoutMs);
  const socket = await connectWithRetry(port, 50);
  let pending = "";
  const lines: string[] = [];
  let waiter: (() => void) | null = null;
  socket.on("data", (chunk) => {
    pending += chunk.toString("latin1");
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      lines.push(pending.slice(0, nl).replace(/\r$/, ""));
      pending = pending.slice(nl + 1);
    }
    waiter?.();
  });
  const untilReady = () => new Promise<string[]>((resolve, reject) => {
    const check = () => {
      const at = lines.indexOf("m-ready");
      if (at >= 0) {
        waiter = null;
        resolve(lines.splice(0, at + 1));
      } else if (child.exitCode !== null) {
        reject(new Error(`the DUT exited (${child.exitCode}) after: ${lines.join(" | ")}`));
      }
    };
    waiter = check;
    child.once("exit", check);
    check();
  });
  await untilReady(); // the boot banner
  return {
    send: (command) => {
      if (!/^[ -~]*$/.test(command) || command.includes("%")) fail("BAD_INPUT", "DUT commands are printable ASCII without '%'");
      socket.write(`${command}%`);
      return untilReady();
    },
    close: () => {
      clearTimeout(timer);
      socket.destroy();
      child.kill();
    },
  };
}
