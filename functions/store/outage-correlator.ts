/**
 * Outage correlation as the incident path, the reconciler and the operations API use it: the outage
 * items (`store/outages.ts`) with the deployment's rules (`OUTAGE_CORRELATION`, `core/outage.ts`).
 */
import {
  correlate,
  membersInWindow,
  type Outage,
  type OutageChild,
  type OutageClass,
  type OutageConfig,
  type OutageRule,
  type OutageStatus,
  outageRuleOf,
  parseOutageConfig,
  type WindowMember,
} from '../core/outage.ts';
import type { Counted, OutageGate } from '../core/outage-path.ts';
import type { DocumentClient } from './dynamo.ts';
import { OperationsLog } from './operations-log.ts';
import { OutageRepository } from './outages.ts';

/** The repository with the deployment's rules (`OUTAGE_CORRELATION`): what the incident path asks. */
export class OutageCorrelator implements OutageGate {
  readonly repository: OutageRepository;
  readonly config: OutageConfig;
  /** The operations log: each outage's opening is written there too. */
  readonly log: Pick<OperationsLog, 'append'> | undefined;
  readonly #clock: () => number;

  constructor(
    repository: OutageRepository,
    config: OutageConfig,
    options: { readonly clock?: () => number; readonly log?: Pick<OperationsLog, 'append'> } = {},
  ) {
    this.repository = repository;
    this.config = config;
    this.log = options.log;
    this.#clock = options.clock ?? Date.now;
  }

  ruleOf(workspaceId: string): OutageRule {
    return outageRuleOf(this.config, workspaceId);
  }

  addChild(outageId: string, child: OutageChild): Promise<void> {
    return this.repository.addChild(outageId, child);
  }

  /**
   * The failures of the window that were ticketed on their own, as the window counts them now: none
   * from before the last outage's end or older than the window (those belonged to another count).
   */
  async ownTickets(workspaceId: string, outageClass: OutageClass): Promise<readonly WindowMember[]> {
    const window = await this.repository.getWindow(workspaceId, outageClass);
    return membersInWindow(window, this.ruleOf(workspaceId), this.#clock()).filter(
      (m) => m.ticketId !== undefined,
    );
  }

  claimProbe(outageId: string, ticketId: string): Promise<boolean> {
    return this.repository.claimProbe(outageId, ticketId);
  }

  replaceProbe(outageId: string, from: string, to: string): Promise<boolean> {
    return this.repository.replaceProbe(outageId, from, to);
  }

  get(outageId: string): Promise<Outage | undefined> {
    return this.repository.get(outageId);
  }

  list(): Promise<Outage[]> {
    return this.repository.list();
  }

  end(
    outageId: string,
    from: readonly OutageStatus[],
    to: OutageStatus,
    details: { readonly reason?: string; readonly resolvedBy?: string },
  ): Promise<Outage | undefined> {
    return this.repository.end(outageId, from, to, details);
  }

  /**
   * Counts the failure in its window and decides: `none`, `join` an open outage, or `open` (this
   * caller opened it; `outage` is the new one). A failure that would open an outage another one opened
   * first joins that one.
   */
  async correlate(
    workspaceId: string,
    outageClass: OutageClass,
    member: WindowMember,
    options: { readonly escalates?: boolean } = {},
  ): Promise<Counted> {
    const rule = this.ruleOf(workspaceId);
    if (!rule.enabled) return { kind: 'none', count: 0 };
    const window = await this.repository.register(workspaceId, outageClass, member);
    const now = this.#clock();
    await this.repository.prune(workspaceId, outageClass, window, now - rule.windowMs);
    const decision = correlate(window, rule, now);
    if (decision.kind === 'none')
      return { ...decision, guard: this.repository.guardItem(workspaceId, outageClass, member) };
    if (decision.kind !== 'open') return decision;
    const opened = await this.repository.open(workspaceId, outageClass, rule, decision.members, options);
    if (opened.outcome === 'exists') return { kind: 'join', outageId: opened.outageId };
    await this.log
      ?.append({
        event: 'outage_opened',
        actor: 'system',
        subject: opened.outage.outageId,
        details: { workspaceId, outageClass, members: opened.outage.members, threshold: rule.threshold },
      })
      .catch(() => undefined);
    return { kind: 'opened', outage: opened.outage, members: decision.members };
  }
}

/**
 * The correlator of a deployment: its items in the table, its rules from `OUTAGE_CORRELATION` (JSON),
 * its window measured with `clock` (local mode: the simulator's). @default Date.now
 */
export function outageCorrelatorOf(
  client: DocumentClient,
  tableName: string,
  raw: string | undefined,
  clock?: () => number,
): OutageCorrelator {
  return new OutageCorrelator(new OutageRepository({ client, tableName, clock }), parseOutageConfig(raw), {
    clock,
    log: new OperationsLog({ client, tableName, clock }),
  });
}
