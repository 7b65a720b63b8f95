/**
 * The version of a Google spreadsheet, from Drive (files.get with
 * fields=version,modifiedTime, through the official @googleapis/drive
 * client): one small request that says whether the sheet changed since it
 * was last read. Drive's `version` goes up with every change to the file.
 * The service account needs the drive.metadata.readonly scope (added to its
 * token in auth.ts); an API key works for a sheet shared by link.
 */
import type { SheetsCredentials } from './auth.ts';

export interface FileVersion {
  version: string;
  modifiedTime: string | null;
}

export interface DriveOptions {
  /** GOOGLE_DRIVE_ROOT_URL: the API's base URL (tests, proxies); Google's by default. */
  rootUrl?: string | null;
  timeoutMs?: number;
}

/** Asks Drive for the file's version; throws whatever Drive answers that is not a version. */
export async function fileVersion(
  spreadsheetId: string,
  creds: SheetsCredentials,
  o: DriveOptions = {},
): Promise<FileVersion> {
  const { drive: driveApi } = await import('@googleapis/drive');
  const api = driveApi({
    version: 'v3',
    auth: creds.kind === 'api_key' ? creds.key : creds.client,
    ...(o.rootUrl ? { rootUrl: o.rootUrl.endsWith('/') ? o.rootUrl : `${o.rootUrl}/` } : {}),
  });
  const res = await api.files.get(
    { fileId: spreadsheetId, fields: 'version,modifiedTime', supportsAllDrives: true },
    { timeout: o.timeoutMs ?? 15_000, retry: false },
  );
  const version = res.data.version;
  if (typeof version !== 'string' || !/^\d+$/.test(version)) {
    throw new Error(`Drive answered without a version (${JSON.stringify(res.data).slice(0, 120)})`);
  }
  return { version, modifiedTime: typeof res.data.modifiedTime === 'string' ? res.data.modifiedTime : null };
}
