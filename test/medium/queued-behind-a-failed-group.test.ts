import type { Client } from 'pg';
import { DEFAULT_NETWORK_ID } from '../../src/identity/default-network';
import type { AccountService } from '../../src/ledger/accounts/account.service';
import type { CurrencyService } from '../../src/ledger/currencies/currency.service';
import type { PartyKind } from '../../src/ledger/parties/party.model';
import type { PartyService } from '../../src/ledger/parties/party.service';
import type { PostingService } from '../../src/ledger/posting/posting.service';
import type { OpResult } from '../../src/ledger/posting/posting.types';
import { connect } from '../support/database';
import { type Medium, newMedium } from '../support/medium';

const ACTOR = { apiKeyId: null, networkId: DEFAULT_NETWORK_ID };
/** Generous: the conditions are awaited, never slept on; only a stranded command takes this long. */
const WAIT_MS = 30_000;

/** Waits (polling, not sleeping blindly) until `check` returns a value. */
async function until<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A command queued while its network's only lane is busy must be posted when that lane frees,
 * whatever became of the group in the lane: the posting service starts the next group when a
 * group settles (not only when a command arrives), and a group whose connection fails answers
 * each of its commands, re-running them one by one when it held several. Medium layer: the
 * posting service in process, one lane (POSTING_GROUPS_IN_FLIGHT=1), the network's head held by
 * the test so that groups wait where the test wants them, and their connections cut there.
 */
describe('commands queued behind a group whose connection fails', () => {
  let medium: Medium;
  let posting: PostingService;
  let holder: Client;
  let from: string;
  let to: string;

  const send = (memo: string) =>
    posting.submitOne(
      {
        type: 'post',
        kind: 'TRANSFER',
        memo,
        postings: [
          { accountId: from, amountMinor: -1n },
          { accountId: to, amountMinor: 1n },
        ],
      },
      ACTOR,
    );
  /** The backend of a posting group waiting on the network's head (other than `not`), if any. */
  const waitingGroup = async (not: number[] = []) => {
    const rows = await medium.sql<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%ledger_group_load%' AND NOT pid = ANY($1::int[])`,
      [not],
    );
    return rows[0]?.pid;
  };
  const postedWith = async (memo: string) =>
    Number((await medium.sql<{ n: string }>('SELECT count(*)::text AS n FROM transactions WHERE memo = $1', [memo]))[0]?.n);

  beforeAll(async () => {
    medium = await newMedium({ POSTING_GROUPS_IN_FLIGHT: '1' });
    posting = medium.service<PostingService>('ledger/posting/posting.service', 'PostingService') as unknown as PostingService;
    const parties = medium.service<PartyService>('ledger/parties/party.service', 'PartyService');
    const currencies = medium.service<CurrencyService>('ledger/currencies/currency.service', 'CurrencyService');
    const accounts = medium.service<AccountService>('ledger/accounts/account.service', 'AccountService');
    await currencies.create(DEFAULT_NETWORK_ID, 'HOUR', 'Hours', 'TIME', 2, null);
    const open = async (name: string) => {
      const party = await parties.register(DEFAULT_NETWORK_ID, 'MEMBER' as PartyKind, name, null);
      return (await accounts.open(DEFAULT_NETWORK_ID, party.id, 'HOUR', { creditLimit: '5' }, false)).id;
    };
    from = await open('Ana');
    to = await open('Ben');
    holder = await connect(medium.databaseUrl);
  });
  afterAll(async () => {
    await holder?.end();
    await medium?.close();
  });

  it('answers every command: the failed group its error, the queued ones posted once each', async () => {
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM ledger_head WHERE network_id = $1 FOR UPDATE', [DEFAULT_NETWORK_ID]);
    const first = send('first').then(
      (result: OpResult) => ({ ok: true as const, result }),
      (error: Error) => ({ ok: false as const, error }),
    );
    const firstPid = await until(() => waitingGroup(), 'the first group to wait on the head');

    // The lane is busy: these two wait in the queue, and will form the next group together.
    const queued = Promise.allSettled([send('second'), send('third')]);
    // Calls reach the service in order: once this answers, both are queued.
    await posting.hasIdempotencyKey(ACTOR, 'none');

    // The first group's connection dies while it waits: it failed before COMMIT, so its caller
    // hears the failure (nothing was posted) and the lane frees.
    await medium.sql('SELECT pg_terminate_backend($1)', [firstPid]);
    expect((await first).ok).toBe(false);

    // The queued two go on as the next group by themselves (no new command arrives to start it);
    // its connection dies too, and each is then posted on its own.
    const secondPid = await until(() => waitingGroup([firstPid]), 'the queued commands to be sent as the next group');
    await medium.sql('SELECT pg_terminate_backend($1)', [secondPid]);
    await until(() => waitingGroup([firstPid, secondPid]), 'the queued commands to be posted one by one');
    await holder.query('COMMIT');

    let timer: NodeJS.Timeout | undefined;
    const outcomes = await Promise.race([
      queued,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('a queued command got no answer')), WAIT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    expect([await postedWith('first'), await postedWith('second'), await postedWith('third')]).toEqual([0, 1, 1]);
  });
});
