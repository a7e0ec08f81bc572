/**
 * Example operations preloaded in the explorer, grouped by the role of the API key that may run
 * them. Ids in the variables are placeholders: the first example of each role finds the ids to
 * paste in. Every mutation that moves value takes an idempotency key: change it for each new
 * payment, keep it to retry the same one safely.
 */
export type RoleName = 'ADMIN' | 'MEMBER' | 'TREASURER' | 'INTEGRATION' | 'AUDITOR';

export interface Example {
  readonly title: string;
  readonly query: string;
  readonly variables?: Record<string, unknown>;
}

export interface RoleGuide {
  readonly role: RoleName;
  readonly who: string;
  readonly examples: readonly Example[];
}

const WHO_AM_I: Example = {
  title: 'Who am I?',
  query: `# The role of the API key in use, and the party it acts for.
query WhoAmI {
  me {
    role
    party { id name kind }
    apiKey { label }
  }
}`,
};

const MY_ACCOUNTS: Example = {
  title: 'My accounts and balances',
  query: `# Accounts this key may read. available = posted - pendingDebits.
query MyAccounts {
  accounts(first: 20) {
    edges {
      node {
        id
        party { name }
        currency { code kind }
        posted
        pendingDebits
        pendingCredits
        available
        creditLimit
      }
    }
  }
}`,
};

const HISTORY: Example = {
  title: 'Recent transactions of an account',
  query: `query History($accountId: ID!) {
  transactions(accountId: $accountId, first: 10) {
    edges {
      node {
        sequence
        kind
        memo
        metadata
        postedAt
        postings { amount account { party { name } currency { code } } }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}`,
  variables: { accountId: '<an account id from "My accounts">' },
};

const TRIAL_BALANCE: Example = {
  title: 'Trial balance of a currency',
  query: `# Every account's balance in one currency; the total of a trial balance is always zero.
query TrialBalance($currency: String!) {
  trialBalance(currency: $currency) {
    asOf
    total
    lines { account { party { name kind } } balance }
  }
}`,
  variables: { currency: 'HOUR' },
};

const STATEMENT: Example = {
  title: 'Statement of an account',
  query: `query Statement($accountId: ID!) {
  statement(accountId: $accountId, first: 20) {
    account { party { name } currency { code } }
    openingBalance
    closingBalance
    entries {
      edges { node { postedAt amount balance transaction { kind memo } } }
    }
  }
}`,
  variables: { accountId: '<an account id>' },
};

const MEMBER: RoleGuide = {
  role: 'MEMBER',
  who: 'A member of a time bank: sees their balances, pays hours, records services, posts offers and requests.',
  examples: [
    WHO_AM_I,
    MY_ACCOUNTS,
    {
      title: 'Offers of help, by category',
      query: `query Offers($category: String, $search: String) {
  offers(category: $category, search: $search, open: true, first: 20) {
    edges { node { id title category description hours party { name } } }
  }
}`,
      variables: { category: 'Gardening', search: null },
    },
    {
      title: 'Pay hours for a service received',
      query: `# Recorded by the receiver, the exchange posts at once: receiver -hours, provider +hours.
mutation PayHours($provider: ID!, $receiver: ID!, $hours: Amount!, $description: String!, $idempotencyKey: String!) {
  recordExchange(provider: $provider, receiver: $receiver, hours: $hours, description: $description, idempotencyKey: $idempotencyKey) {
    id
    status
    hours
    transaction { sequence postings { amount account { party { name } } } }
  }
}`,
      variables: {
        provider: "<the provider's HOUR account id>",
        receiver: '<your HOUR account id>',
        hours: '1.50',
        description: 'Fixed my bike',
        idempotencyKey: 'bike-repair-1',
      },
    },
    {
      title: 'Record a service you gave (the receiver confirms)',
      query: `# Recorded by the provider, the exchange is a hold on the receiver's account until they confirm.
mutation RecordService($provider: ID!, $receiver: ID!, $hours: Amount!, $description: String!, $idempotencyKey: String!) {
  recordExchange(provider: $provider, receiver: $receiver, hours: $hours, description: $description, idempotencyKey: $idempotencyKey) {
    id
    status
    hold { id status expiresAt }
  }
}`,
      variables: {
        provider: '<your HOUR account id>',
        receiver: "<the receiver's HOUR account id>",
        hours: '2.00',
        description: 'Two hours of garden work',
        idempotencyKey: 'garden-work-1',
      },
    },
    {
      title: 'Claims waiting for my confirmation, and my own claims',
      query: `# Services others recorded for you: the hours are held on your account until you answer
# (or the claim expires, EXCHANGE_CLAIM_TTL_DAYS after it was recorded). And the claims you made.
query Claims($accountId: ID!) {
  onMe: exchanges(accountId: $accountId, status: PENDING, role: RECEIVER) {
    edges { node { id hours description provider { id party { name } } hold { expiresAt } } }
  }
  mine: exchanges(accountId: $accountId, status: PENDING, role: PROVIDER) {
    edges { node { id hours description receiver { id party { name } } hold { expiresAt } } }
  }
}`,
      variables: { accountId: '<your HOUR account id>' },
    },
    {
      title: 'Withdraw a claim you made',
      query: `# Only the provider (or a coordinator) takes back its pending claim: the hold is released, nothing moves.
mutation Withdraw($id: ID!, $idempotencyKey: String) {
  withdrawExchange(id: $id, idempotencyKey: $idempotencyKey) { id status hold { status } }
}`,
      variables: { id: '<exchange id>', idempotencyKey: 'withdraw-garden-work-1' },
    },
    {
      title: 'Confirm (or dispute) an exchange',
      query: `# Only the receiver (or a coordinator) confirms or disputes.
mutation Confirm($id: ID!) {
  confirmExchange(id: $id) { id status transaction { sequence } }
}

mutation Dispute($id: ID!) {
  disputeExchange(id: $id, reason: "That was not me") { id status }
}`,
      variables: { id: '<exchange id>' },
    },
    {
      title: 'Post an offer',
      query: `mutation PostOffer($partyId: ID!) {
  postOffer(partyId: $partyId, title: "Bread baking lessons", category: "Cooking", description: "Sourdough, on Saturdays", hours: "2.00") {
    id title category open
  }
}`,
      variables: { partyId: '<your party id from "Who am I?">' },
    },
    HISTORY,
    {
      title: 'Live balance (subscription)',
      query: `# Runs until you stop it: every transaction posted on the account appears here.
# (Balances are private: ask account(id) for your own; the other side's are not yours to read.)
subscription LiveBalance($accountId: ID!) {
  transactionPosted(accountId: $accountId) {
    sequence
    kind
    memo
    postedAt
    postings { amount account { id party { name } } }
  }
}`,
      variables: { accountId: '<your account id>' },
    },
  ],
};

