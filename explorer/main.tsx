/**
 * The GraphQL explorer served by the ledger at GET /graphql (for browsers): GraphiQL, bundled
 * with everything it needs at build time (scripts/build-explorer.ts), plus a bar to paste an API
 * key and a sidebar of example operations for each role.
 */
import './setup-workers';
import 'graphiql/style.css';
import './explorer.css';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { type GraphiQLPlugin, useGraphiQL, useGraphiQLActions } from '@graphiql/react';
import { GraphiQL } from 'graphiql';
import { createContext, type FormEvent, useContext, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { type Example, ROLE_GUIDES, type RoleName, WELCOME_QUERY } from './examples';
import { loadKey, saveKey } from './key-store';

/** The API is served at the address of this page (normally /graphql). */
const endpoint = `${window.location.origin}${window.location.pathname}`;
const subscriptionEndpoint = endpoint.replace(/^http/, 'ws');

type Identity =
  | { readonly state: 'none' }
  | { readonly state: 'checking' }
  | { readonly state: 'ok'; readonly role: RoleName; readonly party: string | null }
  | { readonly state: 'refused'; readonly message: string }
  | { readonly state: 'unreachable'; readonly message: string };

interface MeResponse {
  data?: { me?: { role: RoleName; party: { name: string } | null } };
  errors?: { message: string; extensions?: { code?: string } }[];
}

async function whoIs(key: string): Promise<Identity> {
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: '{ me { role party { name } } }' }),
    });
  } catch {
    return { state: 'unreachable', message: `Cannot reach the ledger at ${endpoint}: is \`npm start\` still running?` };
  }
  const body = (await response.json().catch(() => ({}))) as MeResponse;
  const me = body.data?.me;
  if (me) return { state: 'ok', role: me.role, party: me.party?.name ?? null };
  const error = body.errors?.[0];
  return { state: 'refused', message: error ? `${error.message} (${error.extensions?.code ?? 'error'})` : `HTTP ${response.status}` };
}

const IdentityContext = createContext<Identity>({ state: 'none' });

function IdentityStatus({ identity }: { identity: Identity }) {
  switch (identity.state) {
    case 'none':
      return (
        <span>
          No key yet: paste one. <code>npm start</code> prints the admin key; <code>npm run seed:demo</code> prints one for each role.
        </span>
      );
    case 'checking':
      return <span>Checking the key…</span>;
    case 'ok':
      return (
        <span className="sl-ok">
          Using {/^[AEIOU]/.test(identity.role) ? 'an' : 'a'} <strong>{identity.role}</strong> key
          {identity.party ? ` for ${identity.party}` : ''}. The “Examples” panel lists what it can do.
        </span>
      );
    case 'refused':
      return <span className="sl-problem">This key was refused: {identity.message}.</span>;
    case 'unreachable':
      return <span className="sl-problem">{identity.message}</span>;
  }
}

function KeyBar({ apiKey, onChange, identity }: { apiKey: string; onChange: (key: string) => void; identity: Identity }) {
  const [draft, setDraft] = useState(apiKey);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onChange(draft.trim());
  };
  return (
    <form className="sl-keybar" onSubmit={submit}>
      <span className="sl-title">Solidarity Ledger</span>
      <label htmlFor="sl-api-key">API key</label>
      <input
        id="sl-api-key"
        type="password"
        autoComplete="off"
        spellCheck={false}
        placeholder="sl_…"
        value={draft}
        onChange={(event) => setDraft(event.target.value)}
      />
      <button type="submit" id="sl-use-key">
        Use key
      </button>
      <button
        type="button"
        id="sl-forget-key"
        onClick={() => {
          setDraft('');
          onChange('');
        }}
      >
        Forget
      </button>
      <output id="sl-key-status" aria-live="polite">
        <IdentityStatus identity={identity} />
      </output>
    </form>
  );
}

