/**
 * The login the GraphQL API connects with: a noinherit role that can read
 * nothing itself and switches, per request, to buyer_sync_dashboard (read the
 * API schema) or buyer_sync_operator (that, plus the operator actions).
 *
 * - DASHBOARD_DATABASE_URL set: used as given, after checking that it is
 *   such a login (a superuser or an inheriting role would let a request
 *   read more than the API schema).
 * - Unset: the service's own database, as buyer_sync_authenticator (migration
 *   058), with the password kept in buyer_sync_private.api_login. When the
 *   server refuses that password (the role is the cluster's and new), the
 *   service sets it on the role, which needs an owner that is a superuser or
 *   has createrole; otherwise DASHBOARD_DATABASE_URL is the way.
 */
import pg from 'pg';
import type { Config } from '../config.ts';
import { connectionError, describeTarget, type Database } from '../db/connection.ts';
import { CannotRunError } from '../errors.ts';

export const AUTHENTICATOR_ROLE = 'buyer_sync_authenticator';
export const DASHBOARD_ROLE = 'buyer_sync_dashboard';
export const OPERATOR_ROLE = 'buyer_sync_operator';

const REFUSED_LOGIN = new Set(['28P01', '28000']);

/** What a login may be: checked before any request uses it. */
interface LoginFacts {
  user: string;
  inherits: boolean;
  superuser: boolean;
  dashboard: boolean;
  operator: boolean;
}

async function loginFacts(url: string): Promise<LoginFacts> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, application_name: 'buyer-sync api' });
  await client.connect();
  try {
    const { rows } = await client.query<LoginFacts>(
      `select r.rolname as "user", r.rolinherit as inherits, r.rolsuper as superuser,
              pg_catalog.pg_has_role(r.oid, $1, 'member') as dashboard,
              pg_catalog.pg_has_role(r.oid, $2, 'member') as operator
         from pg_catalog.pg_roles r where r.rolname = current_user`,
      [DASHBOARD_ROLE, OPERATOR_ROLE],
    );
    return rows[0]!;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Why a login must not serve the API, or null when it may. */
export function loginProblem(f: LoginFacts): string | null {
  if (f.superuser) return `"${f.user}" is a superuser: every request could read and write everything`;
  if (f.inherits) return `"${f.user}" inherits its roles' privileges: create it with noinherit (alter role ${f.user} noinherit)`;
  if (!f.dashboard || !f.operator) return `"${f.user}" cannot switch to ${DASHBOARD_ROLE} and ${OPERATOR_ROLE} (grant ${DASHBOARD_ROLE}, ${OPERATOR_ROLE} to ${f.user})`;
  return null;
}

function withLogin(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}

async function checked(url: string, origin: string): Promise<string> {
  const facts = await loginFacts(url);
  const problem = loginProblem(facts);
  if (problem !== null) throw new CannotRunError(`${origin} cannot serve the GraphQL API: ${problem}`);
  return url;
}

/** The connection string the GraphQL API uses (see the module's comment). */
export async function apiLoginUrl(db: Database, config: Pick<Config, 'dashboardDatabaseUrl'>): Promise<string> {
  if (config.dashboardDatabaseUrl !== null) {
    try {
      return await checked(config.dashboardDatabaseUrl, 'DASHBOARD_DATABASE_URL');
    } catch (err) {
      if (err instanceof CannotRunError) throw err;
      throw connectionError(config.dashboardDatabaseUrl, err);
    }
  }
  const { rows } = await db.pool.query<{ password: string }>('select password from buyer_sync_private.api_login');
  const url = withLogin(db.url, AUTHENTICATOR_ROLE, rows[0]!.password);
  try {
    return await checked(url, AUTHENTICATOR_ROLE);
  } catch (err) {
    if (!REFUSED_LOGIN.has((err as { code?: string }).code ?? '')) {
      if (err instanceof CannotRunError) throw err;
      throw connectionError(url, err);
    }
  }
  // The server refused the password: the role is new to this cluster (or another database's service set its own).
  try {
    // A hex string the migration made (checked: it goes into the statement as a literal, as alter role requires).
    const password = rows[0]!.password;
    if (!/^[0-9a-f]{64}$/.test(password)) throw new Error('buyer_sync_private.api_login.password is not 64 hex digits');
    await db.pool.query(`alter role ${AUTHENTICATOR_ROLE} with login noinherit password '${password}'`);
  } catch (err) {
    const target = describeTarget(db.url);
    throw new CannotRunError(
      `the GraphQL API cannot log in as ${AUTHENTICATOR_ROLE}, and "${target.user}" may not set its password (${(err as Error).message}); ` +
        `set DASHBOARD_DATABASE_URL to a login made for it (docs/runbooks.md: "The dashboard's database login")`,
      { cause: err },
    );
  }
  try {
    return await checked(url, AUTHENTICATOR_ROLE);
  } catch (err) {
    if (err instanceof CannotRunError) throw err;
    throw connectionError(url, err);
  }
}