const TREASURER: RoleGuide = {
  role: 'TREASURER',
  who: "A co-op or land trust treasurer: moves the organisation's money, reads its members' statements, audits and exports.",
  examples: [
    WHO_AM_I,
    MY_ACCOUNTS,
    {
      title: 'Pay a member from the organisation',
      query: `mutation Pay($from: ID!, $to: ID!, $amount: Amount!, $memo: String, $idempotencyKey: String!) {
  transfer(from: $from, to: $to, amount: $amount, memo: $memo, idempotencyKey: $idempotencyKey) {
    sequence
    hash
    postings { amount account { party { name } } }
  }
}`,
      variables: {
        from: "<the organisation's account id>",
        to: "<the member's account id>",
        amount: '25.00',
        memo: 'Share of the surplus',
        idempotencyKey: 'surplus-2026-q1-member-1',
      },
    },
    STATEMENT,
    TRIAL_BALANCE,
    {
      title: 'Export the journal for hledger',
      query: `# Save the text as books.journal, then: hledger -f books.journal balance
query Export($currency: String!) {
  exportJournal(currency: $currency, format: HLEDGER)
}`,
      variables: { currency: 'HOUR' },
    },
  ],
};

const INTEGRATION: RoleGuide = {
  role: 'INTEGRATION',
  who: "A credit union's system: deposits and withdrawals of its local dollar, in batches, and reconciliation of its reserve.",
  examples: [
    WHO_AM_I,
    MY_ACCOUNTS,
    {
      title: 'Record a deposit',
      query: `# Issuance -amount, member +amount. externalRef is the credit union's own reference.
mutation Deposit($accountId: ID!, $amount: Amount!, $externalRef: String!, $idempotencyKey: String!) {
  recordDeposit(accountId: $accountId, amount: $amount, externalRef: $externalRef, idempotencyKey: $idempotencyKey) {
    sequence
    kind
    externalRef
    postings { amount account { party { name } posted } }
  }
}`,
      variables: {
        accountId: "<a member's local dollar account id>",
        amount: '100.00',
        externalRef: 'branch-7-slip-1042',
        idempotencyKey: 'dep-1042',
      },
    },
    {
      title: 'Record deposits in a batch',
      query: `mutation Batch($batch: [DepositInput!]!) {
  recordDeposits(batch: $batch) { sequence externalRef }
}`,
      variables: {
        batch: [
          { accountId: '<account id>', amount: '20.00', externalRef: 'slip-2001', idempotencyKey: 'dep-2001' },
          { accountId: '<another account id>', amount: '35.50', externalRef: 'slip-2002', idempotencyKey: 'dep-2002' },
        ],
      },
    },
    {
      title: 'Reconcile the reserve',
      query: `# circulation = local dollars issued; reserve = what the credit union holds outside the ledger.
query Reconcile($currency: String!, $reserve: Amount!) {
  reconciliation(currency: $currency, reserve: $reserve) { circulation reserve difference balanced }
}`,
      variables: { currency: 'MKE', reserve: '0.00' },
    },
  ],
};

