-- Activity reports (SPEC B.5) over closed periods, rolled up once (docs/reports.md, "How it
-- stays fast"). A period is a range of sequences of one network, (after_sequence,
-- last_sequence], made of the transactions of one UTC day (`day`) once that day is closed: a
-- transaction posted at or after the next midnight exists, and posting time never decreases
-- along the sequence. Periods of a network follow each other without gap or overlap from
-- sequence 0, each starting where the one before ended. Because the journal is append-only, the
-- postings of a sequence range never change: a rolled-up period is exact for ever, whatever is
-- posted later (imports included), and the query adds the postings of the sequences no whole
-- period covers. The rows are written by the rollup worker of any instance
-- (ledger/query/activity-rollup.worker.ts), never by the posting group.
CREATE TABLE activity_periods (
  network_id      uuid NOT NULL REFERENCES networks (id),
  -- The period holds the transactions with after_sequence < sequence <= last_sequence.
  after_sequence  bigint NOT NULL CHECK (after_sequence >= 0),
  last_sequence   bigint NOT NULL,
  -- The UTC day of its transactions' posting time (a long day may be cut in several periods).
  day             date NOT NULL,
  rolled_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (network_id, last_sequence),
  -- Two workers can never both write the period that follows the same one.
  UNIQUE (network_id, after_sequence),
  CHECK (after_sequence < last_sequence)
);

-- Per period and account: what `activity` lines sum. Sums are numeric: a day's gross movements
-- may exceed a BIGINT even though no balance does.
CREATE TABLE activity_period_accounts (
  network_id      uuid NOT NULL,
  last_sequence   bigint NOT NULL,
  currency_code   text NOT NULL,
  account_id      uuid NOT NULL,
  credited_minor  numeric NOT NULL CHECK (credited_minor >= 0),
  debited_minor   numeric NOT NULL CHECK (debited_minor >= 0),
  -- Postings of the account in the period; an account appears at most once per transaction,
  -- so this is its number of transactions.
  transactions    integer NOT NULL CHECK (transactions > 0),
  PRIMARY KEY (network_id, account_id, last_sequence),
  FOREIGN KEY (network_id, last_sequence) REFERENCES activity_periods (network_id, last_sequence),
  FOREIGN KEY (network_id, account_id) REFERENCES accounts (network_id, id)
);
-- A whole currency's month: one index-only range of the periods it covers.
CREATE INDEX activity_period_accounts_currency ON activity_period_accounts (network_id, currency_code, last_sequence)
  INCLUDE (account_id, credited_minor, debited_minor, transactions);

-- Per period and currency: distinct transactions with a posting in the currency (a transfer is
-- on two lines but is one transaction), for a whole currency's total.
CREATE TABLE activity_period_currencies (
  network_id      uuid NOT NULL,
  last_sequence   bigint NOT NULL,
  currency_code   text NOT NULL,
  transactions    integer NOT NULL CHECK (transactions > 0),
  PRIMARY KEY (network_id, currency_code, last_sequence),
  FOREIGN KEY (network_id, last_sequence) REFERENCES activity_periods (network_id, last_sequence)
);
