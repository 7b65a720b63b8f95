/**
 * Which database errors a GraphQL client may read. Everything else is masked
 * (grafserv's default: a generic message and an id the server log shows),
 * since a database error could name internals.
 */
import { defaultMaskError } from 'postgraphile/grafserv';
import { GraphQLError, type GraphQLFormattedError } from 'postgraphile/graphql';

/** Errors the API's own functions raise on purpose: their message is for the caller. */
const OWN_ERRORS = new Set([
  '22023', // invalid_parameter_value: an empty buyer number, too many numbers
  'P0002', // no_data_found: no such alert
  '55000', // object_not_in_prerequisite_state: the alert was already resolved
]);

/** Errors that mean the request was not allowed to act. */
const NOT_ALLOWED = new Set([
  '42501', // insufficient_privilege: the dashboard role calling an operator action
  '25006', // read_only_sql_transaction
]);

/** development: other errors go to the client as they are (GraphiQL shows them). */
/** The database is out of reach or refused the API's login: the page says so rather than "an error occurred". */
function unreachable(code: string): boolean {
  return (
    /^(08|28|57P0)/.test(code) ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code)
  );
}

export function maskErrorFor(operatorTokenSet: boolean, development: boolean) {
  const notAllowed = operatorTokenSet
    ? 'this is an operator action: send the header "Authorization: Bearer <DASHBOARD_OPERATOR_TOKEN>" (the dashboard asks for the token)'
    : 'operator actions are off on this server: DASHBOARD_OPERATOR_TOKEN is not set';
  return (error: GraphQLError): GraphQLError | GraphQLFormattedError => {
    const code = (error.originalError as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && NOT_ALLOWED.has(code)) {
      return new GraphQLError(notAllowed, { nodes: error.nodes, path: error.path, extensions: { code: 'FORBIDDEN' } });
    }
    if (typeof code === 'string' && unreachable(code)) {
      return new GraphQLError(`the service cannot reach its database (${code}); its log says more`, {
        nodes: error.nodes,
        path: error.path,
        extensions: { code: 'DATABASE_UNAVAILABLE' },
      });
    }
    if (code === '57014') {
      return new GraphQLError('the request took too long and was cancelled', {
        nodes: error.nodes,
        path: error.path,
        extensions: { code: 'TIMEOUT' },
      });
    }
    if (typeof code === 'string' && OWN_ERRORS.has(code)) {
      return new GraphQLError(error.message, {
        nodes: error.nodes,
        path: error.path,
        extensions: { code: 'BAD_REQUEST', sqlstate: code },
      });
    }
    return development ? error : defaultMaskError(error);
  };
}
