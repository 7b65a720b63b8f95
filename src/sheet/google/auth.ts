/**
 * Credentials for the Sheets API, from the environment:
 * - GOOGLE_APPLICATION_CREDENTIALS: a service account's key file (the JSON
 *   Google's console downloads). Requests carry a self-signed JWT, so no token
 *   exchange is needed; the sheet must be shared with the account's e-mail.
 * - GOOGLE_API_KEY: an API key, for sheets shared by link ("anyone with the link").
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as GoogleAuth from 'google-auth-library';
import type { JWT } from 'google-auth-library';
import { CannotRunError } from '../../errors.ts';

export type SheetsCredentials =
  | { kind: 'service_account'; email: string; client: JWT; identity: string }
  | { kind: 'api_key'; key: string; identity: string };

export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): SheetsCredentials {
  const keyFile = env.GOOGLE_APPLICATION_CREDENTIALS?.trim();
  const apiKey = env.GOOGLE_API_KEY?.trim();
  if (keyFile) {
    let json: { type?: string; client_email?: string; private_key?: string; private_key_id?: string };
    try {
      json = JSON.parse(readFileSync(keyFile, 'utf8'));
    } catch (err) {
      throw new CannotRunError(
        `GOOGLE_APPLICATION_CREDENTIALS=${keyFile} is not a readable service-account key file: ${(err as Error).message.split('\n')[0]}`,
        { cause: err },
      );
    }
    if (json.type !== 'service_account' || !json.client_email || !json.private_key) {
      throw new CannotRunError(
        `GOOGLE_APPLICATION_CREDENTIALS=${keyFile} is not a service-account key (expected "type": "service_account" with client_email and private_key); create one in the Google Cloud console under IAM > Service accounts > Keys`,
      );
    }
    // Loaded on first use (synchronously: this function is): a run that reads a CSV export never pays for it.
    const { JWT: Jwt } = createRequire(import.meta.url)('google-auth-library') as typeof GoogleAuth;
    const client: JWT = new Jwt({
      email: json.client_email,
      key: json.private_key,
      keyId: json.private_key_id ?? undefined,
      // Read the sheet; read its file's metadata (its version: whether it changed since the last read).
      scopes: [
        'https://www.googleapis.com/auth/spreadsheets.readonly',
        'https://www.googleapis.com/auth/drive.metadata.readonly',
      ],
    });
    // Sign the request's token ourselves (a scoped self-signed JWT), instead of
    // exchanging it at Google's token endpoint first: one fewer call, one fewer
    // thing to fail.
    client.useJWTAccessWithScope = true;
    return { kind: 'service_account', email: json.client_email, client, identity: json.client_email };
  }
  if (apiKey) {
    return {
      kind: 'api_key',
      key: apiKey,
      identity: `api-key:${createHash('sha256').update(apiKey).digest('hex').slice(0, 12)}`,
    };
  }
  throw new CannotRunError(
    'reading a Google Sheet needs credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file (and share the sheet with its e-mail), or GOOGLE_API_KEY for a sheet shared by link',
  );
}

/** What to do when Google refuses these credentials for this sheet. */
export function accessAdvice(creds: SheetsCredentials): string {
  return creds.kind === 'service_account'
    ? `share the sheet (Viewer is enough) with the service account ${creds.email}`
    : 'share the sheet with "Anyone with the link" (Viewer), or check that the API key may call the Google Sheets API';
}

/** The scope that lets a service account edit a spreadsheet (the sync report tab; never the buyers' values). */
export const SPREADSHEETS_SCOPE = 'https://www.googleapis.com/auth/spreadsheets';

/**
 * Credentials that can write (the sync report tab, cell notes): a service
 * account whose token carries the `spreadsheets` scope (plus Drive metadata,
 * to learn the version its own write produced). The same self-signed JWT as
 * reads, scoped wider: google-auth-library's JWT client posts token exchanges
 * to a fixed https://oauth2.googleapis.com/token (it honours neither the key
 * file's token_uri nor any override), so no token endpoint is involved. An API
 * key cannot write at all. The identity is the read credential's: writes wait
 * for the same rate limiter. The read path (credentialsFromEnv) is unchanged.
 */
export function writeCredentialsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Extract<SheetsCredentials, { kind: 'service_account' }> {
  const creds = credentialsFromEnv(env);
  if (creds.kind !== 'service_account') {
    throw new CannotRunError(
      'writing the sync report tab needs a service account (GOOGLE_APPLICATION_CREDENTIALS) with edit access to the sheet: an API key (GOOGLE_API_KEY) can only read',
    );
  }
  const client = creds.client.createScoped([
    SPREADSHEETS_SCOPE,
    'https://www.googleapis.com/auth/drive.metadata.readonly',
  ]);
  client.useJWTAccessWithScope = true;
  return { ...creds, client };
}
