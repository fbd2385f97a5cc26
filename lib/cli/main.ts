import packageJson from '../../package.json' with { type: 'json' };

export interface CliIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** A sub-command: returns the process exit code. */
export type Command = (args: readonly string[], io: CliIo) => Promise<number>;

// Loaded lazily so that `rca classify` does not pay for the simulator's imports.
const COMMANDS = {
  codes: async () => (await import('./codes.ts')).codesCommand,
  smoke: async () => (await import('./smoke.ts')).smokeCommand,
  classify: async () => (await import('./classify.ts')).classifyCommand,
  tickets: async () => (await import('./tickets.ts')).ticketsCommand,
  ticket: async () => (await import('./tickets.ts')).ticketCommand,
  retry: async () => (await import('./tickets.ts')).retryCommand,
  approve: async () => (await import('./approvals.ts')).approveCommand,
  deny: async () => (await import('./approvals.ts')).denyCommand,
  outage: async () => (await import('./outage.ts')).outageCommand,
  breakers: async () => (await import('./breakers.ts')).breakersCommand,
  breaker: async () => (await import('./breakers.ts')).breakerCommand,
  silence: async () => (await import('./silences.ts')).silenceCommand,
  report: async () => (await import('./report.ts')).reportCommand,
  doctor: async () => (await import('./doctor.ts')).doctorCommand,
  workspaces: async () => (await import('./workspaces.ts')).workspacesCommand,
  simulator: async () => (await import('../simulator/cli.ts')).simulatorCommand,
} satisfies Record<string, () => Promise<Command>>;

/** `rca --help`'s line for each command, in the order it lists them. */
const SUMMARIES: Readonly<Record<keyof typeof COMMANDS, string>> = {
  codes:
    'rca codes             print the classification reference (codes → error types → actions) as Markdown',
  smoke:
    'rca smoke --url URL    check a running deployment from the outside (connectivity, auth, a recovery)',
  classify: 'rca classify [FILE]   print what the system would do with a payload (file or stdin)',
  tickets: 'rca tickets            list tickets [--status S] [--cluster C] [--since 24h]',
  ticket: 'rca ticket ID          a ticket, its occurrences and audit trail',
  retry: 'rca retry ID | --disabled   re-drive escalated, disabled or silenced tickets through the workflow',
  approve: 'rca approve ID         start a recovery that awaits approval (approval gate)',
  deny: 'rca deny ID --reason TEXT   close a recovery that awaits approval; nothing is changed',
  outage: 'rca outage list | ID | resolve ID   outages (K clusters failing together) and their release',
  breakers: 'rca breakers           circuit breakers that are not closed',
  breaker: 'rca breaker open|close SCOPE --reason TEXT   open or close a breaker by hand (audited)',
  silence: 'rca silence add|list|remove   pause the automation for a cluster, workspace or error type',
  report:
    "rca report [--hours 24] the seed's dashboard figures: failures by error type, recoveries, escalations",
  doctor: "rca doctor [--cluster C]   check the seed's common issues; why a cluster was or was not recovered",
  workspaces:
    'rca workspaces add|list|remove|check   the workspace registry: what the poller and the intake cover',
  simulator:
    'rca simulator         run the Databricks workspace simulator [--port N] [--token T] [--scenario FILE] [--time-scale X]',
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
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name as keyof typeof COMMANDS] : undefined;
  if (load === undefined) {
    io.stderr.write(`rca: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const command = await load();
  return command(rest, io);
}

function usage(): string {
  const lines = Object.values(SUMMARIES).map((summary) => `  ${summary}`);
  return `Usage: rca <command> [options]\n       rca <command> --help\n       rca --version\n\nCommands:\n${lines.join('\n')}\n`;
}
