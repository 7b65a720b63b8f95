/**
 * The login the GraphQL API connects with: a noinherit role that can read
 * nothing itself and switches, per request, to buyer_sync_dashboard (read the
 * API schema) or buyer_sync_operator (that, plus the operator actions).
 *
 * - DASHBOARD_DATABASE_URL set: used as given, after checking that it is
 *   such a login (a superuser or an inheriting role would let a request
 *   read more than the API schema).
 * - Unset: the service's own database, as buyer_sync_authenticator (migration
 *   058), with the password kept in buyer_sync_private.api_login. The role
 *   is the cluster's: when the server refuses that password, the password of
 *   another buyer-sync database of the cluster that works is adopted (so two
 *   databases' services never lock each other out); when none does (the role
 *   is new), the service sets its own on the role, as a SCRAM verifier, which
 *   needs an owner that is a superuser or has createrole. Otherwise
 *   DASHBOARD_DATABASE_URL is the way.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';
import { connectionError, describeTarget, inDatabase, type Database } from '../db/connection.ts';
import { CannotRunError } from '../errors.ts';
import {
  currentLoginFacts,
  keepApiPassword,
  keptApiPassword,
  otherDatabases,
  ownApiPassword,
  setLoginPassword,
  type LoginFacts,
} from './sql.ts';

export const AUTHENTICATOR_ROLE = 'buyer_sync_authenticator';
export const DASHBOARD_ROLE = 'buyer_sync_dashboard';
export const OPERATOR_ROLE = 'buyer_sync_operator';

const REFUSED_LOGIN = new Set(['28P01', '28000']);

async function loginFacts(url: string): Promise<LoginFacts> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 10_000,
    application_name: 'buyer-sync api',
  });
  await client.connect();
  try {
    return await currentLoginFacts(client, DASHBOARD_ROLE, OPERATOR_ROLE);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Why a login must not serve the API, or null when it may. */
export function loginProblem(f: LoginFacts): string | null {
  if (f.superuser) return `"${f.user}" is a superuser: every request could read and write everything`;
  if (f.inherits)
    return `"${f.user}" inherits its roles' privileges: create it with noinherit (alter role ${f.user} noinherit)`;
  if (!f.dashboard || !f.operator)
    return `"${f.user}" cannot switch to ${DASHBOARD_ROLE} and ${OPERATOR_ROLE} (grant ${DASHBOARD_ROLE}, ${OPERATOR_ROLE} to ${f.user})`;
  return null;
}

/** The service's URL with the API's login instead of the owner's; a socket-only URL cannot be rewritten safely. */
function withLogin(url: string, user: string, password: string): string {
  const u = new URL(url);
  if (u.hostname === '' || u.searchParams.has('host')) {
    throw new CannotRunError(
      'DATABASE_URL names no TCP host (a Unix socket?): set DASHBOARD_DATABASE_URL to the GraphQL API\'s login (docs/runbooks.md: "The dashboard\'s database login")',
    );
  }
  u.searchParams.delete('user');
  u.searchParams.delete('password');
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/**
 * A SCRAM-SHA-256 verifier (RFC 5802, as PostgreSQL stores it), so that
 * `alter role … password` never carries the password itself into a server
 * log.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

async function checked(url: string, origin: string): Promise<string> {
  const facts = await loginFacts(url);
  const problem = loginProblem(facts);
  if (problem !== null) throw new CannotRunError(`${origin} cannot serve the GraphQL API: ${problem}`);
  return url;
}

const refused = (err: unknown) => REFUSED_LOGIN.has((err as { code?: string }).code ?? '');

/** Checks `url`; null when the server refuses the login itself (a wrong password), throws anything else. */
async function tryLogin(url: string): Promise<string | null> {
  try {
    return await checked(url, AUTHENTICATOR_ROLE);
  } catch (err) {
    if (refused(err)) return null;
    if (err instanceof CannotRunError) throw err;
    throw connectionError(url, err);
  }
}

/**
 * The password another buyer-sync database of this cluster keeps, if it is
 * the one the role has now: the role is the cluster's, so every database's
 * service must log in with the same password. Each database is asked in
 * turn (as this service's owner; one it may not enter is skipped).
 */
async function passwordInUse(db: Database, own: string): Promise<string | null> {
  for (const datname of await otherDatabases(db.pool)) {
    const client = new pg.Client({
      connectionString: inDatabase(db.url, datname),
      connectionTimeoutMillis: 5_000,
      application_name: 'buyer-sync api',
    });
    try {
      await client.connect();
      const password = await keptApiPassword(client).catch(() => undefined);
      if (password && password !== own && (await tryLogin(withLogin(db.url, AUTHENTICATOR_ROLE, password))) !== null)
        return password;
    } catch {
      // Not ours to enter, or not a buyer-sync database: next.
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return null;
}

/** The connection string the GraphQL API uses (see the module's comment). */
export async function apiLoginUrl(
  db: Database,
  config: { dashboardDatabaseUrl: string | null },
  log: (line: string) => void = () => undefined,
): Promise<string> {
  if (config.dashboardDatabaseUrl !== null) {
    try {
      return await checked(config.dashboardDatabaseUrl, 'DASHBOARD_DATABASE_URL');
    } catch (err) {
      if (err instanceof CannotRunError) throw err;
      throw connectionError(config.dashboardDatabaseUrl, err);
    }
  }
  const own = await ownApiPassword(db.pool);
  const mine = await tryLogin(withLogin(db.url, AUTHENTICATOR_ROLE, own));
  if (mine !== null) return mine;
  // The server refused the password: another database's service set the role's (adopt it), or nobody has yet (set ours).
  const shared = await passwordInUse(db, own);
  if (shared !== null) {
    await keepApiPassword(db.pool, shared);
    log(
      `the GraphQL API logs in as ${AUTHENTICATOR_ROLE} with the password another database of this cluster set (now kept here too)`,
    );
    return (await tryLogin(withLogin(db.url, AUTHENTICATOR_ROLE, shared)))!;
  }
  try {
    await setLoginPassword(db.pool, AUTHENTICATOR_ROLE, scramVerifier(own));
  } catch (err) {
    const target = describeTarget(db.url);
    throw new CannotRunError(
      `the GraphQL API cannot log in as ${AUTHENTICATOR_ROLE}, and "${target.user}" may not set its password (${(err as Error).message}); ` +
        `set DASHBOARD_DATABASE_URL to a login made for it (docs/runbooks.md: "The dashboard's database login")`,
      { cause: err },
    );
  }
  const url = await tryLogin(withLogin(db.url, AUTHENTICATOR_ROLE, own));
  if (url === null)
    throw new CannotRunError(
      `the server refuses ${AUTHENTICATOR_ROLE}'s login even after its password was set: check pg_hba.conf for that role, or set DASHBOARD_DATABASE_URL`,
    );
  return url;
}
