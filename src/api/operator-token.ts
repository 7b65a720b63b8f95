/**
 * The operator token: operator actions (mutations) run as the operator role
 * only for a request that carries `Authorization: Bearer <token>` equal to
 * DASHBOARD_OPERATOR_TOKEN. Compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type Caller = 'dashboard' | 'operator';

/** What an Authorization header says, or why it is refused. */
export type Credential = { caller: Caller } | { refused: string };

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * No header: the read-only dashboard. A bearer token: the operator when it
 * is the configured one; anything else is refused (a wrong token is a
 * mistake worth saying, not a silent downgrade to read-only).
 */
export function credentialOf(header: string | undefined, operatorToken: string | null): Credential {
  if (header === undefined || header.trim() === '') return { caller: 'dashboard' };
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (m === null) return { refused: 'the Authorization header must be "Bearer <DASHBOARD_OPERATOR_TOKEN>"' };
  if (operatorToken === null)
    return { refused: 'operator actions are off on this server: DASHBOARD_OPERATOR_TOKEN is not set' };
  if (!tokenMatches(m[1]!, operatorToken)) return { refused: 'the operator token is wrong' };
  return { caller: 'operator' };
}
