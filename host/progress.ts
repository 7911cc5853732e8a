// A progress bar on stderr for work that takes over a second: drawn only on a
// terminal, and only once a second has passed, so quick runs and logs stay clean.
export interface Progress {
  update(done: number): void;
  done(): void;
}

export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const start = Date.now();
  let drawn = false;
  const draw = (done: number) => {
    const width = 30, filled = Math.min(width, Math.round((width * done) / Math.max(1, total)));
    stream.write(`\r${label.padEnd(22)} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total}`);
    drawn = true;
  };
  return {
    update(done) {
      if (stream.isTTY && (drawn || Date.now() - start > 1000)) draw(done);
    },
    done() {
      if (drawn) {
        draw(total);
        stream.write("\n");
      }
    },
  };
}
