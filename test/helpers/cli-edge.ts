// `mini-cdn edge ...` as an operator starts it: a process of its own, ready once it prints its
// "listening on" line. One helper for every test that starts the CLI edge and reads its output.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { BIN } from '../../bench/processes.js';

export interface CliEdge {
  child: ChildProcess;
  pid: number;
  url: string;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
}

/** Resolves once the edge listens; rejects (and kills it) if it exits first or takes longer than startMs. */
export function startCliEdge(args: string[], env: NodeJS.ProcessEnv, startMs = 20_000): Promise<CliEdge> {
  const child = spawn(process.execPath, [BIN, 'edge', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the edge did not start: ${output}`));
    }, startMs);
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      resolve({ child, pid: child.pid as number, url: match[1] as string, output: () => output });
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the edge exited (${code}) before listening: ${output}`));
    });
  });
}
