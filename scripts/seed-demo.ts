import 'reflect-metadata';
import { join, relative } from 'node:path';
import { type AppConfig, loadConfig } from '../src/config/config';
import { adminSecret } from '../src/identity/admin-secret';
import { connectToLedger } from './demo/connect';
import { AUDITOR, type DemoKeysFile, ensureKeys, issueNewKeys, readKeysFile, writeKeysFile } from './demo/demo-keys';
import { allNodes, ensureAccounts, ensureCurrencies, ensureMemberships, ensureParties, idOf } from './demo/directory';
import { MEMBERS, OFFERS, ORGANISATIONS, REQUESTS, TIME_BANK } from './demo/network';
import { demoNetworks } from './demo/networks';
import { secondNetworkLine, seedSecondNetwork } from './demo/second-network';
import { printSummary } from './demo/summary';
import { runTimeline, timelineSize } from './demo/timeline';
import { postListings, welcomeGrants } from './demo/welcome';
import type { GqlClient } from './lib/gql-client';
import { Progress } from './lib/progress';

/**
 * `npm run seed:demo`: fills the ledger with a demo network, through the API like any client
 * (every value moved goes through the posting module), and prints what it made and one key per
 * role. Safe to run again: a finished demo is left as it is and summarised; an interrupted one
 * is finished, each step asking for exactly what it asked before, so the ledger's idempotency
 * returns the first results instead of posting twice. See scripts/demo/connect.ts for how the
 * ledger is found (a running `npm start`, LEDGER_URL, or a service the seed starts itself).
 */
const STEPS = 10;
const out = (line: string) => process.stdout.write(`${line}\n`);

async function findTimeBank(admin: GqlClient): Promise<string | undefined> {
  const communities = await allNodes<{ id: string; name: string }>(admin, 'parties', 'id name', 'kind: COMMUNITY');
  return communities.find((party) => party.name === TIME_BANK.name)?.id;
}

async function seed(admin: GqlClient, second: GqlClient | undefined, keysPath: string): Promise<DemoKeysFile> {
  const progress = new Progress(STEPS);
  let step = progress.step(
    'Registering the time bank, the co-op, the credit union, the land trust and members',
    ORGANISATIONS.length + MEMBERS.length,
  );
  const parties = await ensureParties(admin, step, (timeBankId) => {
    // Written before anything else, so an interrupted run is recognised as this machine's.
    const known = readKeysFile(keysPath);
    if (known?.ledger !== timeBankId) writeKeysFile(keysPath, { ledger: timeBankId, complete: false, keys: {} });
  });
  const file = readKeysFile(keysPath) ?? { ledger: idOf(parties, TIME_BANK.name), complete: false, keys: {} };
  const save = () => writeKeysFile(keysPath, file);
  await ensureMemberships(admin, parties, progress.step('Linking members to their organisations'));
  await ensureCurrencies(admin, parties, progress.step('Creating the currencies'));
  const directory = await ensureAccounts(admin, parties, progress.step('Opening accounts'));
  const keys = await ensureKeys(admin, parties, file, save, progress.step('Issuing API keys'));
  const anchor = await welcomeGrants(keys, directory, progress.step('Welcome hours', MEMBERS.length));
  const listings = await postListings(keys, directory, progress.step('Posting offers and requests', OFFERS.length + REQUESTS.length));
  step = progress.step('Six weeks of exchanges, deposits and splits', timelineSize());
  await runTimeline({ admin, keys, directory, ...listings, anchor }, step);
  step = progress.step('A second, smaller community in its own network', second ? 14 : undefined);
  if (second) await seedSecondNetwork(second, step);
  else step.done('skipped: the admin key cannot create networks');
  file.complete = true;
  save();
  progress.step('Checking the ledger').done('see below');
  return file;
}

async function run(config: AppConfig, newKeys: boolean): Promise<void> {
  const ledger = await connectToLedger(config, (line) => out(`  ${line}`));
  try {
    out(`Using ${ledger.how}.`);
    const networks = await demoNetworks(ledger.admin, join(config.dataDir, 'demo-networks.json'));
    out(`The demo goes into ${networks.where}.`);
    const demoAdmin = networks.demo;
    const keysPath = join(config.dataDir, 'demo-keys.json');
    const shownPath = relative(process.cwd(), keysPath).startsWith('..') ? keysPath : relative(process.cwd(), keysPath);
    const timeBankId = await findTimeBank(demoAdmin);
    let keys = readKeysFile(keysPath);
    if (keys && keys.ledger !== timeBankId) keys = undefined;
    if (timeBankId && keys?.complete) {
      out(`The demo network is already in this ledger, complete. Nothing was changed.`);
    } else if (timeBankId && !keys) {
      out(`A demo network is already in this ledger, made by a run whose keys are not in ${shownPath}. Nothing was changed.`);
      if (newKeys) {
        const parties = new Map((await allNodes<{ id: string; name: string }>(demoAdmin, 'parties', 'id name')).map((p) => [p.name, p.id]));
        keys = await issueNewKeys(demoAdmin, parties, timeBankId);
        writeKeysFile(keysPath, keys);
        out('Issued a new set of example keys (--new-keys).');
      }
    } else {
      if (timeBankId) out('Finishing the demo network an earlier run started.');
      keys = await seed(demoAdmin, networks.second, keysPath);
    }
    const admin = await adminSecret(config);
    const auditorKey = keys?.keys[AUDITOR];
    await printSummary({
      reader: auditorKey ? demoAdmin.as(auditorKey) : demoAdmin,
      mover: demoAdmin,
      keys,
      coordinator: networks.second ? demoAdmin.key : undefined,
      second: networks.second ? { line: await secondNetworkLine(networks.second), key: networks.second.key } : undefined,
      keysFile: shownPath,
      adminWhere: admin?.generated ? admin.secret : '(the value of ADMIN_API_KEY)',
      url: ledger.started ? `http://localhost:${config.port || 4000}/graphql (after \`npm start\`)` : ledger.url,
      out,
    });
  } finally {
    await ledger.stop();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    out(
      'npm run seed:demo [-- --new-keys]\n\nFills the ledger with a demo network (see README). --new-keys issues a new set of example keys for a demo made earlier.',
    );
    return;
  }
  const started = Date.now();
  out('Seeding the demo network …');
  await run(loadConfig(), args.includes('--new-keys'));
  out(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}

main().catch((error: unknown) => {
  process.stderr.write(`\nThe demo seed stopped: ${error instanceof Error ? error.message : String(error)}\n`);
  process.stderr.write('Run `npm run seed:demo` again when the cause is fixed: it finishes what is missing and posts nothing twice.\n');
  process.exit(1);
});
