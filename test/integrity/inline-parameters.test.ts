import fc from 'fast-check';
import type { Client } from 'pg';
import { inlineParameters } from '../../src/database/sql-literal';
import { arrayLiteral } from '../../src/database/array-literal';
import { connect, serverUrl } from '../support/database';

/**
 * The posting group's write travels with its COMMIT as one simple-protocol message, its
 * parameters written into the SQL text as literals (`inlineParameters`). Whatever a parameter
 * holds (quotes, backslashes, text that looks like SQL), PostgreSQL must read back exactly that
 * value, as it does from a bound parameter.
 */
describe('parameters written into SQL text', () => {
  let client: Client;

  beforeAll(async () => {
    client = await connect(serverUrl());
  });
  afterAll(async () => {
    await client.end();
  });

  async function roundTrip(params: unknown[]): Promise<unknown[]> {
    const text = `SELECT ${params.map((_, i) => `$${i + 1}::text AS v${i}`).join(', ')}`;
    const { rows } = await client.query<Record<string, unknown>>(inlineParameters(text, params));
    return params.map((_, i) => rows[0]?.[`v${i}`]);
  }

  it('reads back hostile text exactly, under both settings of standard_conforming_strings', async () => {
    const hostile = ["it's", "'; DROP TABLE postings; --", 'a\\b', "\\'", "E'\\\\'", '$1 $2', 'ünïcødé ☃', '', "''", '\\'];
    for (const setting of ['on', 'off']) {
      await client.query(`SET standard_conforming_strings = ${setting}`);
      expect(await roundTrip(hostile)).toEqual(hostile);
    }
    await client.query('RESET standard_conforming_strings');
  });

  it('reads back any text a property test makes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0')),
          { minLength: 1, maxLength: 5 },
        ),
        async (values) => {
          expect(await roundTrip(values)).toEqual(values);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads back any array of text (idempotency keys travel so with the load)', async () => {
    const text = fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(text, { nil: null }), { maxLength: 6 }), async (values) => {
        const { rows } = await client.query<{ a: (string | null)[] }>(inlineParameters('SELECT $1::text[] AS a', [values]));
        expect(rows[0]?.a).toEqual(values);
      }),
      { numRuns: 200 },
    );
  });

  it('sends null as NULL and arrays as the array literals node-postgres would bind', async () => {
    const { rows } = await client.query<{ a: string[]; n: string | null }>(
      inlineParameters('SELECT $1::text[] AS a, $2::text AS n', [['x', "y'z", 'back\\slash', null, '{brace}'], null]),
    );
    expect(rows[0]).toEqual({ a: ['x', "y'z", 'back\\slash', null, '{brace}'], n: null });
  });

  it("reads back the posting group's own array literals (arrayLiteral) exactly: nulls, empty arrays, hostile text", async () => {
    const text = fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0'));
    const check = async (values: (string | null)[]) => {
      const literal = arrayLiteral(values, (v) => v);
      const { rows } = await client.query<{ a: (string | null)[] }>(inlineParameters('SELECT $1::text[] AS a', [literal]));
      expect(rows[0]?.a).toEqual(values);
    };
    await check([]);
    await check([null, 'NULL', '', '"', '\\', '{a,b}', ' spaced ', "it's"]);
    await fc.assert(fc.asyncProperty(fc.array(fc.option(text, { nil: null }), { maxLength: 8 }), check), { numRuns: 200 });
  });

  it('refuses text with a NUL, which PostgreSQL text cannot hold', () => {
    expect(() => inlineParameters('SELECT $1', ['a\0b'])).toThrow('NUL');
  });
});
