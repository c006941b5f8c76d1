/**
 * The REST API fuzzed route by route, from its own OpenAPI document. Path parameters are real
 * names and IDs (so requests reach the handlers behind the look-ups) or junk. Queries and bodies
 * are the operation's own fields with values of any type, arbitrary JSON, or not JSON at all.
 *
 * Every answer must be below 500. Every refusal must be the documented `{status, code, message}`.
 * A 5xx here is Tether's own failure on a request an operator's script could send.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, it } from '../helpers/test.js';
import { httpCall } from '../helpers/http.js';
import { tempDir } from '../helpers/tmp.js';
import { api, createEndpoint, start, testConfig } from '../platform/helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

interface Operation {
  method: string;
  path: string;
  query: string[];
  body: string[] | undefined;
}

interface OpenApi {
  paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }>; requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> } }>>;
}

function operationsOf(spec: OpenApi): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(spec.paths)) {
    // The dashboard's static files and its live event stream are not request/response routes.
    if (path === '/' || path === '/{*}' || path.endsWith('/events')) continue;
    for (const [method, op] of Object.entries(methods)) {
      const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      const bodySchema = op.requestBody?.content?.['application/json']?.schema;
      operations.push({ method: method.toUpperCase(), path, query, body: bodySchema ? Object.keys(bodySchema.properties ?? {}) : undefined });
    }
  }
  return operations;
}

const junk = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('..', '%2F', '%00', '%E0%A4%A', ' ', '0', '-1', '1e99', '9007199254740993', 'null', 'true', '{}', '[]', '__proto__', 'constructor', 'a'.repeat(300), '😀', "' OR 1=1 --"),
);
const anyJson = fc.jsonValue({ maxDepth: 3 });
const queryValue = fc.oneof(junk, fc.integer().map(String), fc.constantFrom('asc', 'desc', 'ACTIVE', 'name', 'model', '10', '0', '-5', 'true', 'false'));

describe('REST API fuzzed from its OpenAPI document (bounded)', () => {
  it(`every route answers junk with a 4xx {status, code, message} or a success, never a 5xx (seed ${SEED})`, { timeout: Math.max(120_000, RUNS * 200) }, async (t) => {
    const running = await start(t, await testConfig(tempDir(t)));
    const endpoint = await createEndpoint(running, { metadata: { model: 'A300' } });
    const tokens = await api<Array<{ tokenId: string }>>(running, 'GET', `/cm/api/v1/endpoints/${endpoint.endpointId}/tokens`);
    const command = await api<{ id: number }>(running, 'POST', `/cex/api/v1/endpoints/${endpoint.endpointId}/commands/reboot?awaitTimeout=0`, {});
    assert.ok(command.status < 300);
    const software = await api(running, 'POST', '/otao/api/v1/applications/demo_application/software', { version: '1.0.0', upgradableFrom: '*', specification: {} });
    assert.ok(software.status < 300, JSON.stringify(software.body));
    // Callers of every kind: each role's key, no key, a wrong key. Refusals must be as well-formed as answers.
    const keyOf = async (role: string) => (await api<{ key: string }>(running, 'POST', '/api/v1/api-keys', { name: `fuzz-${role}`, role })).body.key;
    const callers = [running.adminApiKey, running.adminApiKey, await keyOf('operator'), await keyOf('viewer'), '', 'not-a-key'];
    const spec = (await httpCall(running, 'GET', '/api/openapi.json', { auth: running.adminApiKey })).json as OpenApi;
    const operations = operationsOf(spec);
    assert.ok(operations.length > 50, `${operations.length} operations in the OpenAPI document`);
    assert.ok(callers.every((key) => typeof key === 'string'), 'API keys created');

    const real: Record<string, string[]> = {
      endpointId: [endpoint.endpointId],
      tokenId: Array.isArray(tokens.body) ? tokens.body.map((x) => x.tokenId) : [],
      applicationName: ['demo_application'],
      appName: ['demo_application'],
      versionName: ['demo_application_v1'],
      appVersionName: ['demo_application_v1'],
      commandType: ['reboot'],
      commandId: [String(command.body.id)],
      key: ['model'],
      version: ['1.0.0'],
      username: ['admin'],
    };
    // RAW: values go into the path as they are (broken percent-encodings, slashes); the rest encoded.
    const rawJunk = fc.constantFrom('%E0%A4%A', '%zz', '%', '%C0%AF', 'a%2Fb', '..%2F..', 'a/b', '%00').map((v) => `RAW:${v}`);
    const pathValue = (name: string) => fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...(real[name] ?? ['x'])) }, { weight: 2, arbitrary: junk }, { weight: 1, arbitrary: rawJunk });
    const body = (fields: string[] | undefined) =>
      fc.oneof(
        { weight: 4, arbitrary: fc.dictionary(fc.constantFrom(...(fields && fields.length > 0 ? fields : ['x'])), anyJson, { maxKeys: 6 }).map((o) => JSON.stringify(o)) },
        { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
        { weight: 1, arbitrary: fc.constantFrom('', '{', '{"a":1,}', 'null', '[', '{"__proto__":{"x":1}}', '\u0000') },
      );
    const request = fc.constantFrom(...operations).chain((op) =>
      fc.record({
        op: fc.constant(op),
        params: fc.tuple(...[...op.path.matchAll(/\{(\w+)\}/g)].map((m) => pathValue(m[1]!)), fc.constant('')),
        query: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...(op.query.length > 0 ? op.query : ['q'])), fc.string({ maxLength: 6 })), queryValue), { maxLength: 3 }),
        body: op.method === 'GET' || op.method === 'DELETE' ? fc.constant(undefined) : body(op.body),
        auth: fc.constantFrom(...callers),
      }),
    );

    await fc.assert(
      fc.asyncProperty(request, async ({ op, params, query, body: sent, auth }) => {
        let i = 0;
        const segment = (value: string) => (value.startsWith('RAW:') ? value.slice(4) : encodeURIComponent(value));
        const path = op.path.replace(/\{\w+\}/g, () => segment(params[i++]!));
        const search = new URLSearchParams(query).toString();
        const url = search === '' ? path : `${path}?${search}`;
        const reply = await httpCall(running, op.method, url, { auth, ...(sent !== undefined && { body: sent }) });
        const what = `${auth === running.adminApiKey ? 'admin' : callers.indexOf(auth)} ${op.method} ${url}${sent === undefined ? '' : ` ${sent.slice(0, 200)}`} → ${reply.status} ${reply.text.slice(0, 300)}`;
        assert.ok(reply.status < 500, what);
        if (reply.status >= 400) {
          const error = reply.json as { status?: unknown; code?: unknown; message?: unknown } | undefined;
          assert.ok(error?.status === reply.status && typeof error.code === 'string' && typeof error.message === 'string' && error.message.length > 0, `not {status, code, message}: ${what}`);
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });
});
