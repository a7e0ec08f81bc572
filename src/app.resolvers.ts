import { IDENTITY_RESOLVERS } from './identity/identity.module';
import { HOLD_RESOLVERS } from './ledger/holds/holds.module';
import { LEDGER_RESOLVERS } from './ledger/ledger.module';
import { LIVE_RESOLVERS } from './ledger/live/live.module';
import { CREDIT_UNION_RESOLVERS } from './credit-union/credit-union.module';
import { TIMEBANK_RESOLVERS } from './timebank/timebank.module';
import { REPORT_RESOLVERS } from './ledger/query/reports.module';
import { WEBHOOK_RESOLVERS } from './webhooks/webhooks.module';

/** Every resolver of the API, for printing schema.graphql without a database. */
export const ALL_RESOLVERS: Function[] = [
  ...IDENTITY_RESOLVERS,
  ...LEDGER_RESOLVERS,
  ...HOLD_RESOLVERS,
  ...CREDIT_UNION_RESOLVERS,
  ...TIMEBANK_RESOLVERS,
  ...REPORT_RESOLVERS,
  ...LIVE_RESOLVERS,
  ...WEBHOOK_RESOLVERS,
];
