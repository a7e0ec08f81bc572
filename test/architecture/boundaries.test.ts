import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';

/** eslint/boundaries.cjs: the rules `npm run lint` applies to src/ and scripts/. */
interface Boundaries {
  boundaryConfigs(root: string): Linter.Config[];
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS module without types, loaded as the lint config loads it
const boundaries = require('../../eslint/boundaries.cjs') as Boundaries;

const ROOT = join(__dirname, '..', '..');

/** ESLint with the boundary rules only (parsing TypeScript, no type information needed). */
function linter(): ESLint {
  return new ESLint({
    cwd: ROOT,
    overrideConfigFile: true,
    overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...boundaries.boundaryConfigs(ROOT)],
  });
}

/** The boundary errors ESLint reports for `code` as if it were the file at `path`. */
async function errorsOf(path: string, code: string): Promise<string[]> {
  const [result] = await linter().lintText(code, { filePath: join(ROOT, path) });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

describe('the one-way doors of src/ (npm run lint)', () => {
  it('refuses the import that would close a cycle between two folders, and lets the other direction through', async () => {
    // A fixture cycle: src/ledger reads graphql's pagination (allowed: graphql is lower) and graphql reads the ledger back.
    const down = await errorsOf(
      'src/ledger/fixture/down.ts',
      "import { pageSize } from '../../graphql/pagination';\nexport const size = pageSize;\n",
    );
    const up = await errorsOf('src/graphql/fixture-up.ts', "import { size } from '../ledger/fixture/down';\nexport const again = size;\n");
    expect(down).toEqual([]);
    expect(up).toHaveLength(1);
    expect(up[0]).toMatch(/^boundaries\/one-way: src\/graphql may not import src\/ledger .*cross-cutting and knows no feature/);
  });

  it('refuses an import between two features of one layer, and a folder with no layer', async () => {
    const sideways = await errorsOf('src/timebank/fixture.ts', "export { DepositService } from '../credit-union/deposit.service';\n");
    expect(sideways).toEqual([expect.stringMatching(/^boundaries\/one-way: src\/timebank may not import src\/credit-union .*one layer/)]);
    const unknown = await errorsOf('src/newcomer/fixture.ts', 'export const x = 1;\n');
    expect(unknown).toEqual([expect.stringMatching(/^boundaries\/one-way: src\/newcomer has no layer/)]);
  });

  it("refuses another folder's repository, dynamic imports and requires included", async () => {
    const errors = await errorsOf(
      'src/timebank/fixture.ts',
      [
        "import { AccountRepository } from '../ledger/accounts/account.repository';",
        "import { AccountReader } from '../ledger/ledger-readers';",
        "export const later = () => import('../ledger/holds/hold.repository');",
        'export { AccountRepository, AccountReader };',
      ].join('\n'),
    );
    expect(errors).toEqual([
      expect.stringMatching(/^boundaries\/private-repositories: '..\/ledger\/accounts\/account.repository' is a repository of src\/ledger/),
      expect.stringMatching(/^boundaries\/private-repositories: '..\/ledger\/holds\/hold.repository' is a repository of src\/ledger/),
    ]);
  });

  it('refuses a GraphQL model in a repository, and lets its record through', async () => {
    const errors = await errorsOf(
      'src/ledger/parties/fixture.repository.ts',
      [
        "import type { Party } from './party.model';",
        "import type { Report } from '../query/report.models';",
        "import type { PartyRecord } from './party.record';",
        'export type Rows = [Party, Report, PartyRecord];',
      ].join('\n'),
    );
    expect(errors).toEqual([
      expect.stringMatching(
        /^boundaries\/repositories-return-records: A repository returns records, not GraphQL models \('.\/party.model'\)/,
      ),
      expect.stringMatching(/^boundaries\/repositories-return-records: .*\('..\/query\/report.models'\)/),
    ]);
    // A service may still import models (it hands them to its resolver).
    expect(await errorsOf('src/ledger/parties/fixture.service.ts', "export type { Party } from './party.model';\n")).toEqual([]);
  });

  it('holds every repository to records: the hold and exchange repositories are refused a model as well', async () => {
    const holds = await errorsOf(
      'src/ledger/holds/hold.repository.ts',
      "import type { Hold } from './hold.model';\nexport type H = Hold;\n",
    );
    const exchanges = await errorsOf(
      'src/timebank/exchanges/exchange.repository.ts',
      "import { ExchangeStatus } from './exchange.model';\nexport const pending = ExchangeStatus.PENDING;\n",
    );
    expect(holds).toEqual([expect.stringMatching(/^boundaries\/repositories-return-records: .*\('.\/hold.model'\)/)]);
    expect(exchanges).toEqual([expect.stringMatching(/^boundaries\/repositories-return-records: .*\('.\/exchange.model'\)/)]);
  });

  it('refuses SQL writing ledger rows outside src/ledger/posting, and allows posting and the backup module', async () => {
    const writes = [
      'INSERT INTO postings (transaction_id, idx) VALUES ($1, 0)',
      'update public.transactions set memo = $2 where id = $1',
      'DELETE FROM holds WHERE id = $1',
      'UPDATE ledger_head SET sequence = sequence + 1',
      'UPDATE accounts SET status = $2, posted_minor = posted_minor + $3 WHERE id = $1',
      'COPY postings (transaction_id, idx) FROM STDIN',
      'SELECT ledger_group_write($1)',
    ];
    for (const sql of writes) {
      const code = `export const sql = \`${sql}\`;\n`;
      expect(await errorsOf('src/timebank/fixture.ts', code)).toEqual([
        expect.stringMatching(/^boundaries\/ledger-writes: Only src\/ledger\/posting writes ledger rows/),
      ]);
      expect(await errorsOf('scripts/fixture.ts', code)).toHaveLength(1);
      expect(await errorsOf('src/ledger/posting/fixture.ts', code)).toEqual([]);
      expect(await errorsOf('src/database/backup/fixture.ts', code)).toEqual([]);
    }
    // Reading ledger rows, and account changes that move no balance, are not writes of ledger rows.
    const reads = [
      'SELECT * FROM postings WHERE account_id = $1',
      "UPDATE accounts SET status = 'CLOSED' WHERE id = $1 AND posted_minor = 0",
      'COPY (SELECT * FROM transactions) TO STDOUT',
    ];
    for (const sql of reads)
      expect(await errorsOf('src/timebank/fixture.ts', `export const sql = '${sql.replace(/'/g, "\\'")}';\n`)).toEqual([]);
  });

  it('holds for the code of src/ and scripts/ today', async () => {
    const files = ['src', 'scripts'].flatMap((dir) =>
      readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => join(dir, f)),
    );
    const eslint = linter();
    const errors: string[] = [];
    for (const file of files) {
      const [result] = await eslint.lintText(readFileSync(join(ROOT, file), 'utf8'), { filePath: join(ROOT, file) });
      // Other rules' disable comments name rules this linter does not load: only boundary errors and parse failures count.
      for (const m of result?.messages ?? [])
        if (m.fatal || m.ruleId?.startsWith('boundaries/')) errors.push(`${file}:${m.line} ${m.message}`);
    }
    expect(files.length).toBeGreaterThan(100);
    expect(errors).toEqual([]);
  });
});
