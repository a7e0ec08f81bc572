'use strict';
/**
 * The one-way doors of src/ (docs/architecture.md), as ESLint rules run by `npm run lint`.
 *
 * - `boundaries/one-way`: every folder of src/ sits in a layer; a file imports its own folder and
 *   folders of LOWER layers only, never a folder beside or above its own. Imports can then never
 *   form a cycle between folders, and the cross-cutting layers (common, config, database,
 *   observability, graphql) know no feature. A new folder must be given a layer here.
 * - `boundaries/private-repositories`: a folder's repositories (`*.repository.ts`) hold its SQL
 *   and are private to it: other folders use its services, readers and models.
 * - `boundaries/repositories-return-records`: a repository returns plain records
 *   (`*.record.ts`) and imports no GraphQL model (`*.model.ts`); mappers (`*.mapper.ts`) build the
 *   models at the edge. Every repository of src/ is held to it, with no exception.
 * - `boundaries/ledger-writes`: only src/ledger/posting writes ledger rows (transactions,
 *   postings, holds, the ledger head, account balances); the backup/restore module is the one
 *   other writer. Checked on the SQL text of string and template literals.
 *
 * CommonJS so that Jest loads it as it is (test/architecture/boundaries.test.ts shows each rule
 * failing on a fixture).
 */
const path = require('node:path');

/** Lowest first. Folders in one layer may not import each other either. */
const LAYERS = [
  ['common'],
  ['config'],
  ['database'],
  ['observability'],
  ['graphql'],
  ['identity'],
  ['ledger'],
  ['timebank', 'credit-union', 'webhooks', 'explorer', 'health'],
  // main.ts, app.module.ts and the list of every resolver: the wiring that knows everything.
  ['.'],
];
const CROSS_CUTTING = new Set(['common', 'config', 'database', 'observability', 'graphql']);

/** The only writers of ledger rows, as paths from the repository's root (a trailing / is a folder). */
const LEDGER_WRITERS = ['src/ledger/posting/', 'src/database/backup/', 'scripts/backup.ts', 'scripts/restore.ts'];

const rankOf = new Map(LAYERS.flatMap((folders, rank) => folders.map((folder) => [folder, rank])));

