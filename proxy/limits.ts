// The fault proxy's limits, in one place: the proxy enforces them (4xx answers) and the experiment
// language imports them, so a file that validates never carries a value the proxy refuses at inject
// time. Plain constants and pure checks only: no Node built-ins, no imports (experiments/ and
// workflows may load this file).

// --- admin API and state ---------------------------------------------------------------------------

/** Proxies one server holds (each enabled one owns a listening socket). */
export const MAX_PROXIES = 500;
/** Toxics on one proxy, both streams together (each one is a stage on every live connection). */
export const MAX_TOXICS_PER_PROXY = 64;
/** Length of a proxy or toxic name, in characters. */
export const MAX_NAME_LENGTH = 256;
/** Admin API request body (JSON), bytes: 413 beyond it. */
export const MAX_BODY_BYTES = 1 << 20;
/** Admin API request head (request line plus headers), bytes: 431 beyond it. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Entries in one POST /populate. */
export const MAX_POPULATE_ENTRIES = MAX_PROXIES;

// --- toxic attributes (whole numbers; every ms value fits Node's 32-bit timers) --------------------

/** latency toxic: added delay and its uniform jitter, ms. */
export const MAX_LATENCY_MS = 3_600_000;
export const MAX_JITTER_MS = 3_600_000;
/** bandwidth toxic: rate in KB/s (1 KB = 1000 bytes); 0 lets everything through. */
export const MAX_RATE_KBPS = 100_000_000;
/** timeout toxic ("close after"): ms before held connections close; 0 holds them forever. */
export const MAX_CLOSE_AFTER_MS = 86_400_000;
/** reset_peer toxic ("reset after"): ms after the first data before the TCP reset. */
export const MAX_RESET_AFTER_MS = 86_400_000;
/** slow_close toxic: delay before the close is passed on, ms. */
export const MAX_SLOW_CLOSE_MS = 86_400_000;
/** slicer toxic: slice sizes in bytes and the delay between slices in microseconds. */
export const MAX_SLICE_BYTES = 1 << 30;
export const MAX_SLICER_DELAY_US = 60_000_000;
/** limit_data toxic: bytes before the connection closes. */
export const MAX_LIMIT_DATA_BYTES = Number.MAX_SAFE_INTEGER;
/** http_delay toxic: hold per matching request, ms. */
export const MAX_HTTP_DELAY_MS = 3_600_000;
/** http_abort toxic: answer status and body (characters). */
export const MIN_HTTP_ABORT_STATUS = 200;
export const MAX_HTTP_ABORT_STATUS = 599;
export const MAX_HTTP_ABORT_BODY_LENGTH = 65_536;
/** Faultline's lease on a toxic or a disabled proxy (lease_ms), ms. */
export const MIN_LEASE_MS = 1;
export const MAX_LEASE_MS = 7 * 24 * 3_600_000;
/** toxicity is a share of connections (0..1); percentage (HTTP toxics) a share of requests (0..100). */
export const MAX_TOXICITY = 1;
export const MAX_PERCENTAGE = 100;

// --- HTTP request matching (http_delay, http_abort) ------------------------------------------------

/** The methods every HTTP library knows; the proxy also accepts any other token HTTP_METHOD_PATTERN allows. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;
/** A method as it can appear on a request line the proxy frames (upper case after normalising). */
export const HTTP_METHOD_PATTERN = /^[A-Z][A-Z0-9_-]{0,31}$/;
/** path_prefix: empty (every path) or "/" followed by visible ASCII, as on a request line. */
export const PATH_PREFIX_PATTERN = /^\/[\x21-\x7e]*$/;
export const MAX_PATH_PREFIX_LENGTH = 4096;
/** headers to match: at most this many, names are HTTP tokens, values visible ASCII or spaces. */
export const MAX_MATCH_HEADERS = 16;
export const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
export const HEADER_VALUE_PATTERN = /^[\x20-\x7e\t]{0,1024}$/;

/** Is `m` (any case) a method the proxy matches? An empty string means "every method". */
export function isHttpMethod(m: string): boolean {
  return HTTP_METHOD_PATTERN.test(m.toUpperCase());
}

/** Is `p` a path prefix the proxy accepts (non-empty form)? */
export function isPathPrefix(p: string): boolean {
  return p.length <= MAX_PATH_PREFIX_LENGTH && PATH_PREFIX_PATTERN.test(p);
}
