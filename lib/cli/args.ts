import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import type { CliIo } from './main.ts';

export type Values = Record<string, string | boolean | undefined>;

/** What a command runs with, or the exit code it ends with before running (bad usage, `--help`). */
export type ParsedArgs =
  | { readonly values: Values; readonly positionals: string[]; readonly exit?: undefined }
  | { readonly exit: number };

/**
 * Parses a command's arguments (strict: an unknown option is bad usage). Bad usage prints the
 * message and `usage` to stderr (exit 2); `--help` prints `usage` to stdout (exit 0).
 */
export function parseCommandArgs(
  name: string,
  args: readonly string[],
  options: ParseArgsOptionsConfig,
  usage: string,
  io: CliIo,
  allowPositionals = false,
): ParsedArgs {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...args],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
  } catch (error) {
    io.stderr.write(`rca ${name}: ${(error as Error).message}\n\n${usage}`);
    return { exit: 2 };
  }
  if (parsed.values.help === true) {
    io.stdout.write(usage);
    return { exit: 0 };
  }
  return parsed;
}
