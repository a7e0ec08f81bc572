import type { GqlClient, GqlResponse } from '../lib/gql-client';
import type { ProgressStep } from '../lib/progress';
import { clientFor, CO_OP_TREASURER, COORDINATOR, INTEGRATION, LAND_TRUST_TREASURER, memberKeyLabel } from './demo-keys';
import { type Directory, idOf } from './directory';
import type { Listings } from './welcome';
import {
  ARTIST,
  CO_OP,
  CO_OP_SURPLUS,
  CREDIT_UNION,
  type DemoExchange,
  DUPLICATE_SLIP,
  EXCHANGES,
  GROUND_LEASE,
  INVESTOR,
  LAND_TRUST,
  LAND_TRUST_WORKDAYS,
  MEMBERS,
  ROYALTIES,
  TIME_BANK,
  WITHDRAWAL,
} from './network';

/**
 * Six weeks of a living network, told day by day through the API: exchanges (recorded by the
 * coordinator, by receivers and by providers, confirmed, disputed or left pending), weekly
 * deposits, ground lease, land trust workdays, a royalty split, a withdrawal, the co-op's
 * surplus, and a slip entered twice that the coordinator reverses. The ledger stamps its own
 * time on each transaction; the day a service happened is told in descriptions, memos and
 * metadata (`serviceDate`), counted back from the first run of the seed.
 */
export const DAYS = 42;

export interface TimelineContext {
  readonly admin: GqlClient;
  readonly keys: Map<string, GqlClient>;
  readonly directory: Directory;
  readonly offers: Listings;
  readonly requests: Listings;
  /** Midnight (UTC) of the day the seed first ran: day 0 is six weeks before it. */
  readonly anchor: Date;
}

export function serviceDate(anchor: Date, day: number): string {
  return new Date(anchor.getTime() + (day - DAYS) * 86_400_000).toISOString().slice(0, 10);
}

interface DayEvent {
  readonly day: number;
  /** What happened, as [one, several]. */
  readonly kind: readonly [string, string];
  run(context: TimelineContext): Promise<void>;
}

const EXCHANGE_MUTATION = `mutation($provider: ID!, $receiver: ID!, $hours: Amount!, $description: String!, $offerId: ID, $requestId: ID, $idempotencyKey: String!) {
  recordExchange(provider: $provider, receiver: $receiver, hours: $hours, description: $description, offerId: $offerId, requestId: $requestId, idempotencyKey: $idempotencyKey) {
    id status transaction { id }
  }
}`;

function isApp(name: string): boolean {
  return MEMBERS.some((member) => member.name === name && member.app);
}

/** Runs a confirmation or dispute; on a second run the exchange is already settled (HOLD_NOT_PENDING). */
function settled(response: GqlResponse, what: string): void {
  const code = response.errors?.[0]?.extensions?.code;
  if (!response.errors?.length || code === 'HOLD_NOT_PENDING') return;
  throw new Error(`${what}: ${JSON.stringify(response.errors)}`);
}

async function recordExchange(
  context: TimelineContext,
  exchange: DemoExchange,
  keySuffix = '',
): Promise<{ transaction: { id: string } | null }> {
  const { directory, keys } = context;
  // A request closes when the exchange fulfilling it is confirmed, so an earlier run recorded it.
  // Recording it again with the same idempotency key is refused once the request is closed
  // (VALIDATION_FAILED) instead of answering the first result, so it is not sent again.
  if (exchange.request && context.requests.closed.has(exchange.request)) return { transaction: null };
  const recorder =
    exchange.path === 'slip'
      ? clientFor(keys, COORDINATOR)
      : clientFor(keys, memberKeyLabel(exchange.path === 'receiver' ? exchange.receiver : exchange.provider));
  const data = await recorder.ok<{ recordExchange: { id: string; transaction: { id: string } | null } }>(EXCHANGE_MUTATION, {
    provider: idOf(directory.hours, exchange.provider),
    receiver: idOf(directory.hours, exchange.receiver),
    hours: exchange.hours,
    description: `${exchange.what} (service on ${serviceDate(context.anchor, exchange.day)})`,
    offerId: exchange.offer ? idOf(context.offers.ids, exchange.offer) : null,
    requestId: exchange.request ? idOf(context.requests.ids, exchange.request) : null,
    idempotencyKey: `demo-exchange-${exchange.key}${keySuffix}`,
  });
  const { id } = data.recordExchange;
  // The receiver answers in the app; for a receiver without it, the coordinator does after a call.
  const answerer = clientFor(keys, isApp(exchange.receiver) ? memberKeyLabel(exchange.receiver) : COORDINATOR);
  if (exchange.path === 'confirmed') {
    settled(await answerer.request('mutation($id: ID!) { confirmExchange(id: $id) { id } }', { id }), `confirming ${exchange.key}`);
  } else if (exchange.path === 'disputed') {
    settled(
      await answerer.request('mutation($id: ID!, $reason: String!) { disputeExchange(id: $id, reason: $reason) { id } }', {
        id,
        reason: exchange.disputeReason ?? 'Not recognised',
      }),
      `disputing ${exchange.key}`,
    );
  }
  return data.recordExchange;
}

