/**
 * The clusters API's reads: `clusters/get`, `clusters/list` (2.1: filtered, sorted, paged by token;
 * 2.0: everything at once) and `clusters/events` (token or offset paging), and `policies/clusters/get`.
 */
import { CLUSTER_SOURCES, CLUSTER_STATES } from '../../functions/core/schemas/common.ts';
import { invalidParameter } from './errors.ts';
import type { Json, SimCluster, SimEvent, WorkspaceModel } from './model.ts';
import { decodeToken, encodeToken, optionalMillis } from './paging.ts';
import { renderCluster, renderEvent } from './render.ts';

const CLUSTER_STATE_NAMES: ReadonlySet<string> = new Set(CLUSTER_STATES);
const CLUSTER_SOURCE_NAMES: ReadonlySet<string> = new Set(CLUSTER_SOURCES);
/** Clusters terminated longer ago than this are no longer listed (unless pinned). */
const LIST_RETENTION_MS = 30 * 86_400_000;
const LIST_PAGE_MAX = 100;
const EVENTS_PAGE_DEFAULT = 50;
const EVENTS_PAGE_MAX = 500;

/** A `clusters/list` query: its page size, filter, order, and where the page token left off. */
interface ListQuery {
  readonly size: number;
  readonly matches: (cluster: SimCluster) => boolean;
  readonly byName: boolean;
  readonly ascending: boolean;
  readonly fingerprint: string;
  readonly after: number | undefined;
}

interface ListPage {
  readonly page: Json[];
  readonly last: number | undefined;
  readonly more: boolean;
}

export class ClusterReads {
  private readonly m: WorkspaceModel;

  constructor(m: WorkspaceModel) {
    this.m = m;
  }

  /** `GET /api/2.0/policies/clusters/get?policy_id=`. */
  getPolicy(query: URLSearchParams): Record<string, unknown> {
    return this.m.policies.get(query.get('policy_id') ?? undefined);
  }

  getCluster(id: unknown): Json {
    return renderCluster(this.m.requireCluster(id), this.m.pools, true);
  }

  listClusters(query: URLSearchParams): Json {
    const list = this.listQuery(query);
    const { page, last, more } = list.byName ? this.pageByName(list) : this.pageByCreation(list);
    const response: Json = { clusters: page };
    if (more && last !== undefined) response.next_page_token = encodeToken({ a: last, f: list.fingerprint });
    return response;
  }

  /** Databricks 2.0 list: every cluster, no pagination. */
  listClustersLegacy(): Json {
    const listed = this.listed(this.m.clock.now());
    return { clusters: this.m.ordered.filter(listed).map((c) => renderCluster(c, this.m.pools, false)) };
  }

  /** Not permanently deleted, and (unless pinned) terminated less than 30 days ago. */
  private listed(now: number): (cluster: SimCluster) => boolean {
    return (c) =>
      !c.gone &&
      (c.pinned || c.state !== 'TERMINATED' || (c.terminatedTime ?? now) > now - LIST_RETENTION_MS);
  }

