import { Args, ID, Mutation, Resolver } from '@nestjs/graphql';
import { AmountScalar } from '../graphql/scalars/amount.scalar';
import { Allow, CurrentCaller } from '../identity/auth.guard';
import { type Caller, Role } from '../identity/caller';
import { Transaction } from '../ledger/transactions/transaction.model';
import { DepositInput } from './deposit.input';
import { DepositService, MAX_BATCH } from './deposit.service';

/** Deposits and withdrawals of local dollars: a coordinator, or the issuing credit union's integration key. */
@Resolver()
export class DepositResolver {
  constructor(private readonly deposits: DepositService) {}

  @Mutation(() => Transaction, { description: 'Puts local dollars in circulation: issuance account -amount, account +amount.' })
  @Allow(Role.ADMIN, Role.INTEGRATION)
  recordDeposit(
    @CurrentCaller() caller: Caller,
    @Args('accountId', { type: () => ID }) accountId: string,
    @Args('amount', { type: () => AmountScalar }) amount: string,
    @Args('externalRef') externalRef: string,
    @Args('idempotencyKey') idempotencyKey: string,
  ): Promise<Transaction> {
    return this.deposits.record(caller, 'DEPOSIT', { accountId, amount, externalRef, idempotencyKey });
  }

  @Mutation(() => Transaction, { description: 'Takes local dollars out of circulation: account -amount, issuance account +amount.' })
  @Allow(Role.ADMIN, Role.INTEGRATION)
  recordWithdrawal(
    @CurrentCaller() caller: Caller,
    @Args('accountId', { type: () => ID }) accountId: string,
    @Args('amount', { type: () => AmountScalar }) amount: string,
    @Args('externalRef') externalRef: string,
    @Args('idempotencyKey') idempotencyKey: string,
  ): Promise<Transaction> {
    return this.deposits.record(caller, 'WITHDRAWAL', { accountId, amount, externalRef, idempotencyKey });
  }

  @Mutation(() => [Transaction], {
    description:
      `Up to ${MAX_BATCH} deposits, all posted or none. A refusal names the bad item (extensions.index); ` +
      'a retried batch returns the transactions first posted.',
  })
  @Allow(Role.ADMIN, Role.INTEGRATION)
  recordDeposits(
    @CurrentCaller() caller: Caller,
    @Args('batch', { type: () => [DepositInput] }) batch: DepositInput[],
  ): Promise<Transaction[]> {
    return this.deposits.recordBatch(caller, batch);
  }
}