function exchangeEvents(): DayEvent[] {
  return EXCHANGES.map((exchange): DayEvent => ({
    day: exchange.day,
    kind:
      exchange.path === 'pending'
        ? ['claim left pending', 'claims left pending']
        : exchange.path === 'disputed'
          ? ['disputed claim', 'disputed claims']
          : ['exchange', 'exchanges'],
    run: async (context: TimelineContext) => {
      await recordExchange(context, exchange);
      if (exchange.key !== DUPLICATE_SLIP.key) return;
      // The coordinator enters the same paper slip a second time, notices two days later, and reverses it.
      const again = await recordExchange(context, exchange, '-again');
      if (!again.transaction) throw new Error('a slip entered by the coordinator should have posted at once');
      await context.admin.ok(
        'mutation($id: ID!, $reason: String!, $key: String!) { reverseTransaction(id: $id, reason: $reason, idempotencyKey: $key) { id } }',
        {
          id: again.transaction.id,
          reason: `Slip entered twice (service on ${serviceDate(context.anchor, exchange.day)}); the first entry stands`,
          key: `demo-reverse-${exchange.key}`,
        },
      );
    },
  }));
}

function landTrustEvents(): DayEvent[] {
  const workdays = LAND_TRUST_WORKDAYS.map((workday): DayEvent => ({
    day: workday.day,
    kind: ['land trust workday', 'land trust workdays'],
    run: async ({ keys, directory, anchor }: TimelineContext) => {
      // The land trust received the work, so its treasurer's record moves the hours at once.
      await clientFor(keys, LAND_TRUST_TREASURER).ok(EXCHANGE_MUTATION, {
        provider: idOf(directory.hours, workday.member),
        receiver: idOf(directory.hours, LAND_TRUST.name),
        hours: workday.hours,
        description: `${workday.what} (service on ${serviceDate(anchor, workday.day)})`,
        idempotencyKey: `demo-${workday.key}`,
      });
    },
  }));
  const residents = MEMBERS.filter((member) => member.resident);
  const leases = GROUND_LEASE.days.flatMap((day, month) =>
    residents.map((resident): DayEvent => ({
      day,
      kind: ['ground lease payment', 'ground lease payments'],
      run: async ({ keys, directory }: TimelineContext) => {
        await clientFor(keys, memberKeyLabel(resident.name)).ok(
          'mutation($from: ID!, $to: ID!, $amount: Amount!, $memo: String, $key: String!) { transfer(from: $from, to: $to, amount: $amount, memo: $memo, idempotencyKey: $key) { id } }',
          {
            from: idOf(directory.dollars, resident.name),
            to: idOf(directory.dollars, LAND_TRUST.name),
            amount: GROUND_LEASE.amount,
            memo: `Ground lease, month ${month + 1}`,
            key: `demo-lease-${month + 1}-${resident.handle}`,
          },
        );
      },
    })),
  );
  return [...workdays, ...leases];
}

function depositEvents(): DayEvent[] {
  const depositors = MEMBERS.filter((member) => member.deposit);
  return [4, 11, 18, 25, 32, 39].map((day, week): DayEvent => ({
    day,
    kind: ['deposit batch', 'deposit batches'],
    run: async ({ keys, directory, anchor }: TimelineContext) => {
      const date = serviceDate(anchor, day).replaceAll('-', '');
      const items = depositors.map((member) => ({ name: member.name, key: member.handle, amount: member.deposit ?? '0.00' }));
      if (week === 0)
        items.push({ name: CO_OP.name, key: 'co-op', amount: '500.00' }, { name: LAND_TRUST.name, key: 'clt', amount: '250.00' });
      const batch = items.map((item, index) => ({
        accountId: idOf(directory.dollars, item.name),
        amount: item.amount,
        externalRef: `CCCU-${date}-${String(index + 1).padStart(4, '0')}`,
        idempotencyKey: `demo-deposit-w${week + 1}-${item.key}`,
      }));
      await clientFor(keys, INTEGRATION).ok('mutation($batch: [DepositInput!]!) { recordDeposits(batch: $batch) { id } }', { batch });
    },
  }));
}

function moneyEvents(): DayEvent[] {
  return [
    { day: ROYALTIES.day, kind: ['royalty split', 'royalty splits'], run: royaltySplit },
    {
      day: WITHDRAWAL.day,
      kind: ['withdrawal', 'withdrawals'],
      run: async ({ keys, directory, anchor }: TimelineContext) => {
        await clientFor(keys, INTEGRATION).ok(
          'mutation($accountId: ID!, $amount: Amount!, $ref: String!, $key: String!) { recordWithdrawal(accountId: $accountId, amount: $amount, externalRef: $ref, idempotencyKey: $key) { id } }',
          {
            accountId: idOf(directory.dollars, WITHDRAWAL.member),
            amount: WITHDRAWAL.amount,
            ref: `CCCU-${serviceDate(anchor, WITHDRAWAL.day).replaceAll('-', '')}-W001`,
            key: 'demo-withdrawal-1',
          },
        );
      },
    },
    { day: CO_OP_SURPLUS.day, kind: ['co-op surplus split', 'co-op surplus splits'], run: coOpSurplus },
    { day: 20, kind: ['community work payment', 'community work payments'], run: communityWork },
  ];
}

