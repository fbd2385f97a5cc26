/**
 * Silences: an operator pauses the automation for a cluster, a workspace or an error type (for
 * maintenance). A failure during a silence is still ticketed — status `silenced`, naming the silence —
 * and nothing is started. Pure decisions; the store is `functions/store/silences.ts`.
 *
 * | silence target | matches a failure when                          |
 * |----------------|-------------------------------------------------|
 * | cluster C      | its cluster is C (in the silence's workspace, if it names one) |
 * | workspace W    | its workspace is W                              |
 * | error type T   | its error type is T                             |
 *
 * A silence is active from `startsAt` until `until`, unless it was removed (`endedAt`).
 */

export interface SilenceTarget {
  readonly clusterId?: string;
  readonly workspaceId?: string;
  readonly errorType?: string;
}

export interface Silence extends SilenceTarget {
  /** `SIL-<random>` */
  readonly silenceId: string;
  readonly reason: string;
  readonly createdBy: string;
  /** ISO timestamps. */
  readonly startsAt: string;
  readonly until: string;
  /** Set when an operator removed the silence before `until`. */
  readonly endedAt?: string;
  readonly endedBy?: string;
}

export interface SilenceSubject {
  readonly workspaceId: string;
  readonly clusterId?: string;
  readonly errorType: string;
}

/** Whether the silence is in force at `now` (epoch ms). */
export function isActive(silence: Silence, now: number): boolean {
  return (
    silence.endedAt === undefined && Date.parse(silence.startsAt) <= now && now < Date.parse(silence.until)
  );
}

/** When the silence stopped (or stops) being in force, epoch ms. */
export function endOf(silence: Silence): number {
  return silence.endedAt === undefined
    ? Date.parse(silence.until)
    : Math.min(Date.parse(silence.endedAt), Date.parse(silence.until));
}

export function matches(silence: SilenceTarget, subject: SilenceSubject): boolean {
  if (silence.clusterId !== undefined) {
    return (
      silence.clusterId === subject.clusterId &&
      (silence.workspaceId === undefined || silence.workspaceId === subject.workspaceId)
    );
  }
  if (silence.workspaceId !== undefined) return silence.workspaceId === subject.workspaceId;
  if (silence.errorType !== undefined) return silence.errorType === subject.errorType;
  return false;
}

/** The active silence covering the failure (the one ending last), or undefined. */
export function silenceFor(
  silences: readonly Silence[],
  subject: SilenceSubject,
  now: number,
): Silence | undefined {
  return silences
    .filter((silence) => isActive(silence, now) && matches(silence, subject))
    .sort((a, b) => Date.parse(b.until) - Date.parse(a.until))[0];
}

/** What a silence is about, for people: `cluster test-cluster-456`, `error type X`, … */
export function describeTarget(target: SilenceTarget): string {
  if (target.clusterId !== undefined)
    return `cluster ${target.clusterId}${target.workspaceId === undefined ? '' : ` in ${target.workspaceId}`}`;
  if (target.workspaceId !== undefined) return `workspace ${target.workspaceId}`;
  return `error type ${target.errorType ?? '?'}`;
}

/**
 * The scope a silence is kept under, for its marker item (the latest `until` among the scope's
 * active silences): `cluster#C`, `workspace-cluster#W#C`, `workspace#W` or `error-type#T`. The parts
 * are URI-encoded so that a `#` in an id cannot make two scopes meet.
 */
export function silenceScopeOf(target: SilenceTarget): string {
  const part = encodeURIComponent;
  if (target.clusterId !== undefined)
    return target.workspaceId === undefined
      ? `cluster#${part(target.clusterId)}`
      : `workspace-cluster#${part(target.workspaceId)}#${part(target.clusterId)}`;
  if (target.workspaceId !== undefined) return `workspace#${part(target.workspaceId)}`;
  return `error-type#${part(target.errorType ?? '')}`;
}

/** Every scope whose silence would cover the failure (`matches`), so the ticket write can check them. */
export function silenceScopesFor(subject: SilenceSubject): string[] {
  return [
    ...(subject.clusterId === undefined
      ? []
      : [
          silenceScopeOf({ clusterId: subject.clusterId }),
          silenceScopeOf({ clusterId: subject.clusterId, workspaceId: subject.workspaceId }),
        ]),
    silenceScopeOf({ workspaceId: subject.workspaceId }),
    silenceScopeOf({ errorType: subject.errorType }),
  ];
}
