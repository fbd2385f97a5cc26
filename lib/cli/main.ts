import packageJson from '../../package.json' with { type: 'json' };

export interface CliIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** A sub-command: returns the process exit code. */
export type Command = (args: readonly string[], io: CliIo) => Promise<number>;

interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

// Loaded lazily so that `rca classify` does not pay for the simulator's imports.
const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  codes: {
    summary:
      'rca codes             print the classification reference (codes → error types → actions) as Markdown',
    load: async () => (await import('./codes.ts')).codesCommand,
  },
  smoke: {
    summary:
      'rca smoke --url URL    check a running deployment from the outside (connectivity, auth, a recovery)',
    load: async () => (await import('./smoke.ts')).smokeCommand,
  },
  classify: {
    summary: 'rca classify [FILE]   print what the system would do with a payload (file or stdin)',
    load: async () => (await import('./classify.ts')).classifyCommand,
  },
  tickets: {
    summary: 'rca tickets            list tickets [--status S] [--cluster C] [--since 24h]',
    load: async () => (await import('./ops.ts')).ticketsCommand,
  },
  ticket: {
    summary: 'rca ticket ID          a ticket, its occurrences and audit trail',
    load: async () => (await import('./ops.ts')).ticketCommand,
  },
  retry: {
    summary:
      'rca retry ID | --disabled   re-drive escalated, disabled or silenced tickets through the workflow',
    load: async () => (await import('./ops.ts')).retryCommand,
  },
  approve: {
    summary: 'rca approve ID         start a recovery that awaits approval (approval gate)',
    load: async () => (await import('./ops.ts')).approveCommand,
  },
  deny: {
    summary: 'rca deny ID --reason TEXT   close a recovery that awaits approval; nothing is changed',
    load: async () => (await import('./ops.ts')).denyCommand,
  },
  outage: {
    summary: 'rca outage list | ID | resolve ID   outages (K clusters failing together) and their release',
    load: async () => (await import('./outage.ts')).outageCommand,
  },
  breakers: {
    summary: 'rca breakers           circuit breakers that are not closed',
    load: async () => (await import('./ops.ts')).breakersCommand,
  },
  breaker: {
    summary: 'rca breaker open|close SCOPE --reason TEXT   open or close a breaker by hand (audited)',
    load: async () => (await import('./ops.ts')).breakerCommand,
  },
  silence: {
    summary: 'rca silence add|list|remove   pause the automation for a cluster, workspace or error type',
    load: async () => (await import('./ops.ts')).silenceCommand,
  },
  report: {
    summary:
      "rca report [--hours 24] the seed's dashboard figures: failures by error type, recoveries, escalations",
    load: async () => (await import('./ops.ts')).reportCommand,
  },
  doctor: {
    summary:
      "rca doctor [--cluster C]   check the seed's common issues; why a cluster was or was not recovered",
    load: async () => (await import('./ops.ts')).doctorCommand,
  },
  workspaces: {
    summary:
      'rca workspaces add|list|remove|check   the workspace registry: what the poller and the intake cover',
    load: async () => (await import('./workspaces.ts')).workspacesCommand,
  },
  simulator: {
    summary:
      'rca simulator         run the Databricks workspace simulator [--port N] [--token T] [--scenario FILE] [--time-scale X]',
    load: async () => (await import('../simulator/cli.ts')).simulatorCommand,
  },
};

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    io.stdout.write(`rca ${packageJson.version}\n`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    io.stderr.write(`rca: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const command = await entry.load();
  return command(rest, io);
}

function usage(): string {
  const lines = Object.values(COMMANDS).map((c) => `  ${c.summary}`);
  return `Usage: rca <command> [options]\n       rca <command> --help\n       rca --version\n\nCommands:\n${lines.join('\n')}\n`;
}
