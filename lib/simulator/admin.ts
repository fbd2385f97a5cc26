/**
 * The admin side of the simulator: what `/__admin/` does over HTTP, also callable in-process
 * (`RunningSimulator.admin`) — scenarios, faults, the clock, the admin's actions on a cluster, the
 * harm ledger and the traffic figures — and its route table.
 */
import { parseJson } from '../../functions/core/json.ts';
import type { SimClock } from './clock.ts';
import { SimApiError } from './errors.ts';
import type { Faults } from './faults.ts';
import type { Harm } from './harms.ts';
import type { Route, RouteRequest } from './routes.ts';
import {
  AdvanceClockSchema,
  FailClusterSchema,
  type FaultsInput,
  FaultsSchema,
  parseScenario,
  parseScenarioPart,
  type Scenario,
  ScenarioError,
  type ScenarioInput,
  type TerminationReasonSeed,
  type UserActionInput,
  UserActionSchema,
} from './scenario.ts';
import type { LoggedRequest, SimulatorStats, Traffic } from './traffic.ts';
import type { LoadResult, Workspace } from './workspace.ts';

/** Direct, in-process access to what `/__admin/` does over HTTP. */
export interface SimulatorAdmin {
  loadScenario(scenario: Scenario | ScenarioInput, options?: { readonly replace?: boolean }): LoadResult;
  reset(): void;
  /** A running (or starting) cluster terminates with this reason: TERMINATING, then TERMINATED. */
  failCluster(clusterId: string, reason: TerminationReasonSeed): void;
  /** The driver crashes: RUNNING stays RUNNING, `last_state_loss_time` and `spark_context_id` change. */
  crashDriver(clusterId: string): void;
  /** A GC-pause blip: DRIVER_NOT_RESPONDING, then DRIVER_HEALTHY after `gcPauseMs`; nothing lost. */
  gcPause(clusterId: string): void;
  /** A command runs on the cluster: `last_activity_time` moves (autotermination starts again). */
  runCommand(clusterId: string): void;
  /** A user terminates / starts / edits the cluster (not judged by the harm ledger). */
  userTerminate(clusterId: string, action?: UserActionInput): void;
  userStart(clusterId: string, action?: UserActionInput): void;
  userRestart(clusterId: string, action?: UserActionInput): void;
  userEdit(clusterId: string, action: UserActionInput): void;
  /** The harm ledger: what API callers did that a careful operator never would. */
  harms(): Harm[];
  clearHarms(): void;
  /** Switches faults on (or off with `null`); faults not named stay as they are. */
  setFaults(faults: FaultsInput): void;
  clearFaults(): void;
  /** Moves simulated time forward and applies due transitions; returns the new time. */
  advance(ms: number): number;
  setTimeScale(timeScale: number): void;
  now(): number;
  stats(): SimulatorStats;
  /**
   * The request log: every API request (admin excluded) with its simulated time and the cluster it
   * names (query `cluster_id` or body `cluster_id`), oldest first; the last 50,000 are kept.
   */
  requestLog(): readonly LoggedRequest[];
  resetStats(): void;
  state(): Record<string, unknown>;
  /** The cluster as `clusters/get` shows it, or undefined. */
  cluster(clusterId: string): Record<string, unknown> | undefined;
}

export interface AdminParts {
  readonly workspace: Workspace;
  readonly faults: Faults;
  readonly clock: SimClock;
  readonly traffic: Traffic;
}

/** Every admin call first applies the transitions due by now, so it acts on the workspace as it is. */
export class Admin implements SimulatorAdmin {
  private readonly workspace: Workspace;
  private readonly faults: Faults;
  private readonly clock: SimClock;
  private readonly traffic: Traffic;

  constructor(parts: AdminParts) {
    this.workspace = parts.workspace;
    this.faults = parts.faults;
    this.clock = parts.clock;
    this.traffic = parts.traffic;
  }

  loadScenario(input: Scenario | ScenarioInput, options?: { readonly replace?: boolean }): LoadResult {
    const parsed = parseScenario(input);
    if (options?.replace) this.reset();
    const result = this.workspace.load(parsed);
    this.workspace.tick();
    return result;
  }

  reset(): void {
    this.workspace.reset();
    this.faults.clear();
  }

  failCluster(clusterId: string, reason: TerminationReasonSeed): void {
    this.workspace.tick();
    this.workspace.actions.failCluster(
      clusterId,
      parseScenarioPart(FailClusterSchema, reason, 'failure reason'),
    );
  }

  crashDriver(clusterId: string): void {
    this.workspace.tick();
    this.workspace.lifecycle.driverTrouble(clusterId, 'crash');
  }

  gcPause(clusterId: string): void {
    this.workspace.tick();
    this.workspace.lifecycle.driverTrouble(clusterId, 'gc-pause');
  }

  runCommand(clusterId: string): void {
    this.workspace.tick();
    this.workspace.actions.runCommand(clusterId);
  }

  userTerminate(clusterId: string, action: UserActionInput = {}): void {
    this.workspace.actions.userTerminate(clusterId, this.userAction(action).user);
  }

  userStart(clusterId: string, action: UserActionInput = {}): void {
    this.workspace.actions.userStart(clusterId, this.userAction(action).user);
  }

