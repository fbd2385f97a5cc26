/**
 * What every operations-API command shares: option parsing, the connection, exit codes for errors,
 * `--json` or a readable table, and the option values (`--for`, `--until`) several commands take.
 */
import { parseCommandArgs, type Values } from './args.ts';
import type { CliIo, Command } from './main.ts';
import { CliError, EXIT, type OpsConnection } from './ops-client.ts';
import { DEFAULT_STACK_NAME, resolveConnection } from './stack-outputs.ts';

const CONNECTION_HELP = `Connection: by default the deployed stack: --stack NAME (or RCA_STACK; default ${DEFAULT_STACK_NAME})
              is read with your AWS credentials (default chain; --region or AWS_REGION) and every
              request is signed with them (SigV4)
  --url URL   instead: the API's URL (the stack output OperationsUrl, or http://localhost:8000 for npm
              start; or RCA_URL)
  --key KEY   with --url: the local operator key npm start prints (or RCA_OPERATOR_KEY); without it the
              request is signed with your AWS credentials
  --json      machine-readable output
Exit codes: 0 ok, 1 refused or a check failed, 2 bad usage, 3 credential refused, 4 not found, 5 API unreachable.`;

const COMMON = {
  url: { type: 'string' },
  key: { type: 'string' },
  region: { type: 'string' },
  stack: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export type { Values };

type Runner = (
  positionals: readonly string[],
  values: Values,
  connection: OpsConnection,
  io: CliIo,
) => Promise<number>;

/** Builds one command: parses its options, connects, runs, maps errors to exit codes. */
export function command(
  name: string,
  options: Record<string, { type: 'string' | 'boolean' }>,
  run: Runner,
  synopsis: string,
): Command {
  return async (args, io) => {
    const usage = `Usage: ${synopsis}\n\n${CONNECTION_HELP}\n`;
    const parsed = parseCommandArgs(name, args, { ...COMMON, ...options }, usage, io, true);
    if (parsed.exit !== undefined) return parsed.exit;
    const { values, positionals } = parsed;
    try {
      return await run(positionals, values, await resolveConnection(values), io);
    } catch (error) {
      if (error instanceof CliError) {
        io.stderr.write(
          `rca ${name}: ${error.message}\n${error.exitCode === EXIT.usage ? `\n${usage}` : ''}`,
        );
        return error.exitCode;
      }
      throw error;
    }
  };
}

export function print(io: CliIo, values: Values, data: unknown, human: () => string): void {
  io.stdout.write(values.json === true ? `${JSON.stringify(data, null, 2)}\n` : human());
}

/** Columns padded to their widest cell. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((row) =>
    row.map((cell) => (cell === undefined || cell === null ? '-' : String(cell))),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...cells.map(line)].join('\n')}\n`;
}

/** One record as `name  value` lines, the names padded to one column. */
export function fieldLines(fields: readonly (readonly string[])[]): string {
  return fields.map(([k, v]) => `${(k ?? '').padEnd(12)} ${v}`).join('\n');
}

/** A listing: its table, or the sentence that says there is nothing to list. */
export function tableOrNone<T>(
  items: readonly T[],
  none: string,
  headers: readonly string[],
  row: (item: T) => readonly unknown[],
): string {
  return items.length === 0 ? none : table(headers, items.map(row));
}

export function usageError(message: string): never {
  throw new CliError(message, EXIT.usage);
}

/** One check of `rca doctor` or `rca workspaces add|check`. */
export interface CheckRow {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

export function checkLines(checks: readonly CheckRow[]): string {
  return `${checks
    .map(
      (c) =>
        `${c.status === 'ok' ? 'ok  ' : c.status === 'warn' ? 'warn' : 'FAIL'}  ${c.name}: ${c.detail}${c.fix === undefined ? '' : `\n      → ${c.fix}`}`,
    )
    .join('\n')}\n`;
}

export function durationSeconds(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(value.trim());
  if (match === null) usageError(`--for takes a duration like 90m, 2h or 1d, not '${value}'`);
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

export function isoTime(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) usageError(`--until takes a time like 2026-12-01T18:00:00Z, not '${value}'`);
  return new Date(ms).toISOString();
}
