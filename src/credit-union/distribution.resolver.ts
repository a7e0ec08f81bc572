import { Args, ID, Mutation, Resolver } from '@nestjs/graphql';
import { AmountScalar } from '../graphql/scalars/amount.scalar';
import { Allow, CurrentCaller } from '../identity/auth.guard';
import { type Caller, Role } from '../identity/caller';
import { Transaction } from '../ledger/transactions/transaction.model';
import { DistributionService } from './distribution.service';
import { ShareInput } from './share.input';

@Resolver()
export class DistributionResolver {
  constructor(private readonly distributions: DistributionService) {}

  @Mutation(() => Transaction, {
    description:
      'Splits `amount` from one account across `shares` by integer weights, exact to the minor unit ' +
      '(largest remainder, ties to the share given first), as one DISTRIBUTION transaction.',
  })
  @Allow(Role.ADMIN, Role.MEMBER, Role.TREASURER)
  distribute(
    @CurrentCaller() caller: Caller,
    @Args('fromAccountId', { type: () => ID }) fromAccountId: string,
    @Args('amount', { type: () => AmountScalar }) amount: string,
    @Args('shares', { type: () => [ShareInput] }) shares: ShareInput[],
    @Args('memo', { type: () => String, nullable: true }) memo: string | null,
    @Args('idempotencyKey') idempotencyKey: string,
  ): Promise<Transaction> {
    return this.distributions.distribute(caller, { fromAccountId, amount, shares, memo, idempotencyKey });
  }
}
