import { CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

/** Properties of {@link IntakeFirewall}. */
export interface IntakeFirewallProps {
  /**
   * Requests one IP address may send in any 5-minute window before it is blocked (answered 429) until
   * its rate falls again. Databricks delivers job notifications from a few control-plane addresses,
   * shared by every Databricks customer in the region: the limit must hold a burst of failures of all
   * your jobs at once, with headroom.
   * @default 3000 (10 requests per second sustained)
   */
  readonly rateLimit?: number;

  /**
   * Largest request body, in bytes, let through to the function; larger ones are answered 413 by WAF.
   * At most 65,536: API Gateway lets WAF inspect at most 64 KiB of a body, and a body beyond the
   * inspection limit is treated as too large.
   * @default 65_536 (64 KiB, the intake's own limit)
   */
  readonly maxBodyBytes?: number;
}

/** The most of a body WAF can inspect for API Gateway, and the inspection limit that sets it. */
const MAX_INSPECTED_BODY = 65_536;

const BLOCKED_BODY_KEY = 'bodyTooLarge';
const RATE_LIMITED_BODY_KEY = 'rateLimited';

/**
 * The AWS WAF web ACL in front of the intake API (regional, for an API Gateway stage). In order:
 *
 * 1. `BodySizeLimit`: a body over {@link IntakeFirewallProps.maxBodyBytes} is answered 413 before
 *    anything runs — the function never sees it.
 * 2. `RateLimitPerIp`: an address over {@link IntakeFirewallProps.rateLimit} requests in 5 minutes is
 *    answered 429.
 * 3. AWS managed rule groups: the Amazon IP reputation list, the core rule set and known bad inputs.
 *    Two core rules count instead of block: `SizeRestrictions_BODY` (8 KB, below the intake's
 *    documented 64 KiB, which rule 1 enforces instead) and `NoUserAgent_HEADER` (Databricks does not
 *    document the user agent of its webhook deliveries, and a blocked delivery is never retried).
 *
 * Every rule emits CloudWatch metrics and sampled requests.
 */
export class IntakeFirewall extends Construct {
  /** The web ACL; associate it with a regional resource (`CfnWebACLAssociation`). */
  public readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: IntakeFirewallProps = {}) {
    super(scope, id);

    const rateLimit = props.rateLimit ?? 3000;
    const maxBodyBytes = props.maxBodyBytes ?? MAX_INSPECTED_BODY;
    if (!Number.isInteger(rateLimit) || rateLimit < 10) {
      throw new Error(`${this.node.path}: rateLimit must be a whole number of at least 10 (WAF's minimum)`);
    }
    if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1 || maxBodyBytes > MAX_INSPECTED_BODY) {
      throw new Error(`${this.node.path}: maxBodyBytes must be between 1 and ${MAX_INSPECTED_BODY}`);
    }

    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      description: 'Protects the Databricks cluster recovery intake API',
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('IntakeWebAcl'),
      // API Gateway lets WAF read 16 KB of a body by default; the size rule needs to see 64 KiB.
      associationConfig: { requestBody: { API_GATEWAY: { defaultSizeInspectionLimit: 'KB_64' } } },
      customResponseBodies: {
        [BLOCKED_BODY_KEY]: {
          contentType: 'APPLICATION_JSON',
          content: JSON.stringify({
            status: 'error',
            message: `request body larger than ${maxBodyBytes} bytes`,
          }),
        },
        [RATE_LIMITED_BODY_KEY]: {
          contentType: 'APPLICATION_JSON',
          content: JSON.stringify({ status: 'error', message: 'too many requests; retry later' }),
        },
      },
      rules: [
        bodySizeRule(0, maxBodyBytes),
        rateRule(1, rateLimit),
        managed(2, 'AWSManagedRulesAmazonIpReputationList'),
        managed(3, 'AWSManagedRulesCommonRuleSet', ['SizeRestrictions_BODY', 'NoUserAgent_HEADER']),
        managed(4, 'AWSManagedRulesKnownBadInputsRuleSet'),
      ],
    });
  }
}

function visibility(metricName: string): CfnWebACL.VisibilityConfigProperty {
  return { cloudWatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true };
}

/** A rule that blocks what `statement` matches with `responseCode` and the body under `bodyKey`. */
function blockRule(
  name: string,
  priority: number,
  responseCode: number,
  customResponseBodyKey: string,
  statement: CfnWebACL.StatementProperty,
): CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    action: { block: { customResponse: { responseCode, customResponseBodyKey } } },
    statement,
    visibilityConfig: visibility(name),
  };
}

/** Answers 413 to a body larger than `maxBodyBytes`. */
function bodySizeRule(priority: number, maxBodyBytes: number): CfnWebACL.RuleProperty {
  return blockRule('BodySizeLimit', priority, 413, BLOCKED_BODY_KEY, {
    sizeConstraintStatement: {
      // A body beyond what WAF can inspect is too large by definition.
      fieldToMatch: { body: { oversizeHandling: 'MATCH' } },
      comparisonOperator: 'GT',
      size: maxBodyBytes,
      textTransformations: [{ priority: 0, type: 'NONE' }],
    },
  });
}

/** Answers 429 to an address sending more than `rateLimit` requests in 5 minutes. */
function rateRule(priority: number, rateLimit: number): CfnWebACL.RuleProperty {
  return blockRule('RateLimitPerIp', priority, 429, RATE_LIMITED_BODY_KEY, {
    rateBasedStatement: { limit: rateLimit, aggregateKeyType: 'IP', evaluationWindowSec: 300 },
  });
}

/** An AWS managed rule group, with the rules in `countInstead` counting instead of blocking. */
function managed(
  priority: number,
  name: string,
  countInstead: readonly string[] = [],
): CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    overrideAction: { none: {} },
    statement: {
      managedRuleGroupStatement: {
        vendorName: 'AWS',
        name,
        ...(countInstead.length === 0
          ? {}
          : {
              ruleActionOverrides: countInstead.map((rule) => ({ name: rule, actionToUse: { count: {} } })),
            }),
      },
    },
    visibilityConfig: visibility(name),
  };
}
