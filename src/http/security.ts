/**
 * What every response of `serve` carries, and which requests it answers at
 * all.
 *
 * - Security headers on every response (the page, its assets, /graphql,
 *   /healthz, 404s, refusals): nothing is loaded from elsewhere, nothing is
 *   framed, no referrer leaves, no content type is sniffed.
 * - The Host check (DNS rebinding): a page on an attacker's domain that
 *   resolves to 127.0.0.1 could otherwise read the API from a browser. A
 *   request is answered only when its Host names this server: a loopback name
 *   (localhost, 127.0.0.1, [::1]) or HOST, with the listening port; the host
 *   of DASHBOARD_PUBLIC_URL (the address people use behind a proxy); or the
 *   IP address the connection came in on, as a literal (what load balancers'
 *   and orchestrators' probes send; rebinding needs a name, never a literal).
 *   A request without a Host (HTTP/1.0; no browser sends one) is answered.
 */
import { isIP } from 'node:net';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * GraphiQL (development only) runs inline scripts and styles: everything of
 * the above but the script and style limits.
 */
export const GRAPHIQL_HEADERS: Readonly<Record<string, string>> = {
  ...SECURITY_HEADERS,
  'content-security-policy': "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

/** A hostname as it appears in a Host header: lower case, IPv6 in brackets. */
function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  return isIP(h) === 6 ? `[${h}]` : h;
}

/** A Host header's name and port (null: none given), or null when it is not one. */
function parseHost(header: string): { name: string; port: number | null } | null {
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]\s/@]+)(?::(\d{1,5}))?$/i.exec(header.trim());
  if (m === null) return null;
  const port = m[2] === undefined ? null : Number(m[2]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { name: hostName(m[1]!.replace(/\.$/, '')), port };
}

/** The IP of a socket address as a Host would spell it (IPv4-mapped IPv6 as IPv4). */
function addressName(address: string | undefined): string | null {
  if (!address) return null;
  const a = address.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  return hostName(a.replace(/%.*$/, ''));
}

export interface HostRules {
  /** `name:port` pairs that are accepted. */
  allowed: Set<string>;
  port: number;
}

/**
 * The Host values this server answers to: loopback and HOST (unless a
 * wildcard) on the listening port, and the public URL's host when given.
 */
export function hostRules(host: string, port: number, publicUrl: string | null | undefined): HostRules {
  const allowed = new Set<string>();
  const names = [...LOOPBACK_NAMES];
  if (!WILDCARDS.has(host.trim().toLowerCase())) names.push(hostName(host.replace(/^\[(.*)\]$/, '$1')));
  for (const n of names) allowed.add(`${n}:${port}`);
  if (publicUrl) {
    try {
      const u = new URL(publicUrl);
      const p = u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
      allowed.add(`${hostName(u.hostname.replace(/^\[(.*)\]$/, '$1'))}:${p}`);
    } catch {
      // Not a URL: config.ts reports it; nothing is added.
    }
  }
  return { allowed, port };
}

/** Whether a request with this Host header, on a connection to `localAddress`, is for this server. */
export function hostAllowed(rules: HostRules, header: string | undefined, localAddress: string | undefined): boolean {
  if (header === undefined) return true;
  const h = parseHost(header);
  if (h === null) return false;
  // No port: the scheme's default (80, or 443 behind a TLS proxy).
  const ports = h.port === null ? [80, 443] : [h.port];
  if (ports.some((p) => rules.allowed.has(`${h.name}:${p}`))) return true;
  return (
    isIP(h.name.replace(/^\[(.*)\]$/, '$1')) !== 0 && h.name === addressName(localAddress) && ports.includes(rules.port)
  );
}