/** The folder of src/ a path lies in ('.' for a file directly in src/), or undefined outside src/. */
function folderOf(srcRoot, file) {
  const relative = path.relative(srcRoot, file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  const parts = relative.split(path.sep);
  return parts.length > 1 ? parts[0] : '.';
}

function describeFolder(folder) {
  return folder === '.' ? 'src/ (the wiring)' : `src/${folder}`;
}

/** Calls `check(node, specifier)` for every static import, re-export, dynamic import and require. */
function importVisitor(check) {
  const literal = (node, source) => {
    if (source && source.type === 'Literal' && typeof source.value === 'string') check(node, source.value);
  };
  return {
    ImportDeclaration: (node) => literal(node, node.source),
    ExportNamedDeclaration: (node) => literal(node, node.source),
    ExportAllDeclaration: (node) => literal(node, node.source),
    ImportExpression: (node) => literal(node, node.source),
    TSImportEqualsDeclaration: (node) => literal(node, node.moduleReference && node.moduleReference.expression),
    CallExpression: (node) => {
      if (node.callee.type === 'Identifier' && node.callee.name === 'require') literal(node, node.arguments[0]);
    },
  };
}

/** The root the rules measure paths from: the option, else ESLint's working directory. */
function rootOf(context) {
  const options = context.options[0] || {};
  return options.root || context.cwd;
}

const oneWay = {
  meta: {
    type: 'problem',
    docs: {
      description: 'Folders of src/ import only their own folder and lower layers (no cycles; cross-cutting folders know no feature)',
    },
    schema: [{ type: 'object', properties: { root: { type: 'string' } }, additionalProperties: false }],
  },
  create(context) {
    const srcRoot = path.join(rootOf(context), 'src');
    const from = folderOf(srcRoot, context.filename);
    if (from === undefined) return {};
    if (!rankOf.has(from)) {
      return {
        Program(node) {
          context.report({
            node,
            message: `${describeFolder(from)} has no layer: give it one in eslint/boundaries.cjs (LAYERS) and docs/architecture.md`,
          });
        },
      };
    }
    return importVisitor((node, specifier) => {
      if (!specifier.startsWith('.')) return;
      const to = folderOf(srcRoot, path.resolve(path.dirname(context.filename), specifier));
      if (to === undefined || to === from) return;
      if (rankOf.has(to) && rankOf.get(to) < rankOf.get(from)) return;
      const why = CROSS_CUTTING.has(from)
        ? `${describeFolder(from)} is cross-cutting and knows no feature`
        : rankOf.get(to) === rankOf.get(from)
          ? `${describeFolder(from)} and ${describeFolder(to)} are in one layer and may not know each other`
          : `${describeFolder(to)} is above ${describeFolder(from)} (it may import ${describeFolder(from)}, so this would close a cycle)`;
      context.report({
        node,
        message: `${describeFolder(from)} may not import ${describeFolder(to)} ('${specifier}'): ${why}. Invert it (a registration, an interface the lower folder declares) or move the wiring up beside app.module.ts.`,
      });
    });
  },
};

const privateRepositories = {
  meta: {
    type: 'problem',
    docs: { description: "A folder's repositories are private to it" },
    schema: [{ type: 'object', properties: { root: { type: 'string' } }, additionalProperties: false }],
  },
  create(context) {
    const srcRoot = path.join(rootOf(context), 'src');
    const from = folderOf(srcRoot, context.filename);
    if (from === undefined) return {};
    return importVisitor((node, specifier) => {
      if (!specifier.startsWith('.') || !/\.repository(\.[jt]s)?$/.test(specifier)) return;
      const to = folderOf(srcRoot, path.resolve(path.dirname(context.filename), specifier));
      if (to === undefined || to === from) return;
      context.report({
        node,
        message: `'${specifier}' is a repository of ${describeFolder(to)}, private to it: use that folder's public surface (its services, readers and models) instead.`,
      });
    });
  },
};

const repositoriesReturnRecords = {
  meta: {
    type: 'problem',
    docs: { description: 'Repositories return records and import no GraphQL model' },
    schema: [{ type: 'object', properties: { root: { type: 'string' } }, additionalProperties: false }],
  },
  create(context) {
    const relative = path.relative(rootOf(context), context.filename).split(path.sep).join('/');
    if (!/\.repository\.ts$/.test(relative)) return {};
    return importVisitor((node, specifier) => {
      if (!/\.models?(\.[jt]s)?$/.test(specifier)) return;
      context.report({
        node,
        message: `A repository returns records, not GraphQL models ('${specifier}'): declare the row's record in a *.record.ts and build the model in a *.mapper.ts at the edge.`,
      });
    });
  },
};

const TABLE = String.raw`(?:ONLY\s+)?(?:"?public"?\.)?"?(?:transactions|postings|holds|ledger_heads?)\b`;
const LEDGER_WRITE_SQL = [
  new RegExp(String.raw`\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?|MERGE\s+INTO)\s+${TABLE}`, 'i'),
  new RegExp(String.raw`\bCOPY\s+${TABLE}"?\s*(?:\([^)]*\)\s*)?FROM\b`, 'i'),
  // Balances live on the account row: only the posting group moves them.
  // (an assignment in the SET list; a WHERE may read them)
  /\bUPDATE\s+(?:ONLY\s+)?(?:"?public"?\.)?"?accounts\b[\s\S]*?\bSET\b(?:(?!\b(?:WHERE|FROM|RETURNING)\b)[\s\S])*?\b(?:posted_minor|pending_debits_minor|pending_credits_minor)\s*=/i,
  // The posting group's own write functions (migrations/0005, 0006).
  /\bledger_group_write\w*\s*\(/i,
];

const ledgerWrites = {
  meta: {
    type: 'problem',
    docs: { description: 'Only src/ledger/posting (and backup/restore) writes ledger rows' },
    schema: [{ type: 'object', properties: { root: { type: 'string' } }, additionalProperties: false }],
  },
  create(context) {
    const relative = path.relative(rootOf(context), context.filename).split(path.sep).join('/');
    if (LEDGER_WRITERS.some((writer) => (writer.endsWith('/') ? relative.startsWith(writer) : relative === writer))) return {};
    const check = (node, text) => {
      if (!LEDGER_WRITE_SQL.some((pattern) => pattern.test(text))) return;
      context.report({
        node,
        message:
          'Only src/ledger/posting writes ledger rows (transactions, postings, holds, the ledger head, balances): submit a command to PostingService instead (the backup/restore module is the one other writer).',
      });
    };
    return {
      Literal(node) {
        if (typeof node.value === 'string') check(node, node.value);
      },
      TemplateLiteral(node) {
        check(node, node.quasis.map((quasi) => quasi.value.cooked || quasi.value.raw).join(' '));
      },
    };
  },
};

const plugin = {
  meta: { name: 'boundaries' },
  rules: {
    'one-way': oneWay,
    'private-repositories': privateRepositories,
    'repositories-return-records': repositoriesReturnRecords,
    'ledger-writes': ledgerWrites,
  },
};

/** The flat-config blocks `eslint.config.mjs` uses, for a repository rooted at `root`. */
function boundaryConfigs(root) {
  const options = [{ root }];
  return [
    {
      files: ['src/**/*.ts'],
      plugins: { boundaries: plugin },
      rules: {
        'boundaries/one-way': ['error', ...options],
        'boundaries/private-repositories': ['error', ...options],
        'boundaries/repositories-return-records': ['error', ...options],
      },
    },
    {
      files: ['src/**/*.ts', 'scripts/**/*.ts'],
      plugins: { boundaries: plugin },
      rules: { 'boundaries/ledger-writes': ['error', ...options] },
    },
  ];
}

module.exports = { plugin, boundaryConfigs, LAYERS, LEDGER_WRITERS };
