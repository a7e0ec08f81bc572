import { Args, Mutation, Resolver } from '@nestjs/graphql';
import { Allow, CurrentCaller } from '../../identity/auth.guard';
import { type Caller, Role } from '../../identity/caller';
import { ImportAccountInput, ImportBatchResult, ImportPartyInput, ImportTransactionInput } from './import.models';
import { ImportService } from './import.service';

/** The mutations behind `npm run import` (docs/import.md): ADMIN only, into the key's network. */
@Resolver()
export class ImportResolver {
  constructor(private readonly imports: ImportService) {}

  @Mutation(() => ImportBatchResult, { description: 'Makes the parties of an import; a ref made before is left as it is.' })
  @Allow(Role.ADMIN)
  importParties(@CurrentCaller() caller: Caller, @Args('parties', { type: () => [ImportPartyInput] }) parties: ImportPartyInput[]) {
    return this.imports.importParties(caller, parties);
  }

  @Mutation(() => ImportBatchResult, { description: 'Opens the accounts of an import; a ref made before is left as it is.' })
  @Allow(Role.ADMIN)
  importAccounts(@CurrentCaller() caller: Caller, @Args('accounts', { type: () => [ImportAccountInput] }) accounts: ImportAccountInput[]) {
    return this.imports.importAccounts(caller, accounts);
  }

  @Mutation(() => ImportBatchResult, {
    description:
      'Posts history with its original dates as postedAt (non-decreasing, not in the future), as one batch: all or nothing. ' +
      'Allowed only while every transaction of the ledger was imported; refs are idempotency keys, so a batch sent again posts nothing twice.',
  })
  @Allow(Role.ADMIN)
  importTransactions(
    @CurrentCaller() caller: Caller,
    @Args('transactions', { type: () => [ImportTransactionInput] }) transactions: ImportTransactionInput[],
  ) {
    return this.imports.importTransactions(caller, transactions);
  }
}
