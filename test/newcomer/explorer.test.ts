import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import type { Page } from 'playwright-core';
import { ROLE_GUIDES, WELCOME_QUERY } from '../../explorer/examples';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { createCurrency, createKey, openAccount, registerParty, startLedger, type TestLedger, transfer } from '../support/ledger';

/**
 * The GraphQL explorer at GET /graphql: a browser gets GraphiQL served entirely by the service
 * (no CDN), can paste a key and run queries; API clients are unaffected, and Apollo's CSRF
 * prevention still refuses simple cross-site requests.
 */
let ledger: TestLedger;
let browser: TestBrowser;

beforeAll(async () => {
  ledger = await startLedger();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await ledger?.stop();
});

function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${ledger.service.baseUrl}${path}`, { headers });
}

/** Opens the explorer and records every request the page makes and every error it reports. */
async function openExplorer(): Promise<{ page: Page; requests: string[]; problems: string[] }> {
  const page = await browser.context.newPage();
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  // The editor's completion and the Docs panel need the schema: the explorer's introspection must pass the API's limits.
  page.on('response', (response) => {
    if (!response.request().postData()?.includes('IntrospectionQuery')) return;
    if (response.status() !== 200) problems.push(`introspection refused: ${response.status()}`);
    // The body is read after the handler returns: a test may close its page first, and then the
    // answer can no longer be read (nothing to judge); any other failure to read it is a problem.
    response.text().then(
      (body) => {
        if (!body.includes('"__schema"')) problems.push(`introspection refused: ${body.slice(0, 300)}`);
      },
      (error: unknown) => {
        if (!/has been closed/.test(String(error))) problems.push(`introspection answer unreadable: ${String(error)}`);
      },
    );
  });
  await page.goto(ledger.service.url);
  await page.waitForSelector('.graphiql-container', { timeout: 30_000 });
  return { page, requests, problems };
}

/** The page's globals, seen from functions that run in the browser (this file is compiled without the DOM library). */
interface PageGlobals {
  document: { querySelector(selector: string): { textContent: string | null } | null };
  localStorage: Record<string, string>;
}

/**
 * Waits until the element's text (no-break spaces read as spaces) contains `text`, or no longer
 * does. A function, not a string: the explorer's Content-Security-Policy forbids evaluating strings.
 */
async function waitToShow(page: Page, selector: string, text: string, options: { absent?: boolean; timeout?: number } = {}): Promise<void> {
  await page.waitForFunction(
    ([css, wanted, absent]) => {
      const shown = ((globalThis as unknown as PageGlobals).document.querySelector(css)?.textContent ?? '').replace(/\u00a0/g, ' ');
      return shown.includes(wanted) !== absent;
    },
    [selector, text, options.absent ?? false] as const,
    { timeout: options.timeout ?? 10_000 },
  );
}

async function storedValues(page: Page): Promise<string[]> {
  return page.evaluate(() => Object.values((globalThis as unknown as PageGlobals).localStorage));
}

async function useKey(page: Page, key: string): Promise<string> {
  await page.fill('#sl-api-key', key);
  await page.click('#sl-use-key');
  await waitToShow(page, '#sl-key-status', 'Checking', { absent: true });
  return (await page.textContent('#sl-key-status')) ?? '';
}

/** The response pane's text; the editor draws spaces as no-break spaces and wraps long lines. */
async function responseText(page: Page): Promise<string> {
  return (await page.locator('.graphiql-response').innerText()).replace(/\u00a0/g, ' ');
}

/** JSON without any white space, to compare what the response pane shows with what is expected. */
function compact(value: unknown): string {
  return (typeof value === 'string' ? value : JSON.stringify(value)).replace(/\s+/g, '');
}

async function runAndReadResponse(page: Page, expected: string): Promise<string> {
  await page.click('.graphiql-execute-button');
  try {
    await waitToShow(page, '.graphiql-response', expected, { timeout: 15_000 });
  } catch (error) {
    await page.screenshot({ path: join(tmpdir(), 'explorer-failure.png') }).catch(() => undefined);
    throw new Error(`the response never showed "${expected}"; it shows: ${await responseText(page)}`, { cause: error });
  }
  return responseText(page);
}

describe('the preloaded examples', () => {
  test('every example of every role is a valid operation of the current schema', () => {
    const schema = buildSchema(readFileSync(join(__dirname, '..', '..', 'schema.graphql'), 'utf8'));
    const examples = [{ title: 'welcome', query: WELCOME_QUERY }, ...ROLE_GUIDES.flatMap((guide) => guide.examples)];
    expect(examples.length).toBeGreaterThan(25);
    for (const example of examples) {
      const problems = validate(schema, parse(example.query)).map((error) => error.message);
      expect({ example: example.title, problems }).toEqual({ example: example.title, problems: [] });
    }
  });
});

describe('the explorer page', () => {
  test('a browser asking for /graphql gets the explorer page, which loads only files of the service itself', async () => {
    const response = await get('/graphql', { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const html = await response.text();
    expect(html).toContain('/explorer/explorer.js');
    expect(html).toContain('/explorer/explorer.css');
    expect(html).not.toMatch(/https?:\/\//);
  });

  test('a GET for HTML with a query in the URL returns the page and never runs the query', async () => {
    const response = await get(`/graphql?query=${encodeURIComponent('{ me { role } }')}`, {
      accept: 'text/html',
      authorization: `Bearer ${ledger.service.adminKey}`,
    });
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(body).toMatch(/^<!doctype html>/);
    expect(body).not.toContain('ADMIN');
  });

  test('the bundled scripts, styles and editor workers are served with their types, gzipped on request', async () => {
    const expected: Record<string, RegExp> = {
      'explorer.js': /^text\/javascript/,
      'explorer.css': /^text\/css/,
      'editor.worker.js': /^text\/javascript/,
      'json.worker.js': /^text\/javascript/,
      'graphql.worker.js': /^text\/javascript/,
    };
    for (const [file, type] of Object.entries(expected)) {
      const response = await get(`/explorer/${file}`, { 'accept-encoding': 'gzip' });
      expect({ file, status: response.status }).toEqual({ file, status: 200 });
      expect(response.headers.get('content-type')).toMatch(type);
      expect(response.headers.get('content-encoding')).toBe('gzip');
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
    const etag = (await get('/explorer/explorer.css')).headers.get('etag') ?? '';
    expect((await get('/explorer/explorer.css', { 'if-none-match': etag })).status).toBe(304);
  });

  test('only files the build wrote are served: other names and paths are not found', async () => {
    for (const path of [
      '/explorer/.stamp',
      '/explorer/..%2Fpackage.json',
      '/explorer/%2E%2E%2F%2E%2E%2Fpackage.json',
      '/explorer/nope.js',
    ]) {
      expect({ path, status: (await get(path)).status }).toEqual({ path, status: 404 });
    }
  });
});

describe('the API beside the explorer', () => {
  test('POST /graphql with JSON is the API, as before', async () => {
    const data = await ledger.admin.ok<{ me: { role: string } }>('{ me { role } }');
    expect(data.me.role).toBe('ADMIN');
  });

  test('CSRF prevention still refuses a GET query without a preflight header', async () => {
    const response = await get(`/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      authorization: `Bearer ${ledger.service.adminKey}`,
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/CSRF/i);
  });

  test('CSRF prevention still refuses simple POSTs (text/plain, form-encoded) that a foreign site could send', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const response = await fetch(ledger.service.url, {
        method: 'POST',
        headers: { 'content-type': contentType, authorization: `Bearer ${ledger.service.adminKey}` },
        body: JSON.stringify({ query: '{ me { role } }' }),
      });
      const body = await response.text();
      expect({ contentType, status: response.status }).toEqual({ contentType, status: 400 });
      expect(body).not.toContain('"ADMIN"');
    }
  });
});

