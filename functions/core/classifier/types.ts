import type { Action, Category, ErrorType } from '../error-types.ts';

/** Where a decision came from, so an on-call engineer can see how much to trust it. */
export type DecisionBasis =
  /** The reviewed table of cluster termination codes. */
  | 'termination_code'
  /** A generic launch failure refined by the cloud's error in the termination `parameters`. */
  | 'termination_parameters'
  /** An unknown code, decided by its termination type (or its `_DUE_TO_MISCONFIG` suffix). */
  | 'termination_type'
  /** The reviewed table of job run termination codes. */
  | 'job_termination_code'
  /** Free text of a state or run message (no termination reason at hand). */
  | 'free_text'
  /** The observation itself (driver loss, stuck start) without a termination reason. */
  | 'observation'
  /** Not enough information to decide anything better. */
  | 'default';

export interface Classification {
  readonly isFailure: boolean;
  /** Absent when `isFailure` is false. */
  readonly errorType?: ErrorType;
  readonly category?: Category;
  readonly action?: Action;
  /** Human-readable explanation: what was seen and why this decision. */
  readonly reason: string;
  readonly basis: DecisionBasis;
  /** 1 for table decisions; lower for type fallbacks and free-text matches. */
  readonly confidence: number;
  /** The termination code and type the decision was based on, if any. */
  readonly code?: string;
  readonly type?: string;
}
