/**
 * The soak: the local system (DynamoDB Local, the real workflow on aws-local-stepfunctions, the
 * poller on a short schedule, the intake behind its local API Gateway, the simulator) through a
 * simulated day in a few minutes. Genuine failures of every class and benign events (user stops,
 * autoterminations, self-healed drivers, normal job ends) happen on their own clusters; users race the
 * automation; webhooks and job notifications arrive twice and late; Databricks throttles and fails.
 *
 * It reuses the local host (`host.ts`) as it is: nothing here is a second copy of the system.
 *
 * The verdict: every genuine failure has exactly one ticket, no benign event has one, no harm (the
 * simulator's harm ledger when it has one — `GET /__admin/harms` — else the same rules judged from
 * the clusters' event logs), and no ticket left unresolved once the day is over.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { ClusterDetails, ClusterEvent } from '../../functions/core/schemas/databricks.ts';
import type { Ticket } from '../../functions/core/ticket.ts';
import { DatabricksClient, patAuth } from '../../functions/databricks/index.ts';
import { parseItem } from '../../functions/store/dynamo.ts';
import { TicketItemSchema } from '../../functions/store/ticket-items.ts';
import type { ScenarioInput } from '../simulator/index.ts';
import { type LocalHost, startLocalHost } from './host.ts';

export interface SoakOptions {
  /** Genuine failures (at least one of every class). @default 220 */
  readonly failures?: number;
  /** Benign events. @default 220 */
  readonly benign?: number;
  /** Simulated hours the events are spread over. @default 24 */
  readonly hours?: number;
  /** Simulated ms per real ms. @default 480 (a day in three minutes) */
  readonly timeScale?: number;
  /** Real seconds between poller runs. @default 2 */
  readonly pollIntervalSeconds?: number;
  /** Share of genuine failures a user races (stop, start or edit mid-recovery). @default 0.2 */
  readonly raceShare?: number;
  /** Real seconds to wait at most for every recovery to end after the day (it stops once they have). @default 300 */
  readonly drainSeconds?: number;
  readonly seed?: number;
  /** Progress lines (stderr by default). */
  readonly progress?: (line: string) => void;
}

export interface SoakResult {
  readonly failures: number;
  readonly tickets: number;
  readonly ticketsPerFailure: { readonly max: number; readonly min: number };
  readonly harms: number;
  readonly stuck: number;
  /** The product's own 5xx answers to deliveries (the intake's). */
  readonly fiveXX: number;
  /** Throttling and 5xx faults the simulated Databricks answered the system with, by kind. */
  readonly faultsInjected: {
    readonly total: number;
    readonly throttle: number;
    readonly serverErrors: number;
  };
  readonly recovered: number;
  readonly escalated: number;
  readonly resolvedWithoutAction: number;
  readonly benign: number;
  readonly benignTickets: number;
  readonly failuresWithoutTicket: number;
  readonly failuresWithSeveralTickets: number;
  readonly harmLedger: 'simulator' | 'event-log';
  readonly harmDetails: readonly Harm[];
  /** Genuine failures with no ticket or several, and benign targets with one (for diagnosis). */
  readonly mismatches: readonly string[];
  /** How each class ended: `<class> <status>/<recovery status>` → count. */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Why tickets were escalated (the reason without its ids and times) → count, most frequent first. */
  readonly escalationReasons: Readonly<Record<string, number>>;
  readonly ok: boolean;
}

export interface Harm {
  readonly rule: string;
  readonly cluster_id: string;
  readonly at: number;
  readonly detail: string;
}

