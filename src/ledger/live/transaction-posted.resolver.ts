import { Args, ID, Resolver, Subscription } from '@nestjs/graphql';
import { checkId } from '../../common/ids';
import { clearLoaders } from '../../graphql/batch-loader';
import { AccessService } from '../../identity/access.service';
import { Allow, CurrentCaller } from '../../identity/auth.guard';
import { ReadKind, ReadRule } from '../../identity/read-rules';
import { type Caller, READERS } from '../../identity/caller';
import { AccountRepository } from '../accounts/account.repository';
import { Transaction } from '../transactions/transaction.model';
import { PostedFeed } from './posted-feed';

@Resolver()
export class TransactionPostedResolver {
  constructor(
    private readonly feed: PostedFeed,
    private readonly accounts: AccountRepository,
    private readonly access: AccessService,
  ) {}

  @Subscription(() => Transaction, {
    description:
      'Every transaction posting to the account from now on, whichever instance posted it, in ledger order. ' +
      'Over graphql-ws on /graphql with connectionParams { authorization: "Bearer <api key>" }; the caller must be allowed to read the account.',
    resolve: (transaction: Transaction, _args: unknown, context: object) => {
      clearLoaders(context);
      return transaction;
    },
  })
  @Allow(...READERS)
  @ReadRule(ReadKind.ACCOUNT)
  async transactionPosted(
    @CurrentCaller() caller: Caller,
    @Args('accountId', { type: () => ID }) accountId: string,
  ): Promise<AsyncIterableIterator<Transaction>> {
    const account = await this.accounts.requireFact(caller.networkId, checkId(accountId, 'accountId'));
    await this.access.assertCanRead(caller, account);
    return this.feed.subscribe(caller.apiKeyId, caller.networkId, account.id);
  }
}