  private listQuery(query: URLSearchParams): ListQuery {
    const pageSizeText = query.get('page_size');
    const pageSize = pageSizeText === null || pageSizeText === '' ? LIST_PAGE_MAX : Number(pageSizeText);
    if (!Number.isInteger(pageSize) || pageSize < 0)
      throw invalidParameter('page_size must be a non-negative integer');
    const size = pageSize === 0 ? LIST_PAGE_MAX : Math.min(pageSize, LIST_PAGE_MAX);
    const states = query.getAll('filter_by.cluster_states');
    const sources = query.getAll('filter_by.cluster_sources');
    for (const s of states)
      if (!CLUSTER_STATE_NAMES.has(s)) throw invalidParameter(`Invalid cluster state: ${s}`);
    for (const s of sources)
      if (!CLUSTER_SOURCE_NAMES.has(s)) throw invalidParameter(`Invalid cluster source: ${s}`);
    const pinnedText = query.get('filter_by.is_pinned');
    const policyId = query.get('filter_by.policy_id');
    const sortField = query.get('sort_by.field') ?? 'DEFAULT';
    const direction = query.get('sort_by.direction') ?? 'ASC';
    if (sortField !== 'DEFAULT' && sortField !== 'CLUSTER_NAME')
      throw invalidParameter(`Invalid sort_by.field: ${sortField}`);
    if (direction !== 'ASC' && direction !== 'DESC')
      throw invalidParameter(`Invalid sort_by.direction: ${direction}`);
    const fingerprint = [
      states.join(','),
      sources.join(','),
      pinnedText ?? '',
      policyId ?? '',
      sortField,
      direction,
    ].join('|');
    const listed = this.listed(this.m.clock.now());
    const stateSet = new Set(states);
    const sourceSet = new Set(sources);
    const matches = (c: SimCluster): boolean =>
      (stateSet.size === 0 || stateSet.has(c.state)) &&
      (sourceSet.size === 0 || sourceSet.has(c.source)) &&
      (pinnedText === null || String(c.pinned) === pinnedText) &&
      (policyId === null || c.config.policy_id === policyId) &&
      listed(c);
    const after = listCursor(query.get('page_token'), fingerprint);
    return {
      size,
      matches,
      byName: sortField === 'CLUSTER_NAME',
      ascending: direction === 'ASC',
      fingerprint,
      after,
    };
  }

  /**
   * Creation order: the cursor is the last cluster's sequence number, found by binary search, so a
   * page costs O(log n + page + clusters skipped by the filter) and stays stable when clusters are
   * added between pages.
   */
  private pageByCreation({ size, matches, ascending, after }: ListQuery): ListPage {
    const list = this.m.ordered;
    const page: Json[] = [];
    let last: number | undefined;
    let i = after === undefined ? (ascending ? 0 : list.length - 1) : this.positionAfter(after, ascending);
    for (; ascending ? i < list.length : i >= 0; i += ascending ? 1 : -1) {
      const cluster = list[i];
      if (cluster === undefined || !matches(cluster)) continue;
      if (page.length === size) return { page, last, more: true };
      page.push(renderCluster(cluster, this.m.pools, false));
      last = cluster.seq;
    }
    return { page, last, more: false };
  }

  /** Name order has to sort every call: O(n log n). The cursor is a position in that order. */
  private pageByName({ size, matches, ascending, after }: ListQuery): ListPage {
    const sorted = this.m.ordered
      .filter(matches)
      .sort(
        (a, b) => String(a.config.cluster_name).localeCompare(String(b.config.cluster_name)) || a.seq - b.seq,
      );
    if (!ascending) sorted.reverse();
    const from = after ?? 0;
    return {
      page: sorted.slice(from, from + size).map((c) => renderCluster(c, this.m.pools, false)),
      last: from + size,
      more: from + size < sorted.length,
    };
  }

  /** `clusters/events`: newest first unless `order: ASC`; token paging, or `offset`/`limit` paging if asked for. */
  events(body: Json): Json {
    const { query, cursor } = eventsQuery(body);
    const cluster = this.m.requireCluster(query.cluster_id);
    const filtered = filterEvents(cluster.events, query);
    const legacy = body.page_token === undefined && (body.offset !== undefined || body.limit !== undefined);
    if (legacy) return offsetEventsPage(cluster.id, filtered, body);
    return tokenEventsPage(cluster.id, filtered, { body, query, cursor });
  }

  /** Index of the first cluster after sequence number `seq` in the given direction. */
  private positionAfter(seq: number, ascending: boolean): number {
    let lo = 0;
    let hi = this.m.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.m.ordered[mid]?.seq ?? 0) <= seq) lo = mid + 1;
      else hi = mid;
    }
    // lo = first index with seq > `seq`.
    if (ascending) return lo;
    return this.m.ordered[lo - 1]?.seq === seq ? lo - 2 : lo - 1;
  }
}

