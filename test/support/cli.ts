/** The `rca` CLI run in process, its output captured: what a user's shell would see. */
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../lib/cli/main.ts';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCli(args: string[]): Promise<CliRun> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  const errors: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  err.on('data', (c: Buffer) => errors.push(c));
  const code = await main(args, { stdin: Readable.from(['']), stdout: out, stderr: err });
  return { code, stdout: Buffer.concat(chunks).toString(), stderr: Buffer.concat(errors).toString() };
}
