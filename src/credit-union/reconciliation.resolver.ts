import { Args, Query, Resolver } from '@nestjs/graphql';
import { AmountScalar } from '../graphql/scalars/amount.scalar';
import { Allow, CurrentCaller } from '../identity/auth.guard';
import { type Caller, Role } from '../identity/caller';
import { Reconciliation } from './reconciliation.model';
import { ReconciliationService } from './reconciliation.service';

@Resolver(() => Reconciliation)
export class ReconciliationResolver {
  constructor(private readonly reconciliations: ReconciliationService) {}

  @Query(() => Reconciliation, { description: "Compares a local dollar's circulation with the reserve its credit union reports." })
  @Allow(Role.ADMIN, Role.AUDITOR, Role.INTEGRATION, Role.TREASURER)
  reconciliation(
    @CurrentCaller() caller: Caller,
    @Args('currency') currency: string,
    @Args('reserve', { type: () => AmountScalar }) reserve: string,
  ): Promise<Reconciliation> {
    return this.reconciliations.reconcile(caller, currency, reserve);
  }
}