function listCursor(token: string | null, fingerprint: string): number | undefined {
  if (!token) return undefined;
  const cursor = decodeToken(token);
  if (cursor?.f !== fingerprint || typeof cursor.a !== 'number') {
    throw invalidParameter('Invalid page_token: it does not belong to this query');
  }
  return cursor.a;
}

/** The events query a request means: its own body, or the query its page token carries (and where it left off). */
function eventsQuery(body: Json): { query: Json; cursor: number | undefined } {
  if (body.page_token !== undefined && typeof body.page_token !== 'string')
    throw invalidParameter('page_token must be a string');
  if (typeof body.page_token !== 'string' || body.page_token === '')
    return { query: body, cursor: undefined };
  const token = decodeToken(body.page_token);
  if (!token || typeof token.s !== 'number' || typeof token.q !== 'object' || token.q === null) {
    throw invalidParameter('Invalid page_token');
  }
  const query = { ...(token.q as Json), cluster_id: body.cluster_id ?? (token.q as Json).cluster_id };
  return { query, cursor: token.s };
}

/** The cluster's events the query asks for, in its order. */
function filterEvents(events: readonly SimEvent[], query: Json): SimEvent[] {
  const order = query.order ?? 'DESC';
  if (order !== 'ASC' && order !== 'DESC') throw invalidParameter(`Invalid order: ${String(order)}`);
  const types = query.event_types;
  if (types !== undefined && (!Array.isArray(types) || types.some((t) => typeof t !== 'string'))) {
    throw invalidParameter('event_types must be a list of event types');
  }
  const typeSet = new Set((types as string[] | undefined) ?? []);
  const start = optionalMillis(query.start_time, 'start_time');
  const end = optionalMillis(query.end_time, 'end_time');
  const filtered = events.filter(
    (e) =>
      (typeSet.size === 0 || typeSet.has(e.type)) &&
      (start === undefined || e.timestamp >= start) &&
      (end === undefined || e.timestamp <= end),
  );
  return order === 'DESC' ? filtered.reverse() : filtered;
}

function offsetEventsPage(clusterId: string, filtered: readonly SimEvent[], body: Json): Json {
  const offset = optionalMillis(body.offset, 'offset') ?? 0;
  const limit = Math.min(
    Math.max(optionalMillis(body.limit, 'limit') ?? EVENTS_PAGE_DEFAULT, 1),
    EVENTS_PAGE_MAX,
  );
  const page = filtered.slice(offset, offset + limit);
  return {
    events: page.map((e) => renderEvent(clusterId, e)),
    total_count: filtered.length,
    ...(offset + limit < filtered.length ? { next_page: { ...body, offset: offset + limit, limit } } : {}),
  };
}

function tokenEventsPage(
  clusterId: string,
  filtered: readonly SimEvent[],
  request: { readonly body: Json; readonly query: Json; readonly cursor: number | undefined },
): Json {
  const { body, query, cursor } = request;
  // A request naming no paging style gets both answers, as Databricks still sends them.
  const unstyled = body.page_token === undefined && body.page_size === undefined;
  const sizeValue = query.page_size;
  const requested = typeof sizeValue === 'number' && Number.isFinite(sizeValue) ? Math.trunc(sizeValue) : 0;
  const size = requested <= 0 ? EVENTS_PAGE_DEFAULT : Math.min(requested, EVENTS_PAGE_MAX);
  let from = 0;
  if (cursor !== undefined) {
    const descending = (query.order ?? 'DESC') === 'DESC';
    from = filtered.findIndex((e) => (descending ? e.seq < cursor : e.seq > cursor));
    if (from < 0) from = filtered.length;
  }
  const page = filtered.slice(from, from + size);
  const last = page.at(-1);
  const { page_token: _token, ...rest } = query;
  const more = from + size < filtered.length && last !== undefined;
  return {
    events: page.map((e) => renderEvent(clusterId, e)),
    ...(more && last ? { next_page_token: encodeToken({ s: last.seq, q: rest }) } : {}),
    ...(more && unstyled ? { next_page: { ...body, offset: size, limit: size } } : {}),
    total_count: unstyled ? filtered.length : 0,
  };
}
