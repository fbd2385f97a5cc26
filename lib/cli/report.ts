/** `rca report [--hours 24]`: the seed's dashboard figures — failures by error type, recoveries, escalations. */
import { command, print, table } from './command.ts';
import { EXIT, opsRequest } from './ops-client.ts';

interface ReportBody {
  since: string;
  until: string;
  failures: number;
  recoveries: number;
  escalations: number;
  silenced: number;
  breakers_opened: number;
  breaker_openings: { scope: string; at: string; reason: string; manual: boolean }[];
  queued?: number;
  avg_queued_seconds?: number | null;
  awaiting_approval?: number;
  denied?: number;
  approvals_timed_out?: number;
  by_error_type: {
    error_type: string;
    failures: number;
    avg_ack_seconds: number | null;
    avg_resolution_seconds: number | null;
    recovered: number;
    escalated: number;
  }[];
}

function renderReport(report: ReportBody): string {
  return `Failures from ${report.since} to ${report.until}: ${report.failures} (recovered ${report.recoveries}, escalated ${report.escalations}, silenced ${report.silenced}); breakers opened: ${report.breakers_opened}\nQueued by the blast-radius cap: ${report.queued ?? 0} (avg ${report.avg_queued_seconds ?? '-'} s queued); approvals awaiting ${report.awaiting_approval ?? 0}, denied ${report.denied ?? 0}, timed out ${report.approvals_timed_out ?? 0}\n\n${table(
    ['ERROR TYPE', 'FAILURES', 'AVG ACK S', 'AVG RESOLUTION S', 'RECOVERED', 'ESCALATED'],
    report.by_error_type.map((r) => [
      r.error_type,
      r.failures,
      r.avg_ack_seconds,
      r.avg_resolution_seconds,
      r.recovered,
      r.escalated,
    ]),
  )}${
    report.breaker_openings.length === 0
      ? ''
      : `\nBreakers opened:\n${table(
          ['AT', 'SCOPE', 'BY', 'REASON'],
          report.breaker_openings.map((o) => [o.at, o.scope, o.manual ? 'hand' : 'failures', o.reason]),
        )}`
  }`;
}

export const reportCommand = command(
  'report',
  { hours: { type: 'string' } },
  async (_p, values, connection, io) => {
    const report = await opsRequest<ReportBody>(connection, 'GET', '/report', {
      query: { hours: values.hours as string | undefined },
    });
    print(io, values, report, () => renderReport(report));
    return EXIT.ok;
  },
  'rca report [--hours 24]',
);
