import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../shared/bus/topology.js';

const root = repositoryRoot();
const SHARED = path.join(root, 'shared');
const DOC = path.join(root, 'docs', 'architecture.md');
/** Fakes, simulators and fixtures: they seed every table and import everything; nothing production imports them. */
const TESTING = 'testing';
/** Statements that write a table, the table name captured. `DO UPDATE SET` and `FOR UPDATE OF` name no table. */
const WRITE = /\b(?:insert\s+into|update|delete\s+from|truncate(?:\s+table)?|merge\s+into)\s+(?:only\s+)?"?([a-z_][a-z0-9_]*)/gi;
/** A write whose table is a substitution (`UPDATE ${table} SET`): the check could not name its table. */
const DYNAMIC_WRITE = /\b(?:insert\s+into|delete\s+from|truncate(?:\s+table)?|merge\s+into)\s+\$\{|\bupdate\s+\$\{\}(?:\s+\w+)?\s+set\b/i;

interface SourceFile {
  /** Relative to shared/, with forward slashes. */
  file: string;
  folder: string;
  /** Other shared/ folders imported, value or type, with the file each import resolves to. */
  imports: { folder: string; target: string; typeOnly: boolean }[];
  /** The text of every string and template literal (substitutions as `${}`). */
  literals: string[];
}

function folderOf(relative: string): string {
  return relative.split('/')[0]!;
}

function parse(file: string): SourceFile {
  const absolute = path.join(SHARED, file);
  const source = ts.createSourceFile(absolute, readFileSync(absolute, 'utf8'), ts.ScriptTarget.ES2022, true);
  const folder = folderOf(file);
  const imports: SourceFile['imports'] = [];
  const literals: string[] = [];
  const addImport = (specifier: string, typeOnly: boolean) => {
    if (!specifier.startsWith('.')) return;
    const target = path.relative(SHARED, path.resolve(path.dirname(absolute), specifier)).split(path.sep).join('/');
    if (target.startsWith('..')) return;
    const other = folderOf(target);
    if (other !== folder) imports.push({ folder: other, target, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly = clause !== undefined && (clause.isTypeOnly || (clause.name === undefined && clause.namedBindings !== undefined
        && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0
        && clause.namedBindings.elements.every((element) => element.isTypeOnly)));
      addImport(node.moduleSpecifier.text, typeOnly);
      return;
    }
    if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      addImport(node.moduleSpecifier.text, node.isTypeOnly);
      return;
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument !== undefined && ts.isStringLiteralLike(argument)) addImport(argument.text, false);
    }
    if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      addImport(node.argument.literal.text, true);
    }
    if (ts.isStringLiteralLike(node)) literals.push(node.text);
    if (ts.isTemplateExpression(node)) {
      literals.push(node.head.text + node.templateSpans.map((span) => '${}' + span.literal.text).join(''));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { file, folder, imports, literals };
}

function productionFiles(): SourceFile[] {
  return readdirSync(SHARED, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
    .map((entry) => path.relative(SHARED, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort()
    .map(parse);
}

/** Every table the migrations create, plus `schema_migrations` (created by shared/db itself). */
function knownTables(): Set<string> {
  const tables = new Set(['schema_migrations']);
  for (const file of readdirSync(path.join(root, 'sql')).filter((name) => name.endsWith('.sql'))) {
    const text = readFileSync(path.join(root, 'sql', file), 'utf8');
    for (const match of text.matchAll(/\bcreate\s+table\s+(?:if\s+not\s+exists\s+)?"?([a-z_][a-z0-9_]*)/gi)) tables.add(match[1]!.toLowerCase());
  }
  return tables;
}

/** folder → other folders → the files that make the edge (`from → to`). */
function importGraph(files: SourceFile[]): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const file of files) {
    const edges = graph.get(file.folder) ?? new Map<string, string[]>();
    graph.set(file.folder, edges);
    for (const imported of file.imports) {
      const evidence = edges.get(imported.folder) ?? [];
      evidence.push(`${file.file} → ${imported.target}${imported.typeOnly ? ' (type)' : ''}`);
      edges.set(imported.folder, evidence);
    }
  }
  return graph;
}

/** The folders that reach each other (strongly connected components of more than one folder), Tarjan's algorithm. */
function tangles(graph: Map<string, Map<string, string[]>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const connect = (folder: string): void => {
    index.set(folder, index.size);
    low.set(folder, index.get(folder)!);
    stack.push(folder);
    for (const next of graph.get(folder)?.keys() ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(folder, Math.min(low.get(folder)!, low.get(next)!));
      } else if (stack.includes(next)) {
        low.set(folder, Math.min(low.get(folder)!, index.get(next)!));
      }
    }
    if (low.get(folder) !== index.get(folder)) return;
    const component: string[] = [];
    for (let member = stack.pop()!; ; member = stack.pop()!) {
      component.push(member);
      if (member === folder) break;
    }
    if (component.length > 1) found.push(component.sort());
  };
  for (const folder of [...graph.keys()].sort()) if (!index.has(folder)) connect(folder);
  return found;
}

/** One cycle through the component's first folder: each step with the imports that make it. */
function cyclePath(graph: Map<string, Map<string, string[]>>, component: string[]): string {
  const inside = new Set(component);
  const start = component[0]!;
  const previous = new Map<string, string>([[start, start]]);
  const queue = [start];
  let last: string | undefined;
  while (queue.length > 0 && last === undefined) {
    const folder = queue.shift()!;
    for (const next of [...(graph.get(folder)?.keys() ?? [])].sort()) {
      if (!inside.has(next)) continue;
      if (next === start) {
        last = folder;
        break;
      }
      if (!previous.has(next)) {
        previous.set(next, folder);
        queue.push(next);
      }
    }
  }
  const folders = [start];
  for (let folder = last!; folder !== start; folder = previous.get(folder)!) folders.splice(1, 0, folder);
  folders.push(start);
  const steps = folders.slice(1).map((to, step) => `  ${folders[step]} → ${to}: ${graph.get(folders[step]!)!.get(to)!.join(', ')}`);
  return [`cycle ${folders.join(' → ')} (among ${component.join(', ')})`, ...steps].join('\n');
}

/** table → folder → the files that write it. */
function tableWriters(files: SourceFile[], tables: Set<string>): Map<string, Map<string, Set<string>>> {
  const writers = new Map<string, Map<string, Set<string>>>();
  for (const file of files) {
    for (const literal of file.literals) {
      for (const match of literal.matchAll(WRITE)) {
        const table = match[1]!.toLowerCase();
        if (!tables.has(table)) continue;
        const folders = writers.get(table) ?? new Map<string, Set<string>>();
        writers.set(table, folders);
        const inFolder = folders.get(file.folder) ?? new Set<string>();
        folders.set(file.folder, inFolder);
        inFolder.add(file.file);
      }
    }
  }
  return writers;
}

interface DocRow {
  folder: string;
  writes: string[];
  imports: string[];
}

/** The folders table under "## Folders and the tables they own": folder, tables in the writes column, imports. */
function documentedFolders(tables: Set<string>): DocRow[] {
  const text = readFileSync(DOC, 'utf8');
  const start = text.indexOf('## Folders and the tables they own');
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end === -1 ? undefined : end);
  return section
    .split('\n')
    .filter((line) => /^\| `[a-z-]+\/` \|/.test(line))
    .map((line) => {
      const cells = line.split('|').slice(1, -1).map((cell) => cell.trim());
      // `payouts` is a table, `payouts/` a folder.
      const named = (cell: string) => [...cell.matchAll(/`([a-z_]+)`/g)].map((match) => match[1]!);
      return {
        folder: cells[0]!.replace(/[`/]/g, ''),
        writes: named(cells[2] ?? '').filter((name) => tables.has(name)).sort(),
        imports: cells[3] === '—' ? [] : (cells[3] ?? '').split(',').map((name) => name.trim()).filter(Boolean).sort(),
      };
    });
}

/**
 * Keeps the layout docs/architecture.md → "Folders and the tables they own" describes: the folders
 * of shared/ import each other without a cycle, each table is written by exactly one folder, and
 * the doc's folders table says which (and which folders each imports).
 */
describe('shared/ folders', () => {
  const all = productionFiles();
  const production = all.filter((file) => file.folder !== TESTING);
  const tables = knownTables();

  it('reads the production files of every folder and the tables of every migration', () => {
    expect(production.length).toBeGreaterThan(150);
    expect(new Set(production.map((file) => file.folder)).size).toBeGreaterThan(30);
    expect(tables).toContain('payouts');
    expect(tables).toContain('telegram_users');
  });

  it('import each other without a cycle (type-only imports included)', () => {
    const graph = importGraph(production);
    expect(tangles(graph).map((component) => cyclePath(graph, component))).toEqual([]);
  });

  it('name their tables in SQL text (no `UPDATE ${table}` the check below could not see)', () => {
    const dynamic = production.flatMap((file) => file.literals.filter((literal) => DYNAMIC_WRITE.test(literal)).map((literal) => `${file.file}: ${literal.trim().slice(0, 80)}`));
    expect(dynamic).toEqual([]);
  });

  it('each table is written (INSERT, UPDATE, DELETE) by one folder only', () => {
    const shared = [...tableWriters(production, tables)]
      .filter(([, folders]) => folders.size > 1)
      .map(([table, folders]) => `${table}: ${[...folders].map(([folder, files]) => `${folder} (${[...files].join(', ')})`).join('; ')}`);
    expect(shared).toEqual([]);
  });

  it('the folders table in docs/architecture.md names every folder, the tables it writes and the folders it imports', () => {
    const documented = documentedFolders(tables);
    const folders = [...new Set(all.map((file) => file.folder))].sort();
    expect(documented.map((row) => row.folder).sort()).toEqual(folders);

    const writers = tableWriters(production, tables);
    const writes = (folder: string) => [...writers].filter(([, by]) => by.has(folder)).map(([table]) => table).sort();
    const graph = importGraph(all);
    const imports = (folder: string) => [...(graph.get(folder)?.keys() ?? [])].sort();
    const actual = documented.map((row) => ({
      folder: row.folder,
      writes: row.folder === TESTING ? row.writes : writes(row.folder),
      imports: imports(row.folder),
    }));
    expect(documented, 'the folders table in docs/architecture.md (received) against the code (expected)').toEqual(actual);
  });
});
