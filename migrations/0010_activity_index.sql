-- Activity reports (SPEC B.5) sum a period's postings per account. A period is a range of
-- sequences, and this index holds exactly what the sum reads, in sequence order: a month of a
-- whole currency is one index-only range scan, however long the history before and after it.
-- It leads with network_id like every other index (each network has its own sequence).
CREATE INDEX postings_sequence ON postings (network_id, sequence) INCLUDE (account_id, amount_minor);