const ADMIN: RoleGuide = {
  role: 'ADMIN',
  who: 'A coordinator: registers parties, opens accounts, sets limits, issues keys, reverses mistakes.',
  examples: [
    WHO_AM_I,
    {
      title: 'Register a member',
      query: `mutation Register($name: String!, $handle: String) {
  registerParty(kind: MEMBER, name: $name, handle: $handle) { id name }
}`,
      variables: { name: 'Rosa Parks', handle: '@rosa' },
    },
    {
      title: 'Open an hour account',
      query: `# With no creditLimit, a TIME account may go 10 hours below zero (DEFAULT_TIME_CREDIT_LIMIT).
mutation Open($partyId: ID!) {
  openAccount(partyId: $partyId, currency: "HOUR") { id creditLimit posted }
}`,
      variables: { partyId: '<party id>' },
    },
    {
      title: 'Cap a balance (maximum balance)',
      query: `# The most posted + pendingCredits may reach (holds count at once); null removes the cap.
# A payment or claim beyond it is refused with BALANCE_LIMIT_EXCEEDED.
mutation Cap($accountId: ID!, $maxBalance: Amount) {
  setMaxBalance(accountId: $accountId, maxBalance: $maxBalance) { id maxBalance creditLimit posted pendingCredits }
}`,
      variables: { accountId: '<account id>', maxBalance: '40' },
    },
    {
      title: 'Default bounds of a currency',
      query: `# For accounts opened later without their own creditLimit or maxBalance.
mutation Defaults {
  setCurrencyDefaults(code: "HOUR", defaultCreditLimit: "10", defaultMaxBalance: "40") { code defaultCreditLimit defaultMaxBalance }
}`,
    },
    {
      title: "The month's activity",
      query: `# Per account credited, debited and transactions over [from, to); every posting counts
# (reversals, the community pool, imported history). As CSV: GET /exports/activity?currency=&from=&to=
query Activity($from: DateTime!, $to: DateTime!) {
  activity(currency: "HOUR", from: $from, to: $to, first: 50) {
    totals { transactions activeAccounts volume }
    lines { edges { node { account { id party { name } } credited debited transactions } } pageInfo { hasNextPage endCursor } }
  }
}`,
      variables: { from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' },
    },
    {
      title: 'Issue an API key',
      query: `# The secret is shown once: hand it to its holder now.
mutation Key($partyId: ID, $role: Role!) {
  createApiKey(partyId: $partyId, role: $role, label: "phone app") { secret apiKey { id role } }
}`,
      variables: { partyId: '<party id>', role: 'MEMBER' },
    },
    {
      title: 'Reverse a mistake',
      query: `# Posts the mirror image of the transaction; the original stays in the books.
mutation Reverse($id: ID!, $reason: String!, $idempotencyKey: String!) {
  reverseTransaction(id: $id, reason: $reason, idempotencyKey: $idempotencyKey) {
    sequence
    kind
    reverses { sequence memo }
  }
}`,
      variables: { id: '<transaction id>', reason: 'Recorded twice by mistake', idempotencyKey: 'reverse-1' },
    },
    {
      title: 'Split royalties',
      query: `# One amount split by integer weights, exact to the cent (largest remainder).
mutation Split($from: ID!, $shares: [ShareInput!]!, $idempotencyKey: String!) {
  distribute(fromAccountId: $from, amount: "100.00", shares: $shares, memo: "Album royalties", idempotencyKey: $idempotencyKey) {
    sequence
    postings { amount account { party { name } } }
  }
}`,
      variables: {
        from: '<royalties account id>',
        shares: [
          { accountId: "<artist's account id>", weight: 70 },
          { accountId: "<investor's account id>", weight: 20 },
          { accountId: "<land trust's account id>", weight: 10 },
        ],
        idempotencyKey: 'royalties-1',
      },
    },
    {
      title: 'Freeze an account',
      query: `mutation Freeze($accountId: ID!) {
  freezeAccount(accountId: $accountId, reason: "Lost phone") { id status }
}`,
      variables: { accountId: '<account id>' },
    },
  ],
};

const AUDITOR: RoleGuide = {
  role: 'AUDITOR',
  who: 'An auditor: reads everything and verifies the ledger end to end.',
  examples: [
    WHO_AM_I,
    {
      title: 'Verify the whole ledger',
      query: `# Recomputes every balance from its postings and the whole hash chain.
query Verify {
  verifyLedger { ok transactionsChecked accountsChecked firstProblem }
}`,
    },
    TRIAL_BALANCE,
    {
      title: 'The hash chain, latest first',
      query: `query Chain {
  transactions(first: 20) {
    edges { node { sequence kind postedAt hash previousHash } }
  }
}`,
    },
  ],
};

export const ROLE_GUIDES: readonly RoleGuide[] = [MEMBER, TREASURER, INTEGRATION, ADMIN, AUDITOR];

export const WELCOME_QUERY = `# Welcome to the Solidarity Ledger explorer.
#
# 1. Paste an API key in the bar above, press "Use key".
#    \`npm start\` prints the admin key;
#    \`npm run seed:demo\` prints one key per role.
# 2. Run this query: the ▶ button, or Ctrl-Enter.
# 3. "Examples" (left) has each role's main tasks;
#    "Docs" has every type and field of the API.

query WhoAmI {
  me {
    role
    party { id name kind }
  }
}
`;
