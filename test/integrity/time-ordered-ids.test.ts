import type { Client } from 'pg';
import { timeOrderedUuid } from '../../src/common/ids';
import { connect, serverUrl } from '../support/database';

/**
 * Transaction ids are UUIDs of version 7 (`timeOrderedUuid`): PostgreSQL must read each as a
 * version-7 UUID carrying the millisecond it was made at, including when many are made in one
 * millisecond (a deposit batch makes a thousand in a few) and across millisecond boundaries.
 */
describe('time-ordered transaction ids', () => {
  let client: Client;

  beforeAll(async () => {
    client = await connect(serverUrl());
  });
  afterAll(async () => {
    await client.end();
  });

  it('are version-7 UUIDs of the millisecond they were made at, distinct, in any millisecond', async () => {
    const instants = [0, 1, 15, 16, 4095, 4096, Date.parse('2026-11-30T12:00:00.123Z'), 2 ** 48 - 1];
    const made = instants.flatMap((ms) => [timeOrderedUuid(ms), timeOrderedUuid(ms), timeOrderedUuid(ms + 1 < 2 ** 48 ? ms + 1 : ms)]);
    made.push(...Array.from({ length: 1000 }, () => timeOrderedUuid()));
    expect(new Set(made).size).toBe(made.length);
    const { rows } = await client.query<{ version: number; ms: string; variant: string }>(
      `SELECT uuid_extract_version(u) AS version,
              floor(extract(epoch FROM uuid_extract_timestamp(u)) * 1000)::bigint::text AS ms,
              substr(u::text, 20, 1) AS variant
         FROM unnest($1::uuid[]) AS u`,
      [made.slice(0, instants.length * 3)],
    );
    rows.forEach((row, i) => {
      const instant = instants[Math.floor(i / 3)] as number;
      const expected = i % 3 === 2 && instant + 1 < 2 ** 48 ? instant + 1 : instant;
      expect(row).toEqual({ version: 7, ms: String(expected), variant: expect.stringMatching(/^[89ab]$/) });
    });
  });
});
