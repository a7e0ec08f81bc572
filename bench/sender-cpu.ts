import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config';
import { deliveryRequest } from '../src/webhooks/delivery-request';
import { WebhookSender } from '../src/webhooks/webhook-sender';

/** Deliveries sent (BENCH_SENDER_DELIVERIES, default 50,000) and outstanding at once (BENCH_SENDER_DEPTH, default the pipeline depth's). */
const DELIVERIES = Number(process.env.BENCH_SENDER_DELIVERIES ?? 50_000);
const IN_FLIGHT = Number(process.env.BENCH_SENDER_DEPTH ?? loadConfig().webhookPipelineDepth);

/** The signing secret, as the dispatcher keeps it: its UTF-8 bytes. */
const SECRET = Buffer.from('whsec_bench_sender_secret_000000');
/** A transaction's payload as the service sends it (two postings), for bodies of the usual size. */
const DATA = JSON.stringify({
  transaction: {
    id: '0192f3a4-5b6c-7d8e-9f00-112233445566',
    sequence: '123456',
    kind: 'TRANSFER',
    memo: null,
    postedAt: '2026-12-01T17:00:00.123456Z',
    hash: 'a'.repeat(64),
    postings: [
      { accountId: '0192f3a4-5b6c-7d8e-9f00-112233445567', amount: '-1.00', currency: 'HOUR' },
      { accountId: '0192f3a4-5b6c-7d8e-9f00-112233445568', amount: '1.00', currency: 'HOUR' },
    ],
  },
});

/**
 * `npm run bench:sender`: the CPU the webhook sender costs per delivery, alone. This process sends
 * signed deliveries as the dispatcher does (body, signature, headers; pipelined, as many outstanding
 * as the pipeline depth)
 * to the bench's receiver running in a child process, and reads its own CPU time from Node: no
 * database, no posting load, so a change to the sender shows in microseconds per delivery rather
 * than in a throughput ratio that varies by a few percent from run to run (docs/webhooks.md, "Cost").
 */
async function main(): Promise<void> {
  const receiver = spawn(
    process.execPath,
    [
      '-e',
      `require(${JSON.stringify(join(__dirname, 'webhooks.js'))}).startCountingReceiver().then((r) => {
         console.log(r.url);
         let before = null;
         process.stdin.setEncoding('utf8').on('data', (text) => {
           if (text.startsWith('start')) { before = process.cpuUsage(); console.log('started'); return; }
           const cpu = process.cpuUsage(before);
           console.log(JSON.stringify({ received: r.received, reads: r.reads, user: cpu.user, system: cpu.system }));
           process.exit(0);
         });
       })`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = receiver.stdout.setEncoding('utf8');
  const nextLine = () => new Promise<string>((resolve) => lines.once('data', (text: string) => resolve(text.trim())));
  const url = await nextLine();
  const sender = new WebhookSender(10_000, true, 4, IN_FLIGHT);
  receiver.stdin.write('start\n');
  await nextLine();
  let started = 0;
  let delivered = 0;
  const cpuBefore = process.cpuUsage();
  const wallBefore = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    let ended = 0;
    const sendOne = (): void => {
      if (started >= DELIVERIES) return;
      const id = `00000000-0000-7000-8000-${String(started++).padStart(12, '0')}`;
      // As the sending thread does (the same function): the body encoded once, signed and sent as those bytes.
      const { body, headers } = deliveryRequest(
        { eventId: id, eventType: 'TRANSACTION_POSTED', networkId: 'n', occurredAtMs: Date.now(), data: DATA, attempts: 1 },
        SECRET,
      );
      void sender.send('bench-webhook', url, body, headers, true).then((outcome) => {
        if (outcome.statusCode === 200) delivered++;
        if (++ended === DELIVERIES) resolve();
        else sendOne();
      });
    };
    for (let i = 0; i < IN_FLIGHT; i++) sendOne();
  });
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = Number(process.hrtime.bigint() - wallBefore) / 1e6;
  sender.close();
  receiver.stdin.write('\n');
  const counted = JSON.parse(await nextLine()) as { received: number; reads: number; user: number; system: number };
  const per = (micros: number) => (micros / DELIVERIES).toFixed(1);
  process.stdout.write(
    `${DELIVERIES} deliveries, ${delivered} answered 200, ${counted.received} received in ${counted.reads} reads, in ${wallMs.toFixed(0)} ms: ` +
      `sender CPU per delivery ${per(cpu.user)} µs user, ${per(cpu.system)} µs system; ` +
      `receiver ${per(counted.user)} µs user, ${per(counted.system)} µs system\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
