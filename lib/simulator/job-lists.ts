/**
 * `GET /api/2.2/jobs/list` and `GET /api/2.2/jobs/runs/list` with their paging (api-facts §4.1):
 * `limit`, deprecated `offset`, and `page_token`/`next_page_token` with `has_more`. An empty page
 * leaves out its array, as Databricks does.
 */
import { invalidParameter } from './errors.ts';
import { idValue } from './json.ts';
import { encodeToken, numberOrUndefined, optionalMillis, pageLimit, pageStart } from './paging.ts';

type Json = Record<string, unknown>;

const JOBS_PAGE_DEFAULT = 20;
const JOBS_PAGE_MAX = 100;
const RUNS_PAGE_MAX = 25;

export interface ListedJob {
  readonly id: string;
  readonly name: string;
  readonly tasks: readonly unknown[];
  readonly jobClusters: readonly unknown[];
}

export interface ListedRun {
  readonly id: string;
  readonly jobId: string;
  readonly startTime: number;
  readonly finished: boolean;
}

/** `limit` (1–100, default 20), `offset`, `page_token`, `name`, `expand_tasks`. */
export function listJobs(all: readonly ListedJob[], query: URLSearchParams, creator: string): Json {
  const limit = pageLimit(query.get('limit'), JOBS_PAGE_DEFAULT, JOBS_PAGE_MAX);
  const name = query.get('name');
  const expand = query.get('expand_tasks') === 'true';
  const jobs = all.filter((j) => name === null || j.name === name);
  return paged(jobs, query, `jobs|${name ?? ''}`, limit, 'jobs', (job) => ({
    job_id: idValue(job.id),
    creator_user_name: creator,
    settings: {
      name: job.name,
      format: 'MULTI_TASK',
      ...(expand
        ? {
            tasks: job.tasks,
            ...(job.jobClusters.length > 0 ? { job_clusters: job.jobClusters } : {}),
          }
        : {}),
    },
  }));
}

/**
 * Newest first: `job_id`, `active_only`, `completed_only` (not both), `start_time_from`/`start_time_to`,
 * `limit` (1–25, default 25), `offset`, `page_token`, `expand_tasks`. `render` gives a run as
 * `runs/get` shows it.
 */
export function listRuns(
  all: readonly ListedRun[],
  query: URLSearchParams,
  render: (runId: string) => Json,
): Json {
  const limit = pageLimit(query.get('limit'), RUNS_PAGE_MAX, RUNS_PAGE_MAX);
  const jobId = query.get('job_id');
  if (jobId !== null && !/^\d{1,19}$/.test(jobId)) throw invalidParameter(`Invalid job_id: ${jobId}`);
  const active = query.get('active_only') === 'true';
  const completed = query.get('completed_only') === 'true';
  if (active && completed) throw invalidParameter('active_only and completed_only cannot both be true');
  const from = optionalMillis(numberOrUndefined(query.get('start_time_from')), 'start_time_from');
  const to = optionalMillis(numberOrUndefined(query.get('start_time_to')), 'start_time_to');
  const expand = query.get('expand_tasks') === 'true';
  const runs = all
    .filter(
      (r) =>
        (jobId === null || r.jobId === jobId) &&
        (!active || !r.finished) &&
        (!completed || r.finished) &&
        (from === undefined || r.startTime >= from) &&
        (to === undefined || r.startTime <= to),
    )
    .sort((a, b) => b.startTime - a.startTime || Number(BigInt(b.id) - BigInt(a.id)));
  const fingerprint = ['runs', jobId ?? '', active, completed, from ?? '', to ?? ''].join('|');
  return paged(runs, query, fingerprint, limit, 'runs', (run) => {
    const { tasks, job_clusters, has_more: _more, ...rest } = render(run.id);
    return expand ? { ...rest, tasks, ...(job_clusters ? { job_clusters } : {}) } : rest;
  });
}

/** One page of `items` under `key` (left out when empty), with `has_more` and `next_page_token`. */
function paged<T>(
  items: readonly T[],
  query: URLSearchParams,
  fingerprint: string,
  limit: number,
  key: string,
  render: (item: T) => Json,
): Json {
  const start = pageStart(query, fingerprint);
  const page = items.slice(start, start + limit);
  const more = start + limit < items.length;
  return {
    ...(page.length > 0 ? { [key]: page.map(render) } : {}),
    has_more: more,
    ...(more ? { next_page_token: encodeToken({ o: start + limit, f: fingerprint }) } : {}),
  };
}
