/**
 * The GraphQL API: PostGraphile v5 over the buyer_sync_api schema (migration
 * 058), and nothing else.
 *
 * - Built from what buyer_sync_operator may see (introspection runs as it),
 *   so the schema has the views and the operator actions and no table.
 * - Each request runs in a transaction as buyer_sync_dashboard, read-only;
 *   with the operator token, as buyer_sync_operator (operator-token.ts).
 * - No inserts, updates or deletes are generated; volatile functions in the
 *   API schema are the only mutations.
 * - Limits on depth, breadth and request size (limits.ts), and a statement
 *   timeout: the views are flat and bounded, so anything bigger is not the
 *   dashboard.
 * - GraphiQL (Ruru) at /graphiql and unmasked errors only in development
 *   (GRAPHILE_ENV=development).
 */
import type pg from 'pg';
import type {} from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { maskErrorFor } from './errors.ts';
import { ApiInflectionPlugin } from './inflection.ts';
import { LimitsPlugin } from './limits.ts';
import { DASHBOARD_ROLE, OPERATOR_ROLE } from './login.ts';
import { credentialOf } from './operator-token.ts';

export const API_SCHEMA = 'buyer_sync_api';
export const GRAPHQL_PATH = '/graphql';
export const GRAPHIQL_PATH = '/graphiql';
/** The largest request body accepted (413 above). */
export const MAX_REQUEST_LENGTH = 64 * 1024;
/** No request of the page's takes more than a few milliseconds. */
const STATEMENT_TIMEOUT = '10s';

export interface ApiOptions {
  /** A pool logged in as the API's noinherit login (login.ts). */
  pool: pg.Pool;
  operatorToken: string | null;
  development: boolean;
}

export function apiPreset(o: ApiOptions): GraphileConfig.Preset {
  return {
    extends: [PostGraphileAmberPreset],
    plugins: [ApiInflectionPlugin, LimitsPlugin],
    // No global object ids (every view has a plain key), no Relay-style query field.
    disablePlugins: ['NodePlugin', 'QueryQueryPlugin'],
    pgServices: [
      makePgService({
        pool: o.pool,
        schemas: [API_SCHEMA],
        pubsub: false,
        pgSettingsForIntrospection: { role: OPERATOR_ROLE },
      }),
    ],
    schema: {
      defaultBehavior: '-insert -update -delete',
    },
    grafast: {
      explain: o.development,
      context(requestContext) {
        const credential = credentialOf(requestContext.http?.getHeader('authorization'), o.operatorToken);
        // A refused credential never reaches here (the HTTP layer answers 401); read-only is the fallback all the same.
        const operator = 'caller' in credential && credential.caller === 'operator';
        return {
          pgSettings: operator
            ? { role: OPERATOR_ROLE, statement_timeout: STATEMENT_TIMEOUT }
            : { role: DASHBOARD_ROLE, transaction_read_only: 'on', statement_timeout: STATEMENT_TIMEOUT },
        };
      },
    },
    grafserv: {
      graphqlPath: GRAPHQL_PATH,
      graphiql: o.development,
      graphiqlOnGraphQLGET: false,
      graphiqlPath: GRAPHIQL_PATH,
      websockets: false,
      maxRequestLength: MAX_REQUEST_LENGTH,
      maskError: maskErrorFor(o.operatorToken !== null, o.development),
    },
  };
}
