import { Args, Field, Int, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { Allow, CurrentCaller } from '../../identity/auth.guard';
import { type Caller, Role } from '../../identity/caller';
import { VerifyService } from './verify.service';

@ObjectType()
export class LedgerVerification {
  @Field()
  ok!: boolean;

  @Field(() => Int)
  transactionsChecked!: number;

  @Field(() => Int)
  accountsChecked!: number;

  @Field(() => String, { nullable: true, description: 'The first difference found, in words.' })
  firstProblem!: string | null;
}

@Resolver()
export class VerifyResolver {
  constructor(private readonly verifier: VerifyService) {}

  @Query(() => LedgerVerification, {
    description: "Recomputes every balance of the caller's network from postings, and the network's whole hash chain.",
  })
  @Allow(Role.ADMIN, Role.AUDITOR, Role.TREASURER)
  verifyLedger(
    @CurrentCaller() caller: Caller,
    @Args('throughHash', {
      type: () => String,
      nullable: true,
      description:
        'A transaction hash kept from earlier (the last hash of an export, say): the chain must also pass through it. ' +
        'Only this catches a rewrite that recomputed every hash.',
    })
    throughHash?: string | null,
  ): Promise<LedgerVerification> {
    return this.verifier.verify(caller.networkId, { throughHash: throughHash ?? null });
  }
}
