/** The recovery status meaning "the workflow has not started yet; the poller's reconciler must start it". */
export const START_PENDING = 'start_pending';
