import { DEFAULT_NETWORK_ID } from '../../src/identity/default-network';
import type { ApiKeyService } from '../../src/identity/api-key.service';
import type { Role } from '../../src/identity/caller';
import type { AccountService } from '../../src/ledger/accounts/account.service';
import type { CurrencyService } from '../../src/ledger/currencies/currency.service';
import type { PartyKind } from '../../src/ledger/parties/party.model';
import type { PartyService } from '../../src/ledger/parties/party.service';
import type { PostingService } from '../../src/ledger/posting/posting.service';
import type { OpResult } from '../../src/ledger/posting/posting.types';
import type { TransactionService } from '../../src/ledger/transactions/transaction.service';
import { type Medium, newMedium, ServiceError } from '../support/medium';

/**
 * Medium tests: the posting group and the transaction service in process (test/support/medium.ts),
 * against a real, migrated PostgreSQL; no HTTP, no spawned service.
 */
describe('posting group and transaction service, in process', () => {
  let medium: Medium;
  let posting: ReturnType<Medium['service']> & PostingService;
  let transactions: TransactionService;
  const accounts: string[] = [];
  let memberA: string;

  beforeAll(async () => {
    medium = await newMedium();
    posting = medium.service<PostingService>('ledger/posting/posting.service', 'PostingService') as typeof posting;
    transactions = medium.service<TransactionService>(
      'ledger/transactions/transaction.service',
      'TransactionService',
    ) as TransactionService;
    const parties = medium.service<PartyService>('ledger/parties/party.service', 'PartyService');
    const currencies = medium.service<CurrencyService>('ledger/currencies/currency.service', 'CurrencyService');
    const accountService = medium.service<AccountService>('ledger/accounts/account.service', 'AccountService');
    await currencies.create(DEFAULT_NETWORK_ID, 'HOUR', 'Hours', 'TIME', 2, null);
    for (const name of ['Ana', 'Ben', 'Chen', 'Dee']) {
      const party = await parties.register(DEFAULT_NETWORK_ID, 'MEMBER' as PartyKind, name, null);
      if (name === 'Ana') memberA = party.id;
      accounts.push((await accountService.open(DEFAULT_NETWORK_ID, party.id, 'HOUR', { creditLimit: '5' }, false)).id);
    }
  });
  afterAll(async () => {
    await medium?.close();
  });

  it('posts commands sent at once in few groups: gap-free sequences, one hash chain, every posting summing to zero', async () => {
    const [a, b, c, d] = accounts as [string, string, string, string];
    const pairs = [
      [a, b],
      [b, c],
      [c, d],
      [d, a],
    ] as const;
    const sent = Array.from({ length: 40 }, (_, i) => {
      const [from, to] = pairs[i % 4] as readonly [string, string];
      return posting.submitOne(
        {
          type: 'post',
          kind: 'TRANSFER',
          postings: [
            { accountId: from, amountMinor: -10n },
            { accountId: to, amountMinor: 10n },
          ],
        },
        { apiKeyId: null, networkId: DEFAULT_NETWORK_ID },
      );
    });
    const results: OpResult[] = await Promise.all(sent);
    expect(results.every((r) => r.type === 'transaction' && !r.replayed)).toBe(true);

    const rows = await medium.sql<{ sequence: string; previous_hash: string; hash: string; total: string }>(
      `SELECT t.sequence::text, t.previous_hash, t.hash, (SELECT sum(p.amount_minor) FROM postings p WHERE p.transaction_id = t.id)::text AS total
         FROM transactions t ORDER BY t.sequence`,
    );
    expect(rows).toHaveLength(40);
    rows.forEach((row, i) => {
      expect(row.sequence).toBe(String(i + 1));
      expect(row.total).toBe('0');
      if (i > 0) expect(row.previous_hash).toBe(rows[i - 1]?.hash);
    });
    // Group commit: forty commands sent together take fewer database transactions than commands.
    const groups = await medium.sql<{ n: string }>('SELECT count(DISTINCT xmin::text)::text AS n FROM transactions');
    expect(Number(groups[0]?.n)).toBeLessThan(40);
  });

  it('refuses only the command that breaks a rule; the others of its group post', async () => {
    const [a, b, c] = accounts as [string, string, string];
    const [ok1, refused, ok2] = await Promise.allSettled([
      posting.submitOne(
        {
          type: 'post',
          kind: 'TRANSFER',
          postings: [
            { accountId: a, amountMinor: -100n },
            { accountId: b, amountMinor: 100n },
          ],
        },
        { apiKeyId: null, networkId: DEFAULT_NETWORK_ID },
      ),
      // Past Chen's credit limit of 5.00 hours.
      posting.submitOne(
        {
          type: 'post',
          kind: 'TRANSFER',
          postings: [
            { accountId: c, amountMinor: -100_000n },
            { accountId: b, amountMinor: 100_000n },
          ],
        },
        { apiKeyId: null, networkId: DEFAULT_NETWORK_ID },
      ),
      posting.submitOne(
        {
          type: 'post',
          kind: 'TRANSFER',
          postings: [
            { accountId: b, amountMinor: -50n },
            { accountId: a, amountMinor: 50n },
          ],
        },
        { apiKeyId: null, networkId: DEFAULT_NETWORK_ID },
      ),
    ]);
    expect(ok1.status).toBe('fulfilled');
    expect(ok2.status).toBe('fulfilled');
    expect(refused.status).toBe('rejected');
    expect((refused as PromiseRejectedResult).reason).toBeInstanceOf(ServiceError);
    expect(((refused as PromiseRejectedResult).reason as ServiceError).code).toBe('INSUFFICIENT_FUNDS');
    const [chen] = await medium.sql<{ posted: string }>('SELECT posted_minor::text AS posted FROM accounts WHERE id = $1', [c]);
    expect(chen?.posted).toBe('0');
  });

  it('TransactionService: a member moves only from its own account, and a retried key posts once', async () => {
    const [a, b, c] = accounts as [string, string, string];
    const keys = medium.service<ApiKeyService>('identity/api-key.service', 'ApiKeyService');
    const admin = { apiKeyId: 'medium', role: 'ADMIN' as Role, partyId: null, networkId: DEFAULT_NETWORK_ID, deploymentAdmin: false };
    const { secret } = await keys.create(admin, {
      role: 'MEMBER' as Role,
      partyId: memberA,
      label: 'medium test',
      networkId: null,
      deploymentAdmin: false,
    });
    const ana = await keys.authenticate(secret);
    expect(ana).toMatchObject({ role: 'MEMBER', partyId: memberA });
    await expect(transactions.transfer(ana, c, b, '1.00', null, 'k-1')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const first = await transactions.transfer(ana, a, b, '1.25', 'thanks', 'k-2');
    const again = await transactions.transfer(ana, a, b, '1.25', 'thanks', 'k-2');
    expect(again.id).toBe(first.id);
    const [count] = await medium.sql<{ n: string }>(`SELECT count(*)::text AS n FROM transactions WHERE memo = 'thanks'`);
    expect(count?.n).toBe('1');
  });
});