describe('the explorer in headless Chromium', () => {
  test('loads offline from the service alone, takes a pasted admin key and runs a query', async () => {
    const { page, requests, problems } = await openExplorer();
    expect(await useKey(page, ledger.service.adminKey)).toContain('ADMIN');
    const response = await runAndReadResponse(page, 'ADMIN');
    expect(compact(response)).toBe(compact({ data: { me: { role: 'ADMIN', party: null } } }));
    // Every request went to the service under test: nothing from a CDN.
    const origin = new URL(ledger.service.baseUrl).origin;
    expect(requests.filter((url) => !url.startsWith(origin + '/') && !url.startsWith('data:'))).toEqual([]);
    expect(requests).toContain(`${origin}/explorer/explorer.js`);
    await page.click('[aria-label="Show Documentation Explorer"]');
    await waitToShow(page, '.graphiql-plugin', 'Mutation');
    expect(problems).toEqual([]);
    await page.close();
  });

  test('the key is kept in the browser and becomes the Authorization header after a reload', async () => {
    const memberId = await registerParty(ledger.admin, 'MEMBER', 'Ana Lima');
    const memberKey = await createKey(ledger.admin, 'MEMBER', memberId);
    const { page } = await openExplorer();
    expect(await useKey(page, memberKey)).toMatch(/MEMBER key for Ana Lima/);
    await page.reload();
    await page.waitForSelector('.graphiql-container');
    await waitToShow(page, '#sl-key-status', 'MEMBER');
    expect(await storedValues(page)).toContain(memberKey);
    const response = await runAndReadResponse(page, 'Ana Lima');
    expect(compact(response)).toBe(
      compact({ data: { me: { role: 'MEMBER', party: { id: memberId, name: 'Ana Lima', kind: 'MEMBER' } } } }),
    );
    await page.click('#sl-forget-key');
    expect(await storedValues(page)).not.toContain(memberKey);
    await page.close();
  });

  test('a wrong key is refused with what to do next', async () => {
    const { page } = await openExplorer();
    const status = await useKey(page, 'sl_not-a-real-key');
    expect(status).toContain('UNAUTHENTICATED');
    expect(status).toMatch(/send the whole key as it was issued/);
    await page.click('#sl-forget-key');
    await page.close();
  });

  test('the examples panel lists each role and opens an example in the editor, ready to run', async () => {
    const { page } = await openExplorer();
    await useKey(page, ledger.service.adminKey);
    const panel = page.locator('.sl-examples');
    if (!(await panel.isVisible())) await page.click('[aria-label="Show Examples"]');
    for (const role of ['MEMBER', 'TREASURER', 'INTEGRATION', 'ADMIN', 'AUDITOR']) {
      await expect(panel.locator(`details[data-role="${role}"]`).count()).resolves.toBe(1);
    }
    // The key's own role comes first.
    expect(await panel.locator('details').first().getAttribute('data-role')).toBe('ADMIN');
    await panel.locator('details[data-role="AUDITOR"] summary').click();
    await panel.getByRole('button', { name: 'Verify the whole ledger' }).click();
    await waitToShow(page, '.graphiql-tab-active', 'Verify');
    const response = await runAndReadResponse(page, 'transactionsChecked');
    expect(compact(response)).toContain('"ok":true');
    await page.close();
  });
});

