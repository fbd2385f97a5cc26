/**
 * Free-text fallback: when a run failed with a generic cluster-related status and no termination
 * reason is at hand, the state or run message is the only evidence. Patterns are ordered from the
 * most to the least specific; the first match wins and carries its confidence.
 */
import type { ErrorType } from '../error-types.ts';

export interface FreeTextMatch {
  readonly errorType: ErrorType;
  readonly confidence: number;
  /** Which rule matched, for the audit trail. */
  readonly rule: string;
  /** The matched excerpt. */
  readonly evidence: string;
}

interface Rule {
  readonly rule: string;
  readonly pattern: RegExp;
  readonly errorType: ErrorType;
  readonly confidence: number;
}

const RULES: readonly Rule[] = [
  {
    rule: 'out_of_memory',
    pattern: /out ?of ?memory|OutOfMemoryError|\bOOM\b|GC overhead limit|Java heap space|exit code 137/i,
    errorType: 'DatabricksDriverOutOfMemory',
    confidence: 0.8,
  },
  {
    rule: 'out_of_disk',
    pattern: /no space left on device|out of disk|disk (is )?full|insufficient disk/i,
    errorType: 'DatabricksOutOfDisk',
    confidence: 0.8,
  },
  {
    rule: 'init_script',
    pattern: /init[ _-]?script/i,
    errorType: 'DatabricksInitScriptFailure',
    confidence: 0.8,
  },
  {
    rule: 'library_install',
    pattern:
      /librar(y|ies) (installation|install)|failed to install (the )?librar|pip install .*failed|could not resolve (maven|artifact)/i,
    errorType: 'DatabricksLibraryInstallFailure',
    confidence: 0.75,
  },
  {
    rule: 'spot_preemption',
    pattern: /\bspot\b.*(terminat|reclaim|interrupt|lost)|preempt(ed|ion)|instance (was )?reclaimed/i,
    errorType: 'DatabricksSpotInstanceLost',
    confidence: 0.75,
  },
  {
    rule: 'capacity',
    pattern:
      /insufficient (instance )?capacity|InsufficientInstanceCapacity|stock ?out|ZONE_RESOURCE_POOL_EXHAUSTED|SkuNotAvailable/i,
    errorType: 'DatabricksResourceExhausted',
    confidence: 0.75,
  },
  {
    rule: 'driver_unreachable',
    pattern:
      /driver (is )?(unreachable|not responding|unresponsive|down|became unresponsive)|lost contact with the driver|could not reach (the )?driver|spark driver (has )?(stopped|crashed|restarted) unexpectedly|driver (was )?restarted/i,
    errorType: 'DatabricksDriverNotResponding',
    confidence: 0.7,
  },
  {
    rule: 'throttling',
    pattern: /throttl|rate ?limit|RequestLimitExceeded|REQUEST_LIMIT_EXCEEDED|too many requests/i,
    errorType: 'DatabricksCloudThrottled',
    confidence: 0.7,
  },
  {
    rule: 'quota',
    pattern: /quota|limit exceeded|InstanceLimitExceeded|VcpuLimitExceeded/i,
    errorType: 'DatabricksCloudQuotaExceeded',
    confidence: 0.65,
  },
  {
    rule: 'permissions',
    pattern:
      /permission denied|access denied|AccessDenied|not authori[sz]ed|unauthori[sz]ed|forbidden|\b403\b/i,
    errorType: 'DatabricksCloudPermissionError',
    confidence: 0.6,
  },
  {
    rule: 'network_timeout',
    pattern:
      /timed? ?out|timeout|connection (reset|refused)|ConnectException|SocketTimeout|UnknownHost|name resolution|network is unreachable/i,
    errorType: 'DatabricksNetworkFailure',
    confidence: 0.5,
  },
];

/** Classifies a free-text message; undefined when nothing recognisable is in it. */
export function matchFreeText(text: string | undefined): FreeTextMatch | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  // Bound the work on hostile input: messages longer than this carry no more signal.
  const sample = text.slice(0, 4000);
  for (const { rule, pattern, errorType, confidence } of RULES) {
    const match = pattern.exec(sample);
    if (match) return { errorType, confidence, rule, evidence: match[0] };
  }
  return undefined;
}
