// Progress for the operator on stderr: lines that stay, and a status line that a terminal
// rewrites in place (elsewhere, e.g. CI logs, at most one status every 5 seconds).
import type { Progress } from './types.js';

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  let lastStatusAt = 0;
  let statusShown = false;
  const clear = (): void => {
    if (tty && statusShown) stream.write('\r\x1b[2K');
    statusShown = false;
  };
  return {
    line(text) {
      clear();
      stream.write(`${text}\n`);
    },
    status(text) {
      if (tty) {
        clear();
        stream.write(text.slice(0, (stream.columns || 100) - 1));
        statusShown = true;
      } else if (Date.now() - lastStatusAt >= 5_000) {
        lastStatusAt = Date.now();
        stream.write(`  ${text}\n`);
      }
    },
  };
}