const DISTRIBUTE = `mutation($from: ID!, $amount: Amount!, $shares: [ShareInput!]!, $memo: String, $key: String!) {
  distribute(fromAccountId: $from, amount: $amount, shares: $shares, memo: $memo, idempotencyKey: $key) { id }
}`;

/** A streaming payout reaches the co-op's label and is split: artist, investor, land trust support. */
async function royaltySplit({ keys, directory, anchor }: TimelineContext): Promise<void> {
  const from = idOf(directory.dollars, CO_OP.name);
  await clientFor(keys, INTEGRATION).ok(
    'mutation($accountId: ID!, $amount: Amount!, $ref: String!, $key: String!) { recordDeposit(accountId: $accountId, amount: $amount, externalRef: $ref, idempotencyKey: $key) { id } }',
    {
      accountId: from,
      amount: ROYALTIES.amount,
      ref: `CCCU-${serviceDate(anchor, ROYALTIES.day).replaceAll('-', '')}-ROYALTY`,
      key: 'demo-royalty-payout',
    },
  );
  await clientFor(keys, CO_OP_TREASURER).ok(DISTRIBUTE, {
    from,
    amount: ROYALTIES.amount,
    shares: [
      { accountId: idOf(directory.dollars, ARTIST), weight: ROYALTIES.artistWeight },
      { accountId: idOf(directory.dollars, INVESTOR), weight: ROYALTIES.investorWeight },
      { accountId: idOf(directory.dollars, CREDIT_UNION.name), weight: ROYALTIES.landTrustWeight },
    ],
    memo: `Album royalties (${ARTIST}): artist, investor and the credit union's land trust support account`,
    key: 'demo-royalty-split',
  });
}

async function coOpSurplus({ keys, directory }: TimelineContext): Promise<void> {
  const workers = MEMBERS.filter((member) => member.coOpHours);
  await clientFor(keys, CO_OP_TREASURER).ok(DISTRIBUTE, {
    from: idOf(directory.dollars, CO_OP.name),
    amount: CO_OP_SURPLUS.amount,
    shares: workers.map((worker) => ({ accountId: idOf(directory.dollars, worker.name), weight: worker.coOpHours })),
    memo: 'Surplus shared among the workers by hours worked',
    key: 'demo-co-op-surplus',
  });
}

/** The time bank pays hours from its pool for a neighbourhood clean-up: one transaction, four postings. */
async function communityWork({ keys, directory, anchor }: TimelineContext): Promise<void> {
  const volunteers = ['Kwame Asante', 'Tamar Levi', 'Yusuf Demir'];
  await clientFor(keys, COORDINATOR).ok(
    'mutation($postings: [PostingInput!]!, $metadata: JSON, $key: String!) { postTransaction(postings: $postings, kind: TRANSFER, memo: "Neighbourhood clean-up", metadata: $metadata, idempotencyKey: $key) { id } }',
    {
      postings: [
        { accountId: idOf(directory.hours, TIME_BANK.name), amount: '-6.00' },
        ...volunteers.map((name) => ({ accountId: idOf(directory.hours, name), amount: '2.00' })),
      ],
      metadata: { program: 'community work', serviceDate: serviceDate(anchor, 20) },
      key: 'demo-community-work-1',
    },
  );
}

/** Runs the six weeks in order, printing one line per week. */
export async function runTimeline(context: TimelineContext, step: ProgressStep): Promise<void> {
  const events = [...exchangeEvents(), ...landTrustEvents(), ...depositEvents(), ...moneyEvents()].sort((a, b) => a.day - b.day);
  for (let week = 0; week < DAYS / 7; week++) {
    const ofWeek = events.filter((event) => Math.floor(event.day / 7) === week);
    const counts = new Map<string, { kind: readonly [string, string]; count: number }>();
    for (const event of ofWeek) {
      await event.run(context);
      const seen = counts.get(event.kind[0]) ?? { kind: event.kind, count: 0 };
      counts.set(event.kind[0], { ...seen, count: seen.count + 1 });
      step.tick();
    }
    const told = [...counts.values()].map(({ kind: [one, several], count }) => `${count} ${count === 1 ? one : several}`).join(', ');
    step.line(`week ${week + 1} (from ${serviceDate(context.anchor, week * 7)}): ${told}`);
  }
  step.done(`${events.length} events over six weeks`);
}

export function timelineSize(): number {
  return exchangeEvents().length + landTrustEvents().length + depositEvents().length + moneyEvents().length;
}
