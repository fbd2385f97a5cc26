/**
 * Free-text fallback: when no usable termination code is at hand, the state, run or cloud message
 * is the only evidence. Databricks writes these messages in a few recurring shapes (see
 * test/fixtures/classifier/free-text-corpus.json for real ones and their sources):
 * - a termination code inside the text (`Reason: GCP_INSUFFICIENT_CAPACITY (CLIENT_ERROR)`,
 *   `Unexpected state for cluster (…): SELF_BOOTSTRAP_FAILURE(SUCCESS)`), or its title-case label
 *   (`Cluster terminated. Reason: Cloud Provider Shutdown`);
 * - the cloud's own error code or wording (`InsufficientInstanceCapacity`, `SkuNotAvailable`,
 *   `ZONE_RESOURCE_POOL_EXHAUSTED`, "Operation results in exceeding quota limits of Core");
 * - a sentence about what failed (the driver, the start, an init script, a library, a disk).
 *
 * So the matcher works in three steps: a specific termination code named in the text (or given as
 * the reason by its title-case label) decides through the reviewed table; otherwise concept rules — each a vocabulary of words for one
 * failure family, not exact sentences — are tried from the most to the least specific; otherwise a
 * generic code or a code's title-case label decides. Every match carries a confidence below a
 * table decision's 1 and the excerpt that decided it.
 */
import type { ErrorType } from '../error-types.ts';
import { TERMINATION_CODE_TABLE } from './termination-codes.ts';

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

/** Codes that say only "something failed": the words around them say more, so concepts go first. */
const GENERIC_CODES: ReadonlySet<string> = new Set([
  'UNKNOWN',
  'INTERNAL_ERROR',
  'CLOUD_PROVIDER_LAUNCH_FAILURE',
  'UNEXPECTED_LAUNCH_FAILURE',
  'SPARK_STARTUP_FAILURE',
  'INSTANCE_POOL_CLUSTER_FAILURE',
  'REQUEST_REJECTED',
]);

const FAILURE_CODES = Object.entries(TERMINATION_CODE_TABLE).flatMap(([code, decision]) =>
  decision.failure ? [{ code, errorType: decision.errorType }] : [],
);
const FAILURE_CODE_TYPES: ReadonlyMap<string, ErrorType> = new Map(
  FAILURE_CODES.map(({ code, errorType }) => [code, errorType]),
);

/** Upper-snake tokens of at least two words, e.g. `DRIVER_UNREACHABLE`. */
const CODE_TOKEN = /\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g;

/**
 * Title-case labels the UI and run messages use, e.g. "Cloud Provider Launch Failure"; `named` is
 * the label given as the reason ("Cluster terminated. Reason: Npip Tunnel Setup Failure"), which
 * names the code as surely as the code itself.
 */
const CODE_LABELS: readonly { readonly code: string; readonly pattern: RegExp; readonly named: RegExp }[] =
  FAILURE_CODES.filter(({ code }) => code !== 'UNKNOWN' && code.includes('_')).map(({ code }) => {
    const label = code.toLowerCase().split('_').join('[ _-]');
    return {
      code,
      pattern: new RegExp(`\\b${label}\\b`, 'i'),
      named: new RegExp(`\\breason: ${label}\\b`, 'i'),
    };
  });

// Shared vocabularies.
const DRIVER = '(?:spark )?driver(?: node| pod| process)?';
const START =
  '(?:start(?:ed|ing|up)?|launch(?:ed|ing)?|boot(?:strap(?:ping)?)?|initiali[sz](?:e|ed|ation|ing)|provision(?:ed|ing)?|set ?up|come up|become (?:healthy|ready)|be (?:healthy|ready)|ready)';

/**
 * Sentences that list what *might* have caused a failure ("Possible reasons may include …",
 * "This issue can be caused by …", "If the problem persists …") are advice, not evidence: they are
 * dropped before matching, unless nothing else is left.
 */
