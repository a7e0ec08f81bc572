import { Injectable } from '@nestjs/common';
import { Metrics } from '../../observability/metrics';
import { PostingService } from './posting.service';

/**
 * The posting module's counters on GET /metrics. The ledger registers them with the instance's
 * metrics: observability knows no feature (docs/architecture.md, the one-way doors).
 */
@Injectable()
export class PostingMetrics {
  constructor(metrics: Metrics, posting: PostingService) {
    const { stats } = posting;
    metrics.registerCounter('ledger_posting_groups_total', 'Posting groups committed (one database transaction each)', () => stats.groups);
    metrics.registerCounter('ledger_posting_commands_total', 'Commands decided by the posting module', () => stats.commands);
    metrics.registerCounter('ledger_posting_refused_total', 'Commands refused by a ledger rule', () => stats.refused);
    metrics.registerCounter('ledger_transactions_posted_total', 'Transactions posted (replays not counted)', () => stats.transactions);
    metrics.registerCounter(
      'ledger_posting_isolated_reruns_total',
      'Groups re-run command by command after an unexpected failure',
      () => stats.isolatedReruns,
    );
    metrics.registerCounter(
      'ledger_posting_idempotency_race_reruns_total',
      'Groups run again because another group recorded one of their requests after their load looked',
      () => stats.idempotencyRaceReruns,
    );
    metrics.registerCounter(
      'ledger_posting_applied_ahead_total',
      'Batch groups applied to the state the group before them was about to commit, and committed so',
      () => stats.appliedAhead,
    );
    metrics.registerCounter(
      'ledger_posting_applied_ahead_missed_total',
      'Batch groups applied ahead that found another state when they took the head, and were run again the ordinary way',
      () => stats.appliedAheadMissed,
    );
  }
}
