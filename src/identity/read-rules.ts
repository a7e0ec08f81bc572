import { Injectable, SetMetadata } from '@nestjs/common';
import { forbidden } from '../common/domain-error';
import { AccessService } from './access.service';
import type { Caller } from './caller';
import { AccountDirectory } from './directory';

/**
 * The read rule of each object type (SPEC B.1), applied wherever the object is reached: by its
 * root query or through a nested field of another object. One rule per type, here, so that a
 * field added later cannot forget it (the table in docs/security.md is generated from the
 * `@ReadRule` metadata, and a test checks that every field reaching a guarded type declares one).
 */
export enum ReadKind {
  /** Parties, currencies, offers and requests, and an account's directory fields (id, party, currency, status): every key. */
  DIRECTORY = 'DIRECTORY',
  /** An account's balances, limits and history: whoever may read that account (AccessService.canRead). */
  ACCOUNT = 'ACCOUNT',
  /** A transaction: whoever may read one of the accounts it posts to. */
  TRANSACTION = 'TRANSACTION',
  /** A hold: whoever may read its payer's or its payee's account. */
  HOLD = 'HOLD',
  /** An exchange (a claim): whoever may read its provider's or its receiver's account. */
  EXCHANGE = 'EXCHANGE',
  /** Audit facts (who posted a transaction): admins and auditors; null for every other key. */
  AUDIT = 'AUDIT',
}

export const READ_RULE_KEY = 'ledger:read-rule';

/**
 * Declares which read rule a field applies to what it returns. Metadata only: the resolver
 * applies the rule with `ReadRules.shown` or `ReadRules.required` (a nullable link to an object
 * the caller may not read is null; a non-null one is FORBIDDEN).
 */
export const ReadRule = (kind: ReadKind) => SetMetadata(READ_RULE_KEY, kind);

/**
 * The accounts an object touches, by its shape (no import of the feature modules' models): a
 * transaction's postings, a hold's payer and payee, an exchange's provider and receiver, or the
 * accounts a ledger event names (the webhook outbox: a key's webhook is sent only the events it
 * may read, by this same rule).
 */
type Touching =
  | { readonly postings: readonly { readonly accountId: string }[] }
  | { readonly fromAccountId: string; readonly toAccountId: string }
  | { readonly providerAccountId: string; readonly receiverAccountId: string }
  | { readonly accountIds: readonly string[] };

function accountIdsOf(object: Touching): readonly string[] {
  if ('postings' in object) return object.postings.map((p) => p.accountId);
  if ('accountIds' in object) return object.accountIds;
  if ('fromAccountId' in object) return [object.fromAccountId, object.toAccountId];
  return [object.providerAccountId, object.receiverAccountId];
}

@Injectable()
export class ReadRules {
  constructor(
    private readonly access: AccessService,
    private readonly accounts: AccountDirectory,
  ) {}

  /** Transactions, holds, exchanges and ledger events: readable when one of the accounts they touch is. */
  async canRead(caller: Caller | undefined, object: Touching): Promise<boolean> {
    if (!caller) return false;
    const facts = await this.accounts.factsOf(caller.networkId, accountIdsOf(object));
    for (const account of facts.values()) {
      if (await this.access.canRead(caller, account)) return true;
    }
    return false;
  }

  /** The object of a nullable link, or null when the caller may not read it. */
  async shown<T extends Touching>(caller: Caller | undefined, object: T | null | undefined): Promise<T | null> {
    if (!object) return null;
    return (await this.canRead(caller, object)) ? object : null;
  }

  /** The object of a root query or a non-null link: FORBIDDEN when the caller may not read it. */
  async required<T extends Touching>(caller: Caller | undefined, object: T, what: string): Promise<T> {
    if (!(await this.canRead(caller, object))) throw forbidden(`This API key may not read that ${what}`);
    return object;
  }
}