const HEDGE =
  /(?:^|(?<=[.!?;:]\s*))(?:for example|possible (?:reasons?|causes?)|(?:this|that|it) (?:issue |error |problem )?(?:can|could|may|might|usually|normally|often) (?:be |happen|occur|indicate)|this (?:can|normally|usually) happens?|if (?:the|this) (?:problem|issue|error) persists|(?:please )?(?:retry|try again)(?: later)? and contact|contact (?:azure )?databricks|refer to|see (?:the|more)|usually due to|often related to|have your admin)[^.!?]*[.!?]?/gi;

/** Ordered from the most to the least specific; the first match wins. */
const RULES: readonly Rule[] = [
  {
    rule: 'out_of_disk',
    pattern:
      /no space left on device|disk quota exceeded|out of (?:local )?disk(?: space)?|disk (?:is )?full|(?:insufficient|not enough|low|ran out of)(?: free)?(?: local)? disk(?: space)?|disk pressure|ENOSPC|EDQUOT/i,
    errorType: 'DatabricksOutOfDisk',
    confidence: 0.8,
  },
  {
    rule: 'out_of_memory',
    pattern:
      /out ?of ?memory|OutOfMemoryError|\bOOM(?:[- ]?kill(?:ed)?)?\b|GC overhead limit|Java heap space|exit (?:code|status)[:= ]*137|memory pressure|(?:exceed(?:ed|ing|s)?|beyond) (?:the )?(?:physical |container )?memory limit|\bMemoryError\b|(?:insufficient|not enough|ran out of) memory/i,
    errorType: 'DatabricksDriverOutOfMemory',
    confidence: 0.8,
  },
  {
    rule: 'init_script',
    pattern: /init(?:ialization)?[ _-]?scripts?(?![a-z])/i,
    errorType: 'DatabricksInitScriptFailure',
    confidence: 0.8,
  },
  {
    rule: 'library_install',
    pattern:
      /librar(?:y|ies)\b.{0,40}\b(?:install|resolution|resolve|download)|(?:failed|unable) to (?:install|resolve|download)\b.{0,30}\b(?:librar|package|wheel|jar|artifact|dependenc)|pip install\b.{0,80}\bfailed|could not (?:find a version|resolve (?:maven|artifact|dependencies))|no matching distribution/i,
    errorType: 'DatabricksLibraryInstallFailure',
    confidence: 0.75,
  },
  {
    rule: 'instance_pool_full',
    pattern:
      /pool(?:'s)? (?:has reached |reached |is at )?(?:its |the )?max(?:imum)? (?:capacity|size)|max(?:imum)? capacity of the (?:instance )?pool/i,
    errorType: 'DatabricksInstancePoolExhausted',
    confidence: 0.75,
  },
  {
    rule: 'workspace_maintenance',
    pattern:
      /workspace\b.{0,40}\b(?:updat|upgrad)(?:es?|ed|ing)\b|workspace\b.{0,40}\bmaintenance|worker environment\b.{0,40}\bchanged|certificates? rotation|rotat(?:e|ed|ing) (?:the )?certificates|maintenance mode|(?:emergency|scheduled|planned) maintenance/i,
    errorType: 'DatabricksWorkspaceMaintenance',
    confidence: 0.7,
  },
  {
    rule: 'spot_loss',
    pattern:
      /\bspot\b.{0,60}\b(?:terminat|reclaim|interrupt|lost|capacity|price|bid|limit|evict|request)|preempt(?:ed|ible|ion)|price[- ]too[- ]low|SpotMaxPriceTooLow|MaxSpotInstanceCountExceeded|instance-terminated-(?:by-price|no-capacity)|low[- ]priority\b.{0,40}\bevict/i,
    errorType: 'DatabricksSpotInstanceLost',
    confidence: 0.75,
  },
  {
    rule: 'throttling',
    pattern:
      /throttl|rate[ -]?limit|rate exceeded|request (?:rate )?limit|request rate|rate quota|requests per (?:second|minute|hour)|RequestLimitExceeded|too many (?:requests|calls)|TooManyRequests|\b429\b|SlowDown|cannot (?:handle|process|accept) (?:the |your |this )?request/i,
    errorType: 'DatabricksCloudThrottled',
    confidence: 0.7,
  },
  {
    rule: 'address_exhaustion',
    pattern:
      /SubnetIsFull|(?:subnet|ip (?:address )?space|ip addresses?|cidr)\b.{0,40}\b(?:exhaust|full|r[au]n out)|(?:(?:not|n't)(?: have)? enough|insufficient|no) (?:free |available )?(?:ip )?addresses|(?:not|n't) have enough capacity for \d+ ip addresses|InsufficientFreeAddressesInSubnet|r[au]n out of (?:ip )?addresses/i,
    errorType: 'DatabricksCloudQuotaExceeded',
    confidence: 0.65,
  },
  {
    rule: 'capacity',
    pattern:
      /insufficient(?: instance| host)? capacity|InsufficientInstanceCapacity|stock ?out|out of stock|resource pool exhausted|RESOURCE_POOL_EXHAUSTED|does not have enough resources|resource exhaustion|SkuNotAvailable|(?:Zonal)?AllocationFailed|allocation fail|Overconstrained(?:Zonal)?AllocationRequest|capacity (?:is )?(?:currently )?(?:unavailable|not available|constraint)|(?:insufficient|(?:not|n't) (?:have )?(?:sufficient|enough)|no|lack of|out of) (?:available )?(?:\S+ )?capacity|(?:not|n't|fail(?:ed)? to|unable to) (?:find |have |acquire )?enough (?:of the )?(?:requested |available )?(?:instances?|instance types?|machine types?|vms?|nodes?)\b|(?:size|sku|instance type|node type|machine type|vm)\b.{0,200}\b(?:is )?(?:currently )?(?:not available|unavailable)/i,
    errorType: 'DatabricksResourceExhausted',
    confidence: 0.75,
  },
  {
    rule: 'quota',
    pattern:
      /quota|limit ?exceeded|LimitReached|exceed(?:s|ed|ing)? (?:the )?(?:approved |maximum |allowed )?(?:\w+ )?(?:limit|count)|(?:cloud|provider|account|subscription|service|resource) limits?\b|(?:v?cpus?|cores?|instances?|volumes?|addresses|nodes?) (?:limit|quota)\b|reached (?:the|its|your) limit|cannot create more than|maximum allowed|OperationNotAllowed|maximum number of\b.{0,40}\b(?:reached|exceeded)/i,
    errorType: 'DatabricksCloudQuotaExceeded',
    confidence: 0.65,
  },
  {
    rule: 'account_state',
    pattern:
      /trial\b.{0,40}\bexpired|(?:data access|workspace) config(?:uration)?\b.{0,40}\b(?:changed|modified|updated|error)|workspace (?:was |has been )?cancel+ed|subscription (?:is )?(?:disabled|expired|not registered|suspended)|MissingSubscriptionRegistration|account (?:is )?(?:currently )?(?:blocked|suspended|disabled)|PendingVerification|OptInRequired|budget (?:policy|limit)/i,
    errorType: 'DatabricksWorkspaceStateError',
    confidence: 0.65,
  },
  {
    rule: 'permissions',
    pattern:
      /permission(?:s)? (?:denied|error|issue)|PERMISSION_DENIED|access (?:is )?denied|AccessDenied|not authori[sz]ed|unauthori[sz]ed|AuthorizationFailed|AuthFailure|forbidden|\b403\b|does not have (?:the )?(?:required |necessary )?(?:permission|access|privilege)|insufficient (?:permission|privilege)s?|RequestDisallowedByPolicy|denied by (?:\w+ )?(?:org(?:anization)? )?polic|iam:PassRole|not permitted|(?:missing|lack(?:s|ing)?)(?: of)? (?:the )?(?:required |necessary )?(?:permissions?|authori[sz]ation)|access polic(?:y|ies)|(?:disabled|inaccessible|revok(?:ed|ing))\b.{0,30}\b(?:cmk|kms|key)|(?:kms|cmk|encryption|customer[- ]managed) key\b(?: \S+)?.{0,40}\b(?:disabled|inaccessible|not accessible|revoked|denied|pending deletion)/i,
    errorType: 'DatabricksCloudPermissionError',
    confidence: 0.6,
  },
  {
    rule: 'image',
    pattern:
      /(?:spark|runtime|dbr|docker|container|worker|custom) image\b.{0,60}\b(?:not found|invalid|fail|could not|cannot|unable|denied|pull)|ImagePullBackOff|ErrImagePull|manifest unknown|(?:runtime|spark version|dbr)\b.{0,40}\bend of (?:support|life)/i,
    errorType: 'DatabricksImageFailure',
    confidence: 0.65,
  },
  {
    rule: 'invalid_configuration',
    pattern:
      /\binvalid\b.{0,40}\b(?:spark|conf|config(?:uration)?|argument|parameter|setting|value|version|runtime|node[ _]type|instance[ _]type|cluster (?:spec|request|attribute)|key pair)|(?:spark|cluster) conf(?:ig(?:uration)?)?\b.{0,80}\b(?:invalid|not valid|malformed|failed validation|not allowed|not supported)|InvalidParameter|INVALID_PARAMETER_VALUE|(?:node|instance|vm) type\b.{0,40}\b(?:not supported|unsupported|does not exist|not enabled)|unsupported (?:instance|node|vm) type|is not a valid|(?:pool|key pair|policy|instance profile)\b(?: \S+)?.{0,40}\b(?:does ?n[o']t exist|not found|no longer (?:active|exists?))/i,
    errorType: 'DatabricksConfigurationError',
    confidence: 0.65,
  },
  {
    rule: 'network_misconfiguration',
    pattern:
      /misconfigur|error in the network configuration|network configuration (?:error|failure|issue)|incorrect (?:dns|network|route|firewall)|(?:vnet|vpc|subnet|nsg|network security group|security group|route table|udr|firewall|load balancer|private link|nat gateway)\b.{0,60}\b(?:block|misconfig|incorrect|not (?:allow|configured|exist|found)|does not exist|missing)/i,
    errorType: 'DatabricksNetworkMisconfiguration',
    confidence: 0.6,
  },
  {
    rule: 'dependency_unavailable',
    pattern:
      /(?:metastore|dbfs|databricks file system|execution component)\b.{0,60}\b(?:is down|down\b|unhealthy|unreachable|not be reached|unavailable)/i,
    errorType: 'DatabricksServiceFault',
    confidence: 0.6,
  },
  {
    rule: 'instances_unreachable',
    pattern:
      /(?:not able|unable|could ?not|cannot|failed) to (?:access|reach|connect to|contact) (?:the )?(?:instances|nodes|workers)|(?<!driver )(?:instances?|nodes?|workers?) (?:were |are |is |became )?(?:unreachable|not reachable)|not reachable via ssh/i,
    errorType: 'DatabricksNetworkFailure',
    confidence: 0.6,
  },
  {
    rule: 'cloud_shutdown',
    pattern:
      /(?:instance|vm|virtual machine|node|host)s?\b.{0,40}\b(?:retire|retirement|terminated by (?:the )?cloud|shut ?down by|deallocated|hardware (?:failure|degradation))|scheduled (?:retirement|event)|host (?:maintenance|failure)|cloud provider shutdown/i,
    errorType: 'DatabricksClusterTerminated',
    confidence: 0.6,
  },
  {
    rule: 'start_failure',
    pattern: new RegExp(
      `(?:fail(?:ed|ure|s)?|unable|could ?not|cannot|can't|did ?not|didn't|never) (?:to |during |while |in )?(?:the )?(?:be )?${START}|${START} (?:fail(?:ed|ure|s)?|error|timed? ?out|timeout|did not complete)|(?:start(?:up)?|launch|bootstrap) (?:timed? ?out|timeout|deadline)|timed out (?:while )?(?:waiting for (?:the )?(?:cluster|driver|node|instance|spark(?: context)?)s?|${START})|(?:not|never) (?:become )?(?:healthy|ready) (?:with)?in|setting up the cluster|unexpected (?:failure|error) while (?:waiting for the cluster|launching|setting up)|(?:while|during) (?:launching|starting|setting up|bootstrapping|provisioning)|too long to ${START}|cloud provider (?:failure|error)|(?:error|fail(?:ure|ed)?|exception|problem) (?:during|while|in) (?:the )?${START}`,
      'i',
    ),
    errorType: 'DatabricksClusterStartFailure',
    confidence: 0.6,
  },
  {
    rule: 'driver_unreachable',
    pattern: new RegExp(
      String.raw`${DRIVER} (?:is |was |has |became |has become )*(?:temporarily )?(?:unreachable|not responding|unresponsive|unavailable|down|lost|not reachable|stopped|crashed|restarted|died|exited|killed)|${DRIVER}\b.{0,30}\b(?:not respon(?:ding|sive)|unresponsive)|(?:los[et] (?:contact|connection|communication)|could ?not (?:reach|connect to)|unable to (?:reach|connect to)|no response from)\b.{0,40}\b(?:driver|cluster|chauffeur)|(?:not able|unable|could ?not|cannot|failed) to (?:access|reach|connect to|contact) (?:the )?${DRIVER}|cluster\b.{0,20}\b(?:became|become|is|was) (?:unreachable|unresponsive)|(?:python|ipython|repl) (?:kernel|process) (?:is |was |became )?(?:unresponsive|not responding)|DriverLost|chauffeur|notebook (?:may have been )?detached`,
      'i',
    ),
    errorType: 'DatabricksDriverNotResponding',
    confidence: 0.7,
  },
  {
    rule: 'service_unavailable',
    pattern:
      /(?:metastore|dbfs|databricks file system|control plane|execution component)\b.{0,60}\b(?:down|unhealthy|unreachable|not be reached|unavailable|could not be)|temporarily unavailable|service unavailable|internal (?:server )?error|error code 5\d\d|\b50[0234]\b|unexpected error (?:that|which) forced/i,
    errorType: 'DatabricksServiceFault',
    confidence: 0.5,
  },
  {
    rule: 'network_transient',
    pattern:
      /timed? ?out|timeout|connection (?:reset|refused|closed|lost)|ConnectException|SocketTimeout|UnknownHost|name resolution|dns (?:resolution|lookup)|network (?:is )?unreachable|unreachable|network (?:error|connectivity|failure|issue)/i,
    errorType: 'DatabricksNetworkFailure',
    confidence: 0.5,
  },
];

/** The concept rules in the order they are tried, for the classification reference. */
export const FREE_TEXT_RULES: readonly Omit<Rule, 'pattern'>[] = RULES.map(
  ({ rule, errorType, confidence }) => ({
    rule,
    errorType,
    confidence,
  }),
);

/** A match on a termination code (one the table knows) that the text names or labels. */
function codeMatch(code: string, confidence: number, rule: string, evidence: string): FreeTextMatch {
  return { errorType: FAILURE_CODE_TYPES.get(code) as ErrorType, confidence, rule, evidence };
}

/** Classifies a free-text message; undefined when nothing recognisable is in it. */
export function matchFreeText(text: string | undefined): FreeTextMatch | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  // Bound the work on hostile input: messages longer than this carry no more signal.
  const bounded = text.slice(0, 4000);
  const evidence = bounded.replace(HEDGE, ' ').trim();
  const sample = evidence === '' ? bounded : evidence;
  const codes = [...sample.matchAll(CODE_TOKEN)].map(([token]) => token);
  const specific = codes.find((code) => FAILURE_CODE_TYPES.has(code) && !GENERIC_CODES.has(code));
  if (specific !== undefined) {
    return codeMatch(specific, 0.85, 'termination_code', specific);
  }
  const named = CODE_LABELS.find(({ code, named }) => !GENERIC_CODES.has(code) && named.test(sample));
  if (named !== undefined) {
    return codeMatch(named.code, 0.85, 'termination_code', named.code);
  }
  for (const { rule, pattern, errorType, confidence } of RULES) {
    const match = pattern.exec(sample);
    if (match) return { errorType, confidence, rule, evidence: match[0] };
  }
  const generic = codes.find((code) => FAILURE_CODE_TYPES.has(code) && code !== 'UNKNOWN');
  if (generic !== undefined) {
    return codeMatch(generic, 0.5, 'termination_code', generic);
  }
  for (const { code, pattern } of CODE_LABELS) {
    const match = pattern.exec(sample);
    if (match) {
      return codeMatch(code, 0.5, 'termination_label', match[0]);
    }
  }
  return undefined;
}
