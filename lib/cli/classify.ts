import { readFile } from 'node:fs/promises';
import { decide } from '../../functions/core/decide.ts';
import { ConfigurationError, ValidationError } from '../../functions/core/errors.ts';
import { JsonDepthError, JsonSyntaxError, parseJson } from '../../functions/core/json.ts';
import { loadPlaybooks } from '../../functions/core/playbooks.ts';
import type { Command } from './main.ts';

const USAGE = `Usage: rca classify [FILE] [--playbooks FILE] [--workspace ID]

Reads a payload from FILE (or stdin) and prints what the system would do with it, as JSON:
  - a custom cluster event: {"event": "cluster.terminated", "cluster": {...}}
  - a job notification with its context: {"notification": {...}, "run": <runs/get>, "clusters": [<clusters/get>]}
  - a bare ClusterDetails (a clusters/get response)
  - the connectivity test {"event": "test"}
`;

/** `rca classify [FILE]`: exit 0 with the decision, 1 for a payload it cannot use, 2 for bad usage. */
export const classifyCommand: Command = async (args, io) => {
  let file: string | undefined;
  let playbooksFile: string | undefined;
  let workspaceId: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--help' || arg === '-h') {
      io.stdout.write(USAGE);
      return 0;
    }
    if (arg === '--playbooks' || arg === '--workspace') {
      const value = args[++i];
      if (value === undefined) return usageError(io, `${arg} needs a value`);
      if (arg === '--playbooks') playbooksFile = value;
      else workspaceId = value;
    } else if (arg?.startsWith('-') && arg !== '-') {
      return usageError(io, `unknown option '${arg}'`);
    } else if (file === undefined) {
      file = arg;
    } else {
      return usageError(io, 'only one FILE may be given');
    }
  }

  try {
    const text =
      file === undefined || file === '-' ? await readStream(io.stdin) : await readFile(file, 'utf8');
    const playbooks =
      playbooksFile === undefined
        ? undefined
        : loadPlaybooks(parseJson(await readFile(playbooksFile, 'utf8')));
    const decision = decide(parseJson(text), {
      now: Date.now(),
      ...(workspaceId === undefined ? {} : { workspaceId }),
      ...(playbooks === undefined ? {} : { playbooks }),
    });
    io.stdout.write(`${JSON.stringify(decision, null, 2)}\n`);
    return 0;
  } catch (error) {
    if (
      error instanceof ValidationError ||
      error instanceof JsonSyntaxError ||
      error instanceof JsonDepthError ||
      error instanceof ConfigurationError
    ) {
      io.stderr.write(`rca classify: ${error.message}\n`);
      return 1;
    }
    if (isFsError(error)) {
      io.stderr.write(`rca classify: cannot read ${error.path ?? 'input'}: ${error.code}\n`);
      return 1;
    }
    throw error;
  }
};

function usageError(io: Parameters<Command>[1], message: string): number {
  io.stderr.write(`rca classify: ${message}\n\n${USAGE}`);
  return 2;
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

function isFsError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}
