/**
 * The GraphQL API's login as SQL sees it (login.ts): what the connected role
 * may do, the password the service keeps for buyer_sync_authenticator
 * (buyer_sync_private.api_login, migration 058), the other databases of the
 * cluster that may keep one, and the password set on the role.
 */
import type pg from 'pg';
import type { Queryable } from '../db/queryable.ts';

/** What a login may be: checked before any request uses it. */
export interface LoginFacts {
  user: string;
  inherits: boolean;
  superuser: boolean;
  dashboard: boolean;
  operator: boolean;
}

/**
 * What the role this client is logged in as may do: whether it inherits, is
 * a superuser, and may switch to the dashboard and operator roles. Asked on
 * the login's own connection (current_user).
 */
export async function currentLoginFacts(
  client: pg.ClientBase,
  dashboardRole: string,
  operatorRole: string,
): Promise<LoginFacts> {
  const { rows } = await client.query<LoginFacts>(
    `select r.rolname as "user", r.rolinherit as inherits, r.rolsuper as superuser,
              pg_catalog.pg_has_role(r.oid, $1, 'member') as dashboard,
              pg_catalog.pg_has_role(r.oid, $2, 'member') as operator
         from pg_catalog.pg_roles r where r.rolname = current_user`,
    [dashboardRole, operatorRole],
  );
  return rows[0]!;
}

/** The cluster's other databases that take connections, by name: each may keep the authenticator's password. */
export async function otherDatabases(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ datname: string }>(
    `select datname from pg_catalog.pg_database where datallowconn and datname <> current_database() order by datname`,
  );
  return rows.map((r) => r.datname);
}

/**
 * The password the database this client is connected to keeps for the
 * authenticator; undefined when it keeps none. Fails in a database that is
 * not a buyer-sync one (the caller skips it).
 */
export async function keptApiPassword(client: pg.ClientBase): Promise<string | undefined> {
  const { rows } = await client.query<{ password: string }>(
    `select password from buyer_sync_private.api_login where to_regclass('buyer_sync_private.api_login') is not null`,
  );
  return rows[0]?.password;
}

/** The password this database keeps for the authenticator (migration 058 writes one). */
export async function ownApiPassword(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ password: string }>('select password from buyer_sync_private.api_login');
  return rows[0]!.password;
}

/** Keeps `password` as the authenticator's (the one another database of the cluster set on the role). */
export async function keepApiPassword(db: Queryable, password: string): Promise<void> {
  await db.query('update buyer_sync_private.api_login set password = $1', [password]);
}

/**
 * Makes `role` a noinherit login with the password of this SCRAM verifier
 * (scramVerifier: the password itself never reaches a server log). `alter
 * role` takes no parameters: `role` must be a fixed role name of ours and
 * `verifier` a SCRAM verifier (no quote can be in either).
 */
export async function setLoginPassword(db: Queryable, role: string, verifier: string): Promise<void> {
  await db.query(`alter role ${role} with login noinherit password '${verifier}'`);
}
