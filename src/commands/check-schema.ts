import path from 'node:path';
import { ExitCode } from '../errors.ts';
import { mappingProblems } from '../mapping/check.ts';
import { loadMapping } from '../mapping/mapping.ts';
import { describeMappingFix, mappingFix } from '../schema/mapping-fix.ts';
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

/**
 * The schema check: every text-like column of the synced tables is text
 * (buyer_sync.non_text_columns), and the tables fit the column mapping
 * (buyer_sync.mapping_problems: its columns exist with its types, and
 * buyers.content_hash covers them). `--fix` writes one migration for what a
 * migration can fix: the conversions to text, the mapped columns the table
 * lacks, the content hash rebuilt over the mapping's columns.
 */
export async function checkSchemaCommand(opts: CheckSchemaOptions): Promise<number> {
  const config = getConfig();
  const mapping = loadMapping(config.mappingFile);
  return withDatabase(config, async (db) => {
    const result = await new SchemaValidator(db.pool).validateBuyersSchema();
    const mappingErrors = await mappingProblems(db.pool, mapping);
    const errors = [...result.errors, ...mappingErrors];
    const valid = errors.length === 0;
    let migrationFile: string | undefined;
    let fixed: string[] = [];
    if (!valid && opts.fix) {
      const follow = await mappingFix(db.pool, mapping);
      if (result.nonTextFields.length > 0 || follow) {
        migrationFile = path.relative(
          process.cwd(),
          writeFixMigration(config.migrationsDir, result.nonTextFields, new Date(), follow),
        );
        fixed = follow ? describeMappingFix(follow) : [];
      }
    }
    if (opts.json) {
      printJson({
        valid,
        errors,
        non_text_fields: result.nonTextFields.map(jsonField),
        ...(migrationFile ? { migration_file: migrationFile } : {}),
      });
    } else if (valid) {
      process.stdout.write(
        'Schema OK: every text-like column of the synced tables is text, and the tables fit the column mapping.\n',
      );
    } else {
      process.stdout.write(`Schema check FAILED: ${errors.length} problem(s):\n`);
      for (const e of errors) process.stdout.write(`  - ${e}\n`);
      process.stdout.write(
        migrationFile
          ? `Wrote ${migrationFile}${fixed.length ? ` (${result.nonTextFields.length ? 'the conversions to text; ' : ''}${fixed.join('; ')})` : ''}; run \`npx buyer-sync migrate\` to apply it.\n`
          : 'Run `npx buyer-sync check-schema --fix` to write a migration that fixes what a migration can.\n',
      );
    }
    return valid ? ExitCode.ok : ExitCode.problems;
  });
}
