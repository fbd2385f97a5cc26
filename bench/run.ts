#!/usr/bin/env node
/**
 * `npm run bench`: the poller, intake and bundle benchmarks in turn; with `--workspaces N
 * [--clusters M] [--workers W]`, the poll workflow over N simulated workspaces instead
 * (bench/workspaces.bench.ts).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './support.ts';

const args = process.argv.slice(2);
const benches = args.includes('--workspaces')
  ? [['workspaces.bench.ts', ...args]]
  : [['poller.bench.ts'], ['intake.bench.ts'], ['bundles.bench.ts']];
for (const [file, ...rest] of benches) {
  const { status } = spawnSync(process.execPath, [join(ROOT, 'bench', file ?? ''), ...rest], {
    stdio: 'inherit',
  });
  if (status !== 0) process.exit(status ?? 1);
}
