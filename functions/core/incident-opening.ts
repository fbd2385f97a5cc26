/**
 * The opening of an incident's ticket: one write, exactly once, that carries what the incident plan
 * (`core/incident-plan.ts`) has decided before it and checks what the write can check itself — a
 * closed breaker, an unsilenced scope, a free slot of the cap, an outage not yet open — so that only
 * a breaker that is not closed, a silence in force or an outage that opened meanwhile costs more.
 */
import { breakerScopes } from './breaker.ts';
import type { Classification } from './classifier/types.ts';
import type { Action, ErrorType } from './error-types.ts';
import { AWAITING_APPROVAL, DEFAULT_APPROVAL_TIMEOUT_SECONDS, type SlotRequest } from './fleet.ts';
import type { IncidentDeps } from './incident.ts';
import { asksSilence, needsCapSlot, type Plan, planRecovery, type RecoveryFacts } from './incident-plan.ts';
import { compact } from './json.ts';
import { outageClassOf } from './outage.ts';
import { HELD_BY_OUTAGE, type OutageRole, outageRoleOf } from './outage-path.ts';
import { START_PENDING } from './recovery-status.ts';
import { type FailureSignal, incidentAliases } from './signal.ts';
import { silenceFor, silenceScopesFor } from './silence.ts';
import type { OpenTicketInput, OpenTicketResult } from './ticket.ts';

/** A classification that names a failure, its error type and its action. */
export type Failure = Classification & { readonly errorType: ErrorType; readonly action: Action };

export function isFailure(classification: Classification): classification is Failure {
  return (
    classification.isFailure && classification.errorType !== undefined && classification.action !== undefined
  );
}

/** What the opening's write decided: the ticket (or its duplicate), the plan's facts, the outage role. */
export interface Opening {
  readonly opened: OpenTicketResult;
  readonly facts: RecoveryFacts;
  readonly outage?: OutageRole;
  readonly capSlot?: SlotRequest;
}

/**
 * Writes the failure's ticket exactly once. A failure of a cloud or service class is counted in its
 * window first: it may belong to an outage. An active recovery takes a slot of its workspace's cap in
 * the ticket's own write (no extra call); closed breakers and unsilenced scopes are checked in the
 * same write, so only a breaker that is not closed or a silence in force costs more.
 */
export async function openTicketOnce(
  signal: FailureSignal,
  classification: Failure,
  initial: RecoveryFacts,
  deps: IncidentDeps,
): Promise<Opening> {
  let facts = initial;
  // A failure its playbook escalates is counted too (`escalates`): from the K-th on, its outage holds
  // and escalates them together.
  const first = planRecovery(facts).kind;
  let outage =
    first === 'start' || first === 'escalate'
      ? await outageRoleOf(signal, classification, deps.outages, first === 'escalate')
      : undefined;
  if (outage?.kind === 'held') facts = { ...facts, outage };
  const capSlot =
    deps.cap !== undefined && needsCapSlot(facts)
      ? deps.cap.request(signal.workspaceId, initial.playbook)
      : undefined;
  const subject = { ...signal, errorType: classification.errorType };
  // A held child is checked too (`asksSilence`): its release would start it, so a silence must hold it.
  const write = (checkSilences: boolean) =>
    deps.tickets.openTicketUnlessSilenced(
      openingInput(signal, classification, { plan: planRecovery(facts), outage, capSlot }, deps),
      checkSilences && deps.silences !== undefined && asksSilence(facts) ? silenceScopesFor(subject) : [],
    );
  // An outage of the failure's class opened while it was counted: it joins it, held (and the hold is
  // checked against silences like a start).
  const joinIfGuarded = async (result: Awaited<ReturnType<typeof write>>) => {
    if (result.outcome !== 'guarded') return result;
    const outageId = result.item?.outageId;
    const outageClass = outageClassOf(classification);
    if (outageId === undefined || outageClass === undefined)
      throw new Error('an outage guard failed without an outage');
    outage = { kind: 'held', outageId, outageClass };
    facts = { ...facts, outage };
    return write(true);
  };
  let opened = await joinIfGuarded(await write(true));
  if (opened.outcome === 'silenced') {
    // A silence marker of the failure's scopes is in force (nothing was written): only now are the
    // silences read, to name the one that holds the ticket. Whether the automation may act is decided
    // when it would act, not when the failure was seen.
    const silence = silenceFor((await deps.silences?.active()) ?? [], subject, (deps.clock ?? Date.now)());
    facts = { ...facts, silence };
    opened = await joinIfGuarded(await write(false));
  }
  if (opened.outcome === 'silenced') throw new Error('a ticket opened without silence checks was silenced');
  if (opened.outcome === 'guarded') throw new Error('a ticket opened without a guard was guarded');
  return { opened, facts, outage, capSlot };
}