describe('the explorer and live balances', () => {
  test('a subscription example runs over WebSocket with the pasted key and shows a payment as it posts', async () => {
    await createCurrency(ledger.admin, 'LIVE', 'TIME', 2);
    const payerId = await registerParty(ledger.admin, 'MEMBER', 'Rosa Parks');
    const payeeId = await registerParty(ledger.admin, 'MEMBER', 'Ella Baker');
    const payer = await openAccount(ledger.admin, payerId, 'LIVE');
    const payee = await openAccount(ledger.admin, payeeId, 'LIVE');
    const { page, problems } = await openExplorer();
    await useKey(page, await createKey(ledger.admin, 'MEMBER', payerId));
    const panel = page.locator('.sl-examples');
    if (!(await panel.isVisible())) await page.click('[aria-label="Show Examples"]');
    await panel.getByRole('button', { name: 'Live balance (subscription)' }).click();
    await waitToShow(page, '.graphiql-tab-active', 'LiveBalance');
    // Replace the placeholder in the variables editor with the payer's account id.
    await page.click('.graphiql-editor-tool .monaco-editor');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.insertText(JSON.stringify({ accountId: payer }));
    // The editor closes brackets and quotes as they are typed: drop what it added after the cursor.
    await page.keyboard.press('Shift+End');
    await page.keyboard.press('Delete');
    await page.click('.graphiql-execute-button');
    // The subscription starts once the WebSocket is open: pay until a payment shows (the first
    // may post before the server has registered the subscription).
    let shown = false;
    for (let attempt = 1; attempt <= 10 && !shown; attempt++) {
      const posted = await transfer(ledger.admin, payer, payee, '0.25', `live-${attempt}`);
      expect(posted.errors).toBeUndefined();
      shown = await waitToShow(page, '.graphiql-response', '"sequence"', { timeout: 1500 }).then(
        () => true,
        () => false,
      );
    }
    expect(shown).toBe(true);
    const response = compact(await responseText(page));
    expect(response).toContain(compact({ amount: '-0.25', account: { id: payer, party: { name: 'Rosa Parks' } } }));
    expect(response).not.toContain('"errors"');
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('turning the explorer off', () => {
  test('with GRAPHQL_EXPLORER=false a browser gets no page and no explorer files', async () => {
    const quiet = await startLedger({ GRAPHQL_EXPLORER: 'false' });
    try {
      const page = await fetch(quiet.service.url, { headers: { accept: 'text/html' } });
      expect(page.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
      expect((await fetch(`${quiet.service.baseUrl}/explorer/explorer.js`)).status).toBe(404);
      expect((await quiet.admin.ok<{ me: { role: string } }>('{ me { role } }')).me.role).toBe('ADMIN');
    } finally {
      await quiet.stop();
    }
  });
});
