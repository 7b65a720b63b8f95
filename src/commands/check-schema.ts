import path from 'node:path';
import { ExitCode } from '../errors.ts';
import { SchemaValidator, writeFixMigration, type FieldInfo } from '../schema/validator.ts';
import { getConfig, printJson, withDatabase, type Output } from './common.ts';

export interface CheckSchemaOptions extends Output {
  fix: boolean;
}

/** contract.md: `{valid, errors[], non_text_fields[{table, column_name, data_type, character_maximum_length}], migration_file?}` */
function jsonField(f: FieldInfo) {
  return {
    table: f.tableSchema === 'public' ? f.tableName : `${f.tableSchema}.${f.tableName}`,
    column_name: f.columnName,
    data_type: f.dataType,
    character_maximum_length: f.characterMaximumLength,
  };
}

export async function checkSchemaCommand(opts: CheckSchemaOptions): Promise<number> {
  const config = getConfig();
  return withDatabase(config, async (db) => {
    const result = await new SchemaValidator(db.pool).validateBuyersSchema();
    let migrationFile: string | undefined;
    if (!result.valid && opts.fix) {
      migrationFile = path.relative(process.cwd(), writeFixMigration(config.migrationsDir, result.nonTextFields));
    }
    if (opts.json) {
      printJson({
        valid: result.valid,
        errors: result.errors,
        non_text_fields: result.nonTextFields.map(jsonField),
        ...(migrationFile ? { migration_file: migrationFile } : {}),
      });
    } else if (result.valid) {
      process.stdout.write('Schema OK: every text-like column of the synced tables is text.\n');
    } else {
      process.stdout.write(`Schema check FAILED: ${result.errors.length} column(s) must be converted to text:\n`);
      for (const e of result.errors) process.stdout.write(`  - ${e}\n`);
      process.stdout.write(
        migrationFile
          ? `Wrote ${migrationFile}; run \`npx buyer-sync migrate\` to apply it.\n`
          : 'Run `npx buyer-sync check-schema --fix` to write a migration that converts them.\n',
      );
    }
    return result.valid ? ExitCode.ok : ExitCode.problems;
  });
}