/** The ticket's opening write for the plan as decided so far. */
function openingInput(
  signal: FailureSignal,
  classification: Failure,
  decided: { readonly plan: Plan; readonly outage?: OutageRole; readonly capSlot?: SlotRequest },
  deps: IncidentDeps,
): OpenTicketInput {
  const { plan, outage, capSlot } = decided;
  const start = plan.kind === 'start';
  const hold = plan.kind === 'hold' ? plan : undefined;
  const { errorType, action } = classification;
  const playbook = deps.playbooks[errorType];
  const probe = start && outage?.kind === 'probe' ? outage.outage : undefined;
  // Absent fields are left out (`compact`): the store writes what it is given.
  return compact<OpenTicketInput>({
    incidentKey: signal.incidentKey,
    // Until it is escalated or started, a ticket that needs either waits as start_pending, so that the
    // reconciler finishes the job if this invocation dies half-way.
    recoveryStatus: hold?.recoveryStatus ?? START_PENDING,
    workspaceId: signal.workspaceId,
    clusterId: signal.clusterId,
    clusterName: signal.clusterName,
    jobId: signal.job?.jobId,
    runId: signal.job?.runId,
    source: signal.source,
    errorType,
    category: classification.category ?? 'unknown',
    action,
    reason: classification.reason,
    terminationCode: classification.code,
    terminationType: classification.type,
    detectedAt: new Date(signal.observedAt).toISOString(),
    clusterClaim: clusterClaimOf(signal),
    status: hold?.ticketStatus,
    silenceId: hold?.silenceId,
    outageId:
      plan.recoveryStatus === HELD_BY_OUTAGE && outage?.kind === 'held' ? outage.outageId : probe?.outageId,
    outageProbe: probe === undefined ? undefined : true,
    approvalDeadline:
      hold?.recoveryStatus === AWAITING_APPROVAL
        ? new Date(
            (deps.clock ?? Date.now)() +
              (playbook.approval_timeout ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS) * 1000,
          ).toISOString()
        : undefined,
    capSlot: start ? capSlot : undefined,
    guardItem: start && outage?.kind === 'free' ? outage.guard : undefined,
    aliasKeys: incidentAliases({ ...signal, code: classification.code }),
    // Closed breakers are checked in the same write; only a breaker that is not closed costs more.
    breakerScopes: start ? breakerScopes({ ...signal, errorType }) : undefined,
    audit: {
      event: 'ticket_opened',
      actor: deps.actor,
      // The signal is kept so that the reconciler can start the workflow later with the same input
      // (`openedContext`).
      details: { classification, signal, playbookMode: playbook.mode },
    },
  });
}

/**
 * One open incident per cluster: a cluster failure takes its cluster's claim; a job failure no
 * cluster explains only checks it (it keeps its run key, but joins the cluster's open incident).
 */
export function clusterClaimOf(
  signal: Pick<FailureSignal, 'workspaceId' | 'clusterId' | 'kind'>,
): { scope: string; mode: 'take' | 'check' } | undefined {
  if (signal.clusterId === undefined) return undefined;
  return {
    scope: `${signal.workspaceId}#${signal.clusterId}`,
    mode: signal.kind === 'job_failure' ? 'check' : 'take',
  };
}
