/**
 * `buyer-sync db-url`: the connection string of the database in use
 * (DATABASE_URL, or the embedded server's), for psql, a BI tool or a
 * notebook. It starts nothing: for the embedded server it says whether the
 * server runs now (`npm start` runs it).
 */
import { getConfig, diag, printJson } from './common.ts';
import { CannotRunError, ExitCode } from '../errors.ts';

export interface DbUrlCommandOptions {
  json: boolean;
}

export async function dbUrlCommand(opts: DbUrlCommandOptions): Promise<number> {
  const config = getConfig();
  if (config.databaseUrl !== null) {
    if (opts.json) printJson({ url: config.databaseUrl, embedded: false, running: null });
    else process.stdout.write(`${config.databaseUrl}\n`);
    return ExitCode.ok;
  }
  const { embeddedConnectionString } = await import('../db/embedded.ts');
  const found = await embeddedConnectionString(config.embedded);
  if (found === null) {
    throw new CannotRunError(
      `the embedded database does not exist yet (no server initialised in ${config.embedded.dataDir}); \`npm start\` or \`npx buyer-sync migrate\` creates it`,
    );
  }
  if (opts.json) printJson({ url: found.url, embedded: true, running: found.running });
  else process.stdout.write(`${found.url}\n`);
  if (!found.running && !opts.json)
    diag('the embedded server is not running now; `npm start` runs it (psql connects only while it runs)');
  return ExitCode.ok;
}
