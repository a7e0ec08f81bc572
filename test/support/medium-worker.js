'use strict';
/*
 * The medium test layer's engine (test/support/medium.ts): the ledger's Nest modules, built in
 * process against a test database, without HTTP and without spawning the service. It runs in a
 * worker thread under Node's own module loader because Nest 12 ships ES modules, which Jest's
 * loader cannot require before Node 24.9; the test talks to it with messages.
 */
const { parentPort, workerData } = require('node:worker_threads');
const { join } = require('node:path');

const dist = (path) => require(join(workerData.root, 'dist', path));
let app;
let client;

function serialiseError(error) {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  return { name: error.name, message: error.message, code: error.code, stack: error.stack };
}

const handlers = {
  /** A named export of a built module, as data (a vocabulary's values, say). */
  async exported({ module, name }) {
    return JSON.parse(JSON.stringify(dist(module)[name]));
  },

  /** Migrates the database and builds the modules the services live in. */
  async start({ databaseUrl, env, providers = [] }) {
    require('reflect-metadata');
    const { Global, Module } = require('@nestjs/common');
    const { NestFactory } = require('@nestjs/core');
    const { Client } = require('pg');
    const { loadConfig, APP_CONFIG } = dist('src/config/config.js');
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: databaseUrl, ...env });
    client = new Client({ connectionString: databaseUrl });
    await client.connect();
    await dist('src/database/migrator.js').migrate(client);
    class MediumModule {}
    Global()(MediumModule);
    Module({
      imports: [
        dist('src/database/database.module.js').DatabaseModule.forRoot({ url: databaseUrl, directUrl: databaseUrl, poolSize: 4 }),
        dist('src/ledger/ledger-data.module.js').LedgerDataModule,
        dist('src/observability/observability.module.js').ObservabilityModule,
        dist('src/identity/identity.module.js').IdentityModule,
        dist('src/ledger/ledger.module.js').LedgerModule,
        dist('src/ledger/holds/holds.module.js').HoldsModule,
        dist('src/credit-union/credit-union.module.js').CreditUnionModule,
        dist('src/timebank/timebank.module.js').TimebankModule,
      ],
      providers: [{ provide: APP_CONFIG, useValue: config }, ...providers.map(({ module, name }) => dist(module)[name])],
      exports: [APP_CONFIG],
    })(MediumModule);
    app = await NestFactory.createApplicationContext(MediumModule, { logger: false });
    return true;
  },

  /** Calls `method` of the service exported as `name` by `module` (a path under dist/). */
  async call({ module, name, method, args }) {
    const service = app.get(dist(module)[name]);
    return service[method](...args);
  },

  /** A query on the test database, outside the services (to read what they wrote). */
  async sql({ text, params }) {
    return (await client.query(text, params)).rows;
  },

  async close() {
    await app?.close();
    await client?.end();
    return true;
  },
};

parentPort.on('message', async ({ id, kind, payload }) => {
  try {
    const value = await handlers[kind](payload);
    parentPort.postMessage({ id, ok: true, value });
  } catch (error) {
    parentPort.postMessage({ id, ok: false, error: serialiseError(error) });
  }
});
