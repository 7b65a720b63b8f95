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
 * - A depth and list-nesting limit and a small request size: the views are
 *   flat, so anything deeper is not the dashboard.
 * - GraphiQL (Ruru) at /graphiql and unmasked errors only in development
 *   (GRAPHILE_ENV=development).
 */
import { depthLimit } from '@graphile/depth-limit';
import type pg from 'pg';
import type {} from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { maskErrorFor } from './errors.ts';
import { ApiInflectionPlugin } from './inflection.ts';
import { DASHBOARD_ROLE, OPERATOR_ROLE } from './login.ts';
import { credentialOf } from './operator-token.ts';

export const API_SCHEMA = 'buyer_sync_api';
export const GRAPHQL_PATH = '/graphql';
export const GRAPHIQL_PATH = '/graphiql';

export interface ApiOptions {
  /** A pool logged in as the API's noinherit login (login.ts). */
  pool: pg.Pool;
  operatorToken: string | null;
  development: boolean;
}

/** Query depth and list nesting: the dashboard's deepest query is 3 levels. */
const DepthLimitPlugin: GraphileConfig.Plugin = {
  name: 'BuyerSyncDepthLimitPlugin',
  version: '1.0.0',
  grafserv: {
    middleware: {
      setPreset(next, event) {
        event.validationRules.push(depthLimit({ maxDepth: 8, maxListDepth: 2, maxIntrospectionDepth: 16, maxIntrospectionListDepth: 6 }));
        return next();
      },
    },
  },
};

export function apiPreset(o: ApiOptions): GraphileConfig.Preset {
  return {
    extends: [PostGraphileAmberPreset],
    plugins: [ApiInflectionPlugin, DepthLimitPlugin],
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
          pgSettings: operator ? { role: OPERATOR_ROLE } : { role: DASHBOARD_ROLE, transaction_read_only: 'on' },
        };
      },
    },
    grafserv: {
      graphqlPath: GRAPHQL_PATH,
      graphiql: o.development,
      graphiqlOnGraphQLGET: false,
      graphiqlPath: GRAPHIQL_PATH,
      websockets: false,
      maxRequestLength: 64 * 1024,
      maskError: maskErrorFor(o.operatorToken !== null, o.development),
    },
  };
}
