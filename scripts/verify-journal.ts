import { readFileSync } from 'node:fs';
import { verifyJournal } from '../src/ledger/query/journal-verifier';

/**
 * `npm run verify -- FILE` (or `-` for standard input): checks an exported hledger journal
 * offline, without the service: every transaction's hash, the links between consecutive
 * transactions, that what hledger reads is what was hashed, the balance assertions, and the seal.
 * Exit status 0 when the journal is intact, 1 when a problem is found, 2 on a usage error.
 */
function main(): number {
  const file = process.argv[2];
  if (!file || process.argv.length > 3) {
    process.stderr.write('usage: npm run verify -- FILE   (FILE is an hledger export; - reads standard input)\n');
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    process.stderr.write(`cannot read ${file}: ${(error as Error).message}\n`);
    return 2;
  }
  const result = verifyJournal(text);
  const out = (line: string) => process.stdout.write(line + '\n');
  if (!result.ok) {
    out(`${file}: NOT OK`);
    out(`  ${result.problem}`);
    return 1;
  }
  out(`${file}: OK`);
  out(
    `  currency ${result.currency}: ${result.transactions} transactions` +
      (result.transactions > 0 ? ` (#${result.firstSequence} to #${result.lastSequence})` : ''),
  );
  out('  every hash recomputed from its hash input, and every transaction written exactly as its hashed content says');
  out(`  links checked: ${result.linksChecked}; gaps where the file skips sequences (other currencies or accounts): ${result.gaps}`);
  if (result.transactions > 0) {
    out(`  first transaction links to: ${result.firstPreviousHash}`);
    out(`  last hash:                  ${result.lastHash}`);
    out("  compare the last hash with the ledger's (transaction(id) { hash } or a later export) to tie this file to it");
  }
  out(
    `  ${result.assertions} closing balance assertions equal ${result.hasOpeningBalances ? 'the opening balances plus ' : ''}the postings` +
      (result.hasOpeningBalances ? ' (opening balances come from earlier history, which this file does not prove)' : ''),
  );
  out('  the seal matches: no byte changed since export, and the file is complete');
  return 0;
}

process.exitCode = main();