/** Failure classes, each with the cluster it needs and what makes it fail. */
const CLASSES = [
  { name: 'driver_unreachable', reason: { code: 'DRIVER_UNREACHABLE', type: 'SERVICE_FAULT' } },
  { name: 'cloud_shutdown', reason: { code: 'CLOUD_PROVIDER_SHUTDOWN', type: 'CLOUD_FAILURE' } },
  {
    name: 'spot_lost',
    reason: { code: 'SPOT_INSTANCE_TERMINATION', type: 'CLOUD_FAILURE' },
    seed: { aws_attributes: { availability: 'SPOT_WITH_FALLBACK', first_on_demand: 1 } },
  },
  {
    name: 'capacity',
    reason: { code: 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE', type: 'CLOUD_FAILURE' },
    seed: { node_type_id: 'r5d.4xlarge', driver_node_type_id: 'r5d.4xlarge' },
  },
  {
    name: 'pool_capacity',
    reason: { code: 'INSTANCE_POOL_MAX_CAPACITY_REACHED', type: 'CLIENT_ERROR' },
    seed: { instance_pool_id: 'soak-pool-a' },
  },
  { name: 'throttled', reason: { code: 'AWS_REQUEST_LIMIT_EXCEEDED', type: 'CLOUD_FAILURE' } },
  { name: 'config', reason: { code: 'INVALID_ARGUMENT', type: 'CLIENT_ERROR' } },
  { name: 'init_script', reason: { code: 'INIT_SCRIPT_FAILURE', type: 'CLIENT_ERROR' } },
  {
    name: 'pipeline',
    reason: { code: 'CLOUD_PROVIDER_SHUTDOWN', type: 'CLOUD_FAILURE' },
    seed: { cluster_source: 'PIPELINE' },
  },
  { name: 'driver_oom', reason: { code: 'DRIVER_OUT_OF_MEMORY', type: 'SERVICE_FAULT' } },
  { name: 'job_run', reason: undefined },
] as const;

const BENIGN = ['user_stop', 'autotermination', 'healed_driver', 'job_success'] as const;
type BenignKind = (typeof BENIGN)[number];

type Planned =
  | { readonly at: number; readonly kind: 'failure'; readonly cls: number; readonly target: string }
  | { readonly at: number; readonly kind: 'benign'; readonly benign: BenignKind; readonly target: string }
  | { readonly at: number; readonly kind: 'deliver'; readonly target: string; readonly late: boolean }
  | {
      readonly at: number;
      readonly kind: 'race';
      readonly target: string;
      readonly action: 'stop' | 'start' | 'edit';
    }
  | { readonly at: number; readonly kind: 'faults'; readonly n: number };

const MINUTE = 60_000;
const OWNED = new Set(['JOB', 'PIPELINE', 'PIPELINE_MAINTENANCE', 'SQL', 'MODELS']);

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export async function runSoak(options: SoakOptions = {}): Promise<SoakResult> {
  const failures = Math.max(CLASSES.length, options.failures ?? 220);
  const benignCount = Math.max(BENIGN.length, options.benign ?? 220);
  const dayMs = (options.hours ?? 24) * 60 * MINUTE;
  const timeScale = options.timeScale ?? 480;
  const rnd = random(options.seed ?? 11);
  const say = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));

  // ---- the workspace: one cluster per genuine failure and per benign event
  const clusters: Record<string, unknown>[] = [];
  const failureClusters: { id: string; cls: number }[] = [];
  const jobRuns: string[] = [];
  const jobs: Record<string, unknown>[] = [];
  for (let i = 0; i < failures; i++) {
    const cls = i % CLASSES.length;
    const spec = CLASSES[cls];
    if (spec === undefined) continue;
    if (spec.name === 'job_run') {
      const runId = String(95_000_000 + i);
      jobs.push({
        job_id: String(9500 + i),
        name: `soak-job-${i}`,
        tasks: [{ task_key: 'main', new_cluster: { spark_version: '15.4.x-scala2.12', num_workers: 1 } }],
        runs: [
          {
            run_id: runId,
            result_state: 'FAILED',
            termination_details: {
              code: 'RUN_EXECUTION_ERROR',
              type: 'CLIENT_ERROR',
              message: 'Workload failed, see run output for details.',
            },
          },
        ],
      });
      jobRuns.push(runId);
      failureClusters.push({ id: `run:${runId}`, cls });
      continue;
    }
    const id = `1130-${String(i).padStart(6, '0')}-failure${String(cls).padStart(2, '0')}`;
    const extra: Record<string, unknown> = 'seed' in spec ? spec.seed : {};
    clusters.push({
      cluster_id: id,
      cluster_name: `soak-${spec.name}-${i}`,
      state: 'RUNNING',
      cluster_source: 'UI',
      // A pool cluster's node type is its pool's.
      ...(extra.instance_pool_id === undefined ? { node_type_id: 'i3.xlarge' } : {}),
      num_workers: 2,
      ...extra,
    });
    failureClusters.push({ id, cls });
  }
  const benignTargets: { id: string; kind: BenignKind }[] = [];
  const jobHost = '1130-999999-jobhost1';
  clusters.push({
    cluster_id: jobHost,
    cluster_name: 'soak-job-host',
    state: 'RUNNING',
    cluster_source: 'UI',
  });
  jobs.push({
    job_id: '9999',
    name: 'soak-healthy-job',
    tasks: [{ task_key: 'main', existing_cluster_id: jobHost }],
  });
  for (let i = 0; i < benignCount; i++) {
    const kind = BENIGN[i % BENIGN.length] as BenignKind;
    if (kind === 'job_success') {
      benignTargets.push({ id: `job:9999:${i}`, kind });
      continue;
    }
    const id = `1130-${String(i).padStart(6, '0')}-benign0${BENIGN.indexOf(kind)}`;
    clusters.push({
      cluster_id: id,
      cluster_name: `soak-${kind}-${i}`,
      state: 'RUNNING',
      cluster_source: 'UI',
    });
    benignTargets.push({ id, kind });
  }
  // Every cluster has been up for two hours, its start its last state loss: nothing before the day
  // looks like a failure.
  const upSince = Date.now() - 120 * MINUTE;
  for (const cluster of clusters) {
    cluster.start_time = upSince;
    cluster.last_state_loss_time = upSince;
  }
  const scenario: ScenarioInput = {
    description: 'soak',
    seed: options.seed ?? 11,
    timings: { driverRecoveryMs: MINUTE },
    clusters: clusters as ScenarioInput['clusters'],
    pools: [{ instance_pool_id: 'soak-pool-a', node_type_id: 'i3.xlarge' }],
    jobs: jobs as ScenarioInput['jobs'],
  };

  // ---- the plan of the day
  const plan: Planned[] = [];
  const start = 10 * MINUTE;
  // The last three hours of a day are left for late deliveries and recoveries; a short day keeps half.
  const span = Math.max(dayMs - 3 * 60 * MINUTE, dayMs / 2);
  const spread = (i: number, n: number) => start + Math.floor(((i + rnd()) / n) * span);
  failureClusters.forEach(({ id, cls }, i) => {
    const at = spread(i, failureClusters.length);
    plan.push({ at, kind: 'failure', cls, target: id });
    // A webhook (custom event or job notification) right after, again a minute later, and once late.
    plan.push({ at: at + MINUTE, kind: 'deliver', target: id, late: false });
    plan.push({ at: at + 2 * MINUTE, kind: 'deliver', target: id, late: false });
    plan.push({ at: at + (30 + Math.floor(rnd() * 90)) * MINUTE, kind: 'deliver', target: id, late: true });
    if (!id.startsWith('run:') && rnd() < (options.raceShare ?? 0.2)) {
      const action = (['stop', 'start', 'edit'] as const)[Math.floor(rnd() * 3)] ?? 'stop';
      plan.push({ at: at + (2 + Math.floor(rnd() * 6)) * MINUTE, kind: 'race', target: id, action });
    }
  });
  benignTargets.forEach(({ id, kind }, i) => {
    plan.push({ at: spread(i, benignTargets.length), kind: 'benign', benign: kind, target: id });
  });
  for (let n = 0; n * 45 * MINUTE < dayMs; n++) plan.push({ at: start + n * 45 * MINUTE, kind: 'faults', n });
  plan.sort((a, b) => a.at - b.at);

  // ---- the system
  const logger = new Logger({ serviceName: 'soak', logLevel: 'ERROR' });
  const host = await startLocalHost({
    port: 0,
    timeScale,
    pollIntervalSeconds: options.pollIntervalSeconds ?? 2,
    logger,
    // The soak judges what the automation does on its own: the approval gate (required by default for
    // node-type fallbacks and rollbacks) is off here; test/cli/approval.test.ts tests the gate.
    playbookOverrides: {
      DatabricksResourceExhausted: { fallback_node_types: ['r5.4xlarge', 'm5.4xlarge'], approval: 'off' },
      DatabricksConfigurationError: { approval: 'off' },
    },
  });
  try {
    const simulator = host.simulator;
    if (simulator === undefined) throw new Error('the soak needs the simulator');
    simulator.admin.loadScenario(scenario, { replace: true });
    const client = new DatabricksClient({ host: simulator.url, auth: patAuth(simulator.token) });
    const t0 = simulator.admin.now();
    const userActions: { clusterId: string; from: number; to: number }[] = [];
    let fiveXX = 0;
    let delivered = 0;
    const snapshots = new Map<string, ClusterDetails>();

    const refusedDeliveries: string[] = [];
    const notInjected: string[] = [];
    const answers = new Map<string, string[]>();
    const note = (target: string, line: string) =>
      answers.set(target, [...(answers.get(target) ?? []), line]);
    const post = async (body: unknown, target = ''): Promise<void> => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const res = await fetch(`${host.url}/databricks-monitor`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': host.apiKey },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        delivered++;
        if (res.status >= 400 && res.status < 500)
          refusedDeliveries.push(`${target} ${res.status} ${text.slice(0, 200)}`);
        note(target, `${res.status} ${text.slice(0, 160)}`);
        if (res.status < 500) return;
        fiveXX++;
        // A 503 asks for the delivery again, as Databricks' and custom senders do.
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    // The simulator's own user actions (not judged by its harm ledger) when it has them; else the
    // REST API with the same token, which the event-log judge leaves out by time.
    const users = simulator.admin as unknown as Partial<{
      userTerminate(clusterId: string, action?: { user?: string }): void;
      userStart(clusterId: string, action?: { user?: string }): void;
      userEdit(clusterId: string, action: { user?: string; attributes?: Record<string, unknown> }): void;
      gcPause(clusterId: string): void;
    }>;
    const asUser = async (path: string, body: Record<string, unknown>, clusterId: string) => {
      const user = { user: 'soak.user@example.com' };
      try {
        if (path === 'delete' && users.userTerminate) return users.userTerminate(clusterId, user);
        if (path === 'start' && users.userStart) return users.userStart(clusterId, user);
        if (path === 'edit' && users.userEdit)
          return users.userEdit(clusterId, { ...user, attributes: { custom_tags: body.custom_tags } });
      } catch {
        // The cluster is in a state the user's action does not apply to: so be it.
        return;
      }
      const from = simulator.admin.now();
      const res = await fetch(`${simulator.url}/api/2.1/clusters/${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${simulator.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      await res.arrayBuffer();
      userActions.push({ clusterId, from, to: simulator.admin.now() });
    };

    /**
     * The custom monitor sees the cluster once it is TERMINATED and keeps what it saw for its
     * deliveries. Waited for on the simulated clock (nothing else of the day runs meanwhile), so that
     * a user's start racing the automation can never come first however slow the machine is.
     */
    const observeTermination = async (clusterId: string): Promise<void> => {
      for (;;) {
        const seen = simulator.admin.cluster(clusterId) as ClusterDetails | undefined;
        if (seen === undefined) return;
        if (seen.state === 'TERMINATED') {
          snapshots.set(clusterId, seen);
          return;
        }
        // Anything but TERMINATING: the monitor missed it (a recovery already under way).
        if (seen.state !== 'TERMINATING') return;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };

    const act = async (item: Planned): Promise<void> => {
      switch (item.kind) {
        case 'failure': {
          const spec = CLASSES[item.cls];
          if (spec?.reason === undefined) return;
          try {
            simulator.admin.failCluster(item.target, spec.reason);
          } catch (error) {
            notInjected.push(`${item.target}: ${(error as Error).message}`);
            return;
          }
          await observeTermination(item.target);
          return;
        }
        case 'deliver': {
          if (item.target.startsWith('run:')) {
            const runId = item.target.slice(4);
            await post({
              event_type: 'jobs.on_failure',
              workspace_id: 'default',
              run: { run_id: runId },
              job: { job_id: String(9500 + (Number(runId) - 95_000_000)), name: 'soak-job' },
            });
            return;
          }
          // The custom monitor forwards the cluster as it saw it when it failed; a late copy is
          // the same message delivered again.
          let cluster = snapshots.get(item.target);
          if (cluster === undefined) {
            // Read in-process, at the moment the monitor looks: an HTTP read queued behind a busy
            // host could come back after the owner had already started the cluster again.
            const now = simulator.admin.cluster(item.target) as ClusterDetails | undefined;
            if (now === undefined) return;
            if (now.state !== 'TERMINATED') {
              note(item.target, `not sent: ${now.state}`);
              return;
            }
            cluster = now;
            snapshots.set(item.target, cluster);
          }
          await post({ event: 'cluster.terminated', cluster }, item.target);
          return;
        }
        case 'race': {
          const cluster = await client.getCluster(item.target);
          if (item.action === 'stop') await asUser('delete', { cluster_id: item.target }, item.target);
          else if (item.action === 'start' && cluster.state === 'TERMINATED')
            await asUser('start', { cluster_id: item.target }, item.target);
          else if (
            item.action === 'edit' &&
            (cluster.state === 'RUNNING' || cluster.state === 'TERMINATED')
          ) {
            const spec = (cluster.spec ?? {}) as Record<string, unknown>;
            await asUser(
              'edit',
              { ...spec, cluster_id: item.target, custom_tags: { team: 'soak', edited: String(item.at) } },
              item.target,
            );
          }
          return;
        }
        case 'benign': {
          if (item.benign === 'user_stop') await asUser('delete', { cluster_id: item.target }, item.target);
          else if (item.benign === 'autotermination')
            simulator.admin.failCluster(item.target, {
              code: 'INACTIVITY',
              type: 'SUCCESS',
              parameters: { inactivity_duration_min: '120' },
            });
          else if (item.benign === 'healed_driver') {
            // Half of them a driver crash Databricks recovers, half a GC pause (when the simulator has one).
            if (users.gcPause && Number(item.target.slice(5, 11)) % 8 >= 4) users.gcPause(item.target);
            else simulator.admin.crashDriver(item.target);
          } else {
            const { run_id: runId } = await client.runNow({ job_id: '9999' });
            await post({
              event_type: 'jobs.on_start',
              workspace_id: 'default',
              run: { run_id: String(runId) },
              job: { job_id: '9999', name: 'soak-healthy-job' },
            });
          }
          return;
        }
        case 'faults': {
          // The first set reaches the poller's list (every run) as well: a short day injects both kinds.
          const kinds = [
            {
              throttle: { paths: ['/api/2.1/clusters/get'], count: 3 },
              serverErrors: { paths: ['/api/2.1/clusters/list'], count: 1, status: 500 },
            },
            { serverErrors: { paths: ['/api/2.1/clusters/start'], count: 1, status: 503 } },
            { serverErrors: { paths: ['/api/2.1/clusters/events'], count: 2, status: 500 } },
            { throttle: { paths: ['/api/2.1/clusters/list'], count: 2 } },
            { serverErrors: { paths: ['/api/2.2/jobs/runs/get'], count: 2, status: 502 } },
          ];
          simulator.admin.setFaults(kinds[item.n % kinds.length] ?? {});
          return;
        }
      }
    };

    // ---- the day
    const inFlight = new Set<Promise<void>>();
    let done = 0;
    for (const item of plan) {
      const due = t0 + item.at;
      while (simulator.admin.now() < due) {
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(5, (due - simulator.admin.now()) / timeScale)),
        );
      }
      const task = act(item)
        .catch((error: unknown) =>
          say(
            `soak: ${item.kind} ${'target' in item ? item.target : ''} failed: ${(error as Error).message}`,
          ),
        )
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
      // A failure is seen terminated before anything later in the day happens (see observeTermination).
      if (item.kind === 'failure') await task;
      if (++done % 200 === 0)
        say(`soak: ${done}/${plan.length} events, ${Math.round((simulator.admin.now() - t0) / 3_600_000)} h`);
    }
    await Promise.all(inFlight);
    simulator.admin.clearFaults();

    // ---- the drain: every ticket resolved, nothing running
    const drainUntil = Date.now() + (options.drainSeconds ?? 300) * 1000;
    let tickets = await allTickets(host);
    while (Date.now() < drainUntil && tickets.some(unresolved)) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      tickets = await allTickets(host);
    }
    // Two more poller runs on the settled day, awaited (not timed: a busy machine makes runs slow),
    // the second begun after the first ended, so that anything the poller would still ticket counts;
    // then the drain again for what they opened.
    await host.poller.runOnce();
    await host.poller.runOnce();
    tickets = await allTickets(host);
    while (Date.now() < drainUntil && tickets.some(unresolved)) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      tickets = await allTickets(host);
    }

    // ---- the verdict
    const byTarget = new Map<string, Ticket[]>();
    for (const ticket of tickets) {
      const key = ticket.clusterId ?? (ticket.runId === undefined ? 'none' : `run:${ticket.runId}`);
      byTarget.set(key, [...(byTarget.get(key) ?? []), ticket]);
    }
    const perFailure = failureClusters.map(({ id }) => byTarget.get(id)?.length ?? 0);
    const benignIds = new Set(benignTargets.map((target) => target.id));
    const benignTickets =
      tickets.filter(
        (ticket) =>
          ticket.clusterId !== undefined && (benignIds.has(ticket.clusterId) || ticket.clusterId === jobHost),
      ).length + tickets.filter((ticket) => ticket.jobId === '9999').length;
    const failureIds = new Set(failureClusters.map((f) => f.id));
    const strays = tickets.filter(
      (ticket) =>
        !failureIds.has(ticket.clusterId ?? `run:${ticket.runId}`) &&
        !(ticket.clusterId !== undefined && benignIds.has(ticket.clusterId)) &&
        ticket.clusterId !== jobHost &&
        ticket.jobId !== '9999',
    ).length;
    for (const { id } of failureClusters) {
      if ((byTarget.get(id)?.length ?? 0) === 1 || id.startsWith('run:')) continue;
      const log = await client.listAllClusterEvents({ cluster_id: id, order: 'ASC' });
      note(
        id,
        `events: ${log.map((e) => `${Math.round(((e.timestamp ?? 0) - t0) / 1000)}s ${e.type}${e.details?.reason?.code ? `(${e.details.reason.code})` : ''}${e.details?.user ? `[${e.details.user}]` : ''}`).join(', ')}`,
      );
    }
    const ledger = await harmsOf(simulator.url, simulator.adminToken, client, clusters, userActions);
    const stuck = tickets.filter(unresolved).length;
    const result: SoakResult = {
      failures: failureClusters.length,
      tickets: tickets.length,
      ticketsPerFailure: { max: Math.max(...perFailure), min: Math.min(...perFailure) },
      harms: ledger.harms.length,
      stuck,
      fiveXX,
      faultsInjected: injectedFaults(simulator.admin.stats().faultsFired),
      recovered: tickets.filter(
        (t) => t.status === 'closed' && String(t.recoveryStatus).startsWith('recovered'),
      ).length,
      escalated: tickets.filter((t) => t.status === 'escalated').length,
      resolvedWithoutAction: tickets.filter((t) => t.recoveryStatus === 'resolved_without_action').length,
      benign: benignTargets.length,
      benignTickets: benignTickets + strays,
      failuresWithoutTicket: perFailure.filter((n) => n === 0).length,
      failuresWithSeveralTickets: perFailure.filter((n) => n > 1).length,
      harmLedger: ledger.source,
      harmDetails: ledger.harms.slice(0, 20),
      mismatches: [
        ...failureClusters
          .filter(({ id }) => (byTarget.get(id)?.length ?? 0) !== 1)
          .map(
            ({ id, cls }) =>
              `${id} (${CLASSES[cls]?.name}): ${byTarget.get(id)?.length ?? 0} tickets; deliveries: ${(answers.get(id) ?? ['none']).join(' | ')}`,
          ),
        ...tickets
          .filter((ticket) => !failureIds.has(ticket.clusterId ?? `run:${ticket.runId}`))
          .map(
            (ticket) =>
              `benign or stray ${ticket.clusterId ?? ticket.runId}: ${ticket.ticketId} ${ticket.errorType}`,
          ),
        ...refusedDeliveries.map((line) => `delivery refused: ${line}`),
        ...notInjected.map((line) => `failure not injected: ${line}`),
      ].slice(0, 30),
      outcomes: Object.fromEntries(
        [
          ...failureClusters
            .flatMap(({ id, cls }) =>
              (byTarget.get(id) ?? []).map((t) => `${CLASSES[cls]?.name} ${t.status}/${t.recoveryStatus}`),
            )
            .reduce((counts, key) => counts.set(key, (counts.get(key) ?? 0) + 1), new Map<string, number>()),
        ].sort(),
      ),
      escalationReasons: countedReasons(tickets),
      ok: false,
    };
    say(`soak: ${delivered} deliveries, ${tickets.length} tickets`);
    return {
      ...result,
      ok:
        result.harms === 0 &&
        result.stuck === 0 &&
        result.failuresWithoutTicket === 0 &&
        result.failuresWithSeveralTickets === 0 &&
        result.benignTickets === 0,
    };
  } finally {
    await host.close();
  }
}

/** Escalation reasons with ids, times and numbers masked, counted, the ten most frequent. */
function countedReasons(tickets: readonly Ticket[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const ticket of tickets) {
    if (ticket.status !== 'escalated') continue;
    const reason = String(ticket.escalationReason ?? 'none')
      .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>')
      .replace(/[\w-]*\d[\w.-]*/g, '<id>')
      .slice(0, 140);
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, 10));
}

/** The request faults that fired: throttling (429) and server errors (5xx, HTML pages included). */
function injectedFaults(fired: Readonly<Record<string, number>>): SoakResult['faultsInjected'] {
  const throttle = fired.throttle ?? 0;
  const serverErrors = fired.serverErrors ?? 0;
  return { total: throttle + serverErrors, throttle, serverErrors };
}

function unresolved(ticket: Ticket): boolean {
  return ticket.status === 'open' || ticket.status === 'in_progress';
}

async function allTickets(host: LocalHost): Promise<Ticket[]> {
  const items: Ticket[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await host.documentClient.send(
      new ScanCommand({ TableName: host.tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? [])
      if (item.sk === 'TICKET') items.push(parseItem(TicketItemSchema, item, 'ticket'));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/**
 * The harms of the day: the simulator's own ledger when it keeps one, else the same rules judged
 * from every cluster's event log, leaving out what the soak's users did themselves.
 */
async function harmsOf(
  url: string,
  adminToken: string,
  client: DatabricksClient,
  clusters: readonly Record<string, unknown>[],
  userActions: readonly { clusterId: string; from: number; to: number }[],
): Promise<{ harms: Harm[]; source: 'simulator' | 'event-log' }> {
  const res = await fetch(`${url}/__admin/harms`, { headers: { authorization: `Bearer ${adminToken}` } });
  if (res.ok) {
    const body = (await res.json()) as { harms?: Harm[] };
    return { harms: body.harms ?? [], source: 'simulator' };
  }
  await res.arrayBuffer();
  const harms: Harm[] = [];
  for (const seed of clusters) {
    const id = String(seed.cluster_id);
    const events = await client.listAllClusterEvents({ cluster_id: id, order: 'ASC' });
    harms.push(...judge(id, String(seed.cluster_source ?? 'UI'), events, userActions));
  }
  return { harms, source: 'event-log' };
}

/** The harm rules, judged on one cluster's events (oldest first). */
export function judge(
  clusterId: string,
  source: string,
  events: readonly ClusterEvent[],
  userActions: readonly { clusterId: string; from: number; to: number }[],
): Harm[] {
  const harms: Harm[] = [];
  const byUser = (at: number) =>
    userActions.some((action) => action.clusterId === clusterId && at >= action.from && at <= action.to);
  let lastTermination: ClusterEvent | undefined;
  let lastLoss: number | undefined;
  let healthySince: number | undefined;
  for (const event of events) {
    const at = event.timestamp ?? 0;
    const automation = !byUser(at) && event.details?.user !== 'jobs-service';
    switch (event.type) {
      case 'TERMINATING':
        lastTermination = event;
        break;
      case 'RUNNING':
        healthySince = at;
        lastLoss = undefined;
        break;
      case 'DRIVER_NOT_RESPONDING':
        lastLoss = at;
        break;
      case 'DRIVER_HEALTHY':
        if (lastLoss !== undefined) healthySince = at;
        lastLoss = undefined;
        break;
      case 'STARTING':
      case 'RESTARTING':
      case 'EDITED': {
        if (!automation || at === 0) break;
        if (OWNED.has(source)) {
          harms.push({
            rule: 'mutate_owned_cluster',
            cluster_id: clusterId,
            at,
            detail: `${event.type} of a ${source} cluster`,
          });
          break;
        }
        if (event.type === 'STARTING' && lastTermination?.details?.reason?.type === 'SUCCESS') {
          harms.push({
            rule: 'start_after_user_termination',
            cluster_id: clusterId,
            at,
            detail: `started after ${lastTermination.details.reason.code}`,
          });
        }
        if (event.type === 'RESTARTING' && lastLoss === undefined && healthySince !== undefined) {
          harms.push({
            rule: 'restart_healthy_cluster',
            cluster_id: clusterId,
            at,
            detail: 'restarted with a healthy driver',
          });
        }
        break;
      }
    }
  }
  return harms;
}
