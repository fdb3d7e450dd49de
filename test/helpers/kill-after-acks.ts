// The crash test's harness, shared by every store: run a child that prints
// one acknowledged id per line, SIGKILL it after `killAfter` acks, and return
// every id it printed before dying.
import { spawn } from 'node:child_process';

export function runAndKill(script: string, args: readonly string[], killAfter: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: string[] = [];
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      acked.push(...lines);
      if (acked.length >= killAfter && child.exitCode === null) child.kill('SIGKILL');
    });
    child.once('error', reject);
    // 'close' waits for stdout to drain, so every id the child wrote before dying is counted.
    child.once('close', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own (code ${code}) after ${acked.length} acks`));
      else resolve(acked);
    });
  });
}
