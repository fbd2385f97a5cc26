'use strict';
/**
 * What the X-Ray SDK's Lambda environment (`env/aws_lambda.js`) gets for its HTTP middleware utilities
 * (`middleware/mw_utils.js`) in the bundles (see `lib/bundling/esbuild.ts`): the one call it makes.
 * The real call swaps the middleware's centralized sampler for the local one, because in Lambda the
 * trace header decides; no middleware runs in these functions, so there is no sampler to swap, and the
 * middleware's sampling modules (pollers, rule cache, service connector) stay out of the bundles.
 */
module.exports = {
  disableCentralizedSampling() {},
};
