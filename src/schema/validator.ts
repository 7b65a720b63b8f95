/**
 * SchemaValidator (design §1, Property 1): a thin wrapper over the catalog
 * lint `buyer_sync.non_text_columns`. The SQL view is the source of truth; this
 * class only reads it and writes the dbmate migration that fixes what it finds.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import { describeMappingFix, mappingFixSql, type MappingFix } from './mapping-fix.ts';

export interface FieldInfo {
  tableSchema: string;
  tableName: string;
  columnName: string;
  /** `character varying` or `character` (with `[]` for arrays). */
  dataType: string;
  characterMaximumLength: number | null;
  /** The column's declared type (a domain keeps its name): what a rollback restores. */
  declaredType: string;
}

export interface ValidationResult {
  valid: boolean;
  errors: string[];
  nonTextFields: FieldInfo[];
}

function qualified(f: Pick<FieldInfo, 'tableSchema' | 'tableName'>): string {
  return `${escapeIdentifier(f.tableSchema)}.${escapeIdentifier(f.tableName)}`;
}

function typeLabel(f: FieldInfo): string {
  return f.characterMaximumLength === null ? f.dataType : `${f.dataType}(${f.characterMaximumLength})`;
}

/** The message an operator reads: table, column, the type and the rule it breaks. */
export function describeField(f: FieldInfo): string {
  const table = f.tableSchema === 'public' ? f.tableName : `${f.tableSchema}.${f.tableName}`;
  const limit =
    f.characterMaximumLength === null
      ? 'it must be text'
      : `values longer than ${f.characterMaximumLength} characters would be rejected; it must be text`;
  return `${table}.${f.columnName} is ${typeLabel(f)}: ${limit}`;
}

export class SchemaValidator {
  private readonly db: pg.Pool | pg.ClientBase;
  constructor(db: pg.Pool | pg.ClientBase) {
    this.db = db;
  }

  /** Every text-like column of the synced tables that is not text. */
  async getNonTextFields(): Promise<FieldInfo[]> {
    const { rows } = await this.db.query<{
      table_schema: string;
      table_name: string;
      column_name: string;
      data_type: string;
      character_maximum_length: number | null;
      declared_type: string;
    }>(
      `select table_schema, table_name, column_name, data_type, character_maximum_length, declared_type
         from buyer_sync.non_text_columns
        order by table_schema, table_name, ordinal_position`,
    );
    return rows.map((r) => ({
      tableSchema: r.table_schema,
      tableName: r.table_name,
      columnName: r.column_name,
      dataType: r.data_type,
      characterMaximumLength: r.character_maximum_length,
      declaredType: r.declared_type,
    }));
  }

  /** Valid when no synced table has a non-text text-like column. Never throws for an invalid schema. */
  async validateBuyersSchema(): Promise<ValidationResult> {
    const nonTextFields = await this.getNonTextFields();
    return {
      valid: nonTextFields.length === 0,
      errors: nonTextFields.map(describeField),
      nonTextFields,
    };
  }

  /** A dbmate migration converting the given columns to text, with an honest down. */
  generateFixScript(fields: FieldInfo[]): string {
    return generateFixScript(fields);
  }
}

/**
 * One dbmate migration fixing what the check found: the non-text columns
 * converted to text, and what the column mapping needs (mapped columns added,
 * the content hash rebuilt over them: ./mapping-fix.ts), each with an honest down.
 */
export function generateFixScript(
  fields: FieldInfo[],
  now: Date = new Date(),
  mapping: MappingFix | null = null,
): string {
  const byTable = new Map<string, FieldInfo[]>();
  for (const f of fields) {
    const key = qualified(f);
    byTable.set(key, [...(byTable.get(key) ?? []), f]);
  }
  const alter = (table: string, cols: FieldInfo[], type: (f: FieldInfo) => string) =>
    `alter table ${table}\n` +
    cols.map((f) => `  alter column ${escapeIdentifier(f.columnName)} type ${type(f)}`).join(',\n') +
    ';\n';
  const up = [...byTable].map(([t, cols]) => alter(t, cols, (f) => (f.dataType.endsWith('[]') ? 'text[]' : 'text')));
  const down = [...byTable].map(([t, cols]) => alter(t, cols, (f) => f.declaredType));
  const follow = mapping ? mappingFixSql(mapping) : null;
  if (follow) {
    up.push(follow.up);
    down.unshift(follow.down);
  }
  const list = [...fields.map(describeField), ...(mapping ? describeMappingFix(mapping) : [])]
    .map((l) => ` *   ${l}`)
    .join('\n');
  const notes = [
    ...(fields.length
      ? [
          ' * varchar -> text needs no table rewrite. character(n) -> text drops the',
          ' * trailing blanks that char(n) padded its values with.',
        ]
      : []),
    ...(mapping?.hash
      ? [' * Rebuilding buyers.content_hash rewrites the table once; stored values do not change.']
      : []),
  ];
  const downNotes = [
    ...(fields.length
      ? [
          ' * Restores the previous types. This FAILS ("value too long for type ...") if',
          ' * any value now stored is longer than the old limit: rolling back would lose',
          ' * exactly the data this migration made room for. Shorten such values by hand',
          ' * first if the rollback is really meant.',
        ]
      : []),
    ...(mapping?.add.length ? [' * Drops the columns added above, and the values synced into them.'] : []),
    ...(mapping?.hash ? [' * Rebuilds buyers.content_hash over the columns it covered before.'] : []),
  ];
  return (
    `-- migrate:up

/*
 * Generated by \`buyer-sync check-schema --fix\` on ${now.toISOString()}.
 * Fixes what the schema check found:
${list}${notes.length ? `\n *\n${notes.join('\n')}` : ''}
 */
${up.join('\n')}
-- migrate:down

/*
${downNotes.join('\n')}
 */
${down.join('\n')}`.trimEnd() + '\n'
  );
}

/** `YYYYMMDDHHMMSS`, dbmate's migration version format, in UTC. */
export function migrationVersion(now: Date = new Date()): string {
  return now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** Writes the fix migration into the migrations directory; returns its path. */
export function writeFixMigration(
  migrationsDir: string,
  fields: FieldInfo[],
  now: Date = new Date(),
  mapping: MappingFix | null = null,
): string {
  const name = [fields.length ? 'convert_non_text_columns_to_text' : '', mapping ? 'follow_the_column_mapping' : '']
    .filter(Boolean)
    .join('_and_');
  const file = path.join(migrationsDir, `${migrationVersion(now)}_${name}.sql`);
  writeFileSync(file, generateFixScript(fields, now, mapping), { flag: 'wx' });
  return file;
}