  userRestart(clusterId: string, action: UserActionInput = {}): void {
    this.workspace.actions.userRestart(clusterId, this.userAction(action).user);
  }

  userEdit(clusterId: string, action: UserActionInput): void {
    const parsed = this.userAction(action);
    if (parsed.attributes === undefined)
      throw new ScenarioError('invalid user action', ['attributes: an edit needs the attributes to set']);
    this.workspace.actions.userEdit(clusterId, parsed.user, parsed.attributes);
  }

  /** Applies what is due, then parses a user action. */
  private userAction(action: UserActionInput): ReturnType<typeof UserActionSchema.parse> {
    this.workspace.tick();
    return parseScenarioPart(UserActionSchema, action, 'user action');
  }

  harms(): Harm[] {
    return this.workspace.harms.list();
  }

  clearHarms(): void {
    this.workspace.harms.clear();
  }

  setFaults(input: FaultsInput): void {
    this.faults.set(parseScenarioPart(FaultsSchema, input, 'faults'));
  }

  clearFaults(): void {
    this.faults.clear();
  }

  advance(ms: number): number {
    const now = this.clock.advance(ms);
    this.workspace.tick();
    return now;
  }

  setTimeScale(timeScale: number): void {
    this.workspace.tick();
    this.clock.setTimeScale(timeScale);
  }

  now(): number {
    return this.clock.now();
  }

  stats(): SimulatorStats {
    return this.traffic.stats();
  }

  requestLog(): readonly LoggedRequest[] {
    return this.traffic.requestLog();
  }

  resetStats(): void {
    this.traffic.reset();
  }

  state(): Record<string, unknown> {
    this.workspace.tick();
    return {
      now: this.clock.now(),
      timeScale: this.clock.timeScale,
      ...this.workspace.summary(),
      faults: this.faults.describe(),
      stats: this.stats(),
    };
  }

  cluster(clusterId: string): Record<string, unknown> | undefined {
    this.workspace.tick();
    try {
      return this.workspace.reads.getCluster(clusterId);
    } catch (error) {
      if (error instanceof SimApiError) return undefined;
      throw error;
    }
  }
}

/** The body as JSON (an empty body is `{}`). */
const json = (r: RouteRequest): unknown => (r.raw.trim() === '' ? {} : parseJson(r.raw));

/** The admin's actions on a cluster: `POST /__admin/clusters/{id}/{action}` answers with the cluster. */
const CLUSTER_ACTIONS: Readonly<Record<string, (admin: Admin, id: string, r: RouteRequest) => void>> = {
  fail: (admin, id, r) => admin.failCluster(id, json(r) as TerminationReasonSeed),
  'crash-driver': (admin, id) => admin.crashDriver(id),
  'gc-pause': (admin, id) => admin.gcPause(id),
  command: (admin, id) => admin.runCommand(id),
  'user-terminate': (admin, id, r) => admin.userTerminate(id, json(r) as UserActionInput),
  'user-start': (admin, id, r) => admin.userStart(id, json(r) as UserActionInput),
  'user-restart': (admin, id, r) => admin.userRestart(id, json(r) as UserActionInput),
  'user-edit': (admin, id, r) => admin.userEdit(id, json(r) as UserActionInput),
};

const CLUSTER_ACTION_PATH = new RegExp(
  `^/__admin/clusters/([^/]+)/(${Object.keys(CLUSTER_ACTIONS).join('|')})$`,
);

export function adminRoutes(admin: Admin, faults: Faults, clock: SimClock): Route[] {
  /** `handle` answers; or, given `show`, does its work and answers with what `show` shows. */
  const route = (method: string, name: string, handle: Route['handle'], show?: () => unknown): Route => ({
    method,
    pattern: new RegExp(`^/__admin/${name}$`),
    handle:
      show === undefined
        ? handle
        : (r) => {
            handle(r);
            return show();
          },
  });
  const state = (): unknown => admin.state();
  const described = (): unknown => faults.describe();
  const harms = (): unknown => ({ harms: admin.harms() });
  const stats = (): unknown => admin.stats();
  return [
    {
      method: 'POST',
      pattern: CLUSTER_ACTION_PATH,
      handle: (r) => {
        const id = decodeURIComponent(r.params[0] ?? '');
        CLUSTER_ACTIONS[r.params[1] ?? '']?.(admin, id, r);
        return admin.cluster(id);
      },
    },
    route('GET', 'state', state),
    route('POST', 'scenario', (r) =>
      admin.loadScenario(json(r) as ScenarioInput, { replace: r.query.get('replace') === 'true' }),
    ),
    route('POST', 'reset', () => admin.reset(), state),
    route('POST', 'faults', (r) => admin.setFaults(json(r) as FaultsInput), described),
    route('DELETE', 'faults', () => admin.clearFaults(), described),
    route('POST', 'clock', (r) => {
      const body = parseScenarioPart(AdvanceClockSchema, json(r), 'clock request');
      if (body.timeScale !== undefined) admin.setTimeScale(body.timeScale);
      if (body.advanceMs !== undefined) admin.advance(body.advanceMs);
      return { now: clock.now(), timeScale: clock.timeScale };
    }),
    route('GET', 'harms', harms),
    route('DELETE', 'harms', () => admin.clearHarms(), harms),
    route('GET', 'stats', stats),
    route('DELETE', 'stats', () => admin.resetStats(), stats),
  ];
}