function ExamplesPanel() {
  const identity = useContext(IdentityContext);
  const queryEditor = useGraphiQL((state) => state.queryEditor);
  const variableEditor = useGraphiQL((state) => state.variableEditor);
  const actions = useGraphiQLActions();
  const open = (example: Example) => {
    // An empty tab is reused; otherwise the example opens in a new tab, so no work is lost.
    if (queryEditor && queryEditor.getValue().trim() !== '') actions.addTab();
    queryEditor?.setValue(example.query);
    variableEditor?.setValue(example.variables ? JSON.stringify(example.variables, null, 2) : '');
    // The editor learns the operation name a moment after an edit; a run before then must not
    // send the previous tab's operation name.
    const name = /^(?:query|mutation|subscription)\s+(\w+)/m.exec(example.query)?.[1];
    if (name) actions.setOperationName(name);
  };
  const role = identity.state === 'ok' ? identity.role : undefined;
  const guides = role ? [...ROLE_GUIDES].sort((a, b) => Number(b.role === role) - Number(a.role === role)) : ROLE_GUIDES;
  return (
    <div className="sl-examples">
      <div className="graphiql-doc-explorer-title">Examples</div>
      <p>Each role's main tasks. Click one to open it, fill in the variables, then run it.</p>
      {guides.map((guide) => (
        <details key={guide.role} open={role === undefined || guide.role === role} data-role={guide.role}>
          <summary>
            {guide.role}
            {guide.role === role ? ' (your key)' : ''}
          </summary>
          <p className="sl-who">{guide.who}</p>
          <ul>
            {guide.examples.map((example) => (
              <li key={example.title}>
                <button type="button" className="sl-example" onClick={() => open(example)}>
                  {example.title}
                </button>
              </li>
            ))}
          </ul>
        </details>
      ))}
    </div>
  );
}

function ExamplesIcon() {
  return (
    <svg viewBox="0 0 24 24" width="1em" height="1em" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.5">
      <path d="M5 4h11l3 3v13H5z" />
      <path d="M8 10h8M8 13h8M8 16h5" />
    </svg>
  );
}

const examplesPlugin: GraphiQLPlugin = { title: 'Examples', icon: ExamplesIcon, content: ExamplesPanel };

function Explorer() {
  const [apiKey, setApiKey] = useState(loadKey);
  const [identity, setIdentity] = useState<Identity>(apiKey ? { state: 'checking' } : { state: 'none' });

  useEffect(() => {
    saveKey(apiKey);
    if (!apiKey) {
      setIdentity({ state: 'none' });
      return;
    }
    let current = true;
    setIdentity({ state: 'checking' });
    void whoIs(apiKey).then((result) => current && setIdentity(result));
    return () => {
      current = false;
    };
  }, [apiKey]);

  const fetcher = useMemo(() => {
    const authorization = apiKey ? { authorization: `Bearer ${apiKey}` } : undefined;
    return createGraphiQLFetcher({
      url: endpoint,
      subscriptionUrl: subscriptionEndpoint,
      headers: authorization,
      wsConnectionParams: authorization,
      enableIncrementalDelivery: false,
    });
  }, [apiKey]);

  return (
    <IdentityContext.Provider value={identity}>
      <div className="sl-explorer">
        <KeyBar apiKey={apiKey} onChange={setApiKey} identity={identity} />
        <div className="sl-graphiql">
          <GraphiQL
            fetcher={fetcher}
            plugins={[examplesPlugin]}
            visiblePlugin={examplesPlugin}
            defaultQuery={WELCOME_QUERY}
            defaultEditorToolsVisibility="variables"
            shouldPersistHeaders={false}
          >
            <GraphiQL.Logo>Solidarity Ledger</GraphiQL.Logo>
          </GraphiQL>
        </div>
      </div>
    </IdentityContext.Provider>
  );
}

const root = document.getElementById('explorer');
if (root) createRoot(root).render(<Explorer />);
