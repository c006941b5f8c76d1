import { parseFlags } from '../../config/flags.js';
import { errors } from '../../core/errors.js';
import { API_FLAGS, API_FLAGS_HELP, createApiClient } from '../api-client.js';
import type { Command } from '../command.js';
import { runAction } from '../command.js';
import { json, table } from '../format.js';
import type { Io } from '../io.js';

const CM = '/cm/api/v1';

interface TokenView {
  tokenId: string;
  endpointId: string;
  applicationName: string;
  status: string;
  createdDate: string;
  statusUpdatedDate: string;
  hint: string;
}

type StatusAction = 'suspend' | 'reactivate' | 'revoke';

const help = `Usage: npx tether tokens <list|issue|suspend|reactivate|revoke> <endpointId> [tokenId] [options]

Manage an endpoint's tokens (Kaa CM) through the REST API of a running Tether.
Plain tokens are shown only when created; listings show a hint (the last characters).

  npx tether tokens list <endpointId>
  npx tether tokens issue <endpointId> [--token <token>]      a new token (generated unless --token)
  npx tether tokens suspend <endpointId> <tokenId>            disconnects devices using it; reversible
  npx tether tokens reactivate <endpointId> <tokenId>
  npx tether tokens revoke <endpointId> <tokenId>             final: the token can never be used again

${API_FLAGS_HELP}`;

const ISSUE_FLAGS = { ...API_FLAGS, token: { type: 'string' } } as const;
const USAGE = { usage: 'see npx tether tokens --help' };

export const tokensCommand: Command = {
  name: 'tokens',
  help,
  run(argv, io) {
    return runAction(tokensCommand, {
      list: listTokens,
      issue,
      suspend: (rest, io) => changeStatus('suspend', rest, io),
      reactivate: (rest, io) => changeStatus('reactivate', rest, io),
      revoke: (rest, io) => changeStatus('revoke', rest, io),
    }, argv, io);
  },
};

function ids(positionals: string[], action: string, needToken: boolean): { endpointId: string; tokenId: string } {
  const [endpointId, tokenId] = positionals;
  const shape = needToken ? `npx tether tokens ${action} <endpointId> <tokenId>` : `npx tether tokens ${action} <endpointId>`;
  if (endpointId === undefined || endpointId === '' || (needToken && (tokenId === undefined || tokenId === ''))) {
    throw errors.configInvalid('command line', `${needToken ? 'the endpoint or token ID is' : 'the endpoint ID is'} missing; use ${shape}`);
  }
  return { endpointId, tokenId: tokenId ?? '' };
}

const tokensPath = (endpointId: string) => `${CM}/endpoints/${encodeURIComponent(endpointId)}/tokens`;

async function listTokens(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, API_FLAGS, { ...USAGE, maxPositionals: 1 });
  const { endpointId } = ids(positionals, 'list', false);
  const client = await createApiClient(values, io);
  const tokens = await client.request<TokenView[]>('GET', tokensPath(endpointId));
  if (values.json === true) {
    io.out(json(tokens));
    return 0;
  }
  if (tokens.length === 0) {
    io.out(`Endpoint ${endpointId} has no tokens. Issue one with: npx tether tokens issue ${endpointId}`);
    return 0;
  }
  const rows = tokens.map((t) => [t.tokenId, t.status, t.hint, t.createdDate, t.statusUpdatedDate]);
  for (const line of table(['TOKEN ID', 'STATUS', 'HINT', 'CREATED', 'STATUS CHANGED'], rows)) io.out(line);
  return 0;
}

async function issue(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, ISSUE_FLAGS, { ...USAGE, maxPositionals: 1 });
  const { endpointId } = ids(positionals, 'issue', false);
  const client = await createApiClient(values, io);
  const body = values.token !== undefined ? { token: values.token } : {};
  const issued = await client.request<{ tokenId: string; token: string; status: string }>('POST', tokensPath(endpointId), body);
  if (values.json === true) {
    io.out(json(issued));
    return 0;
  }
  io.out(`Token issued for endpoint ${endpointId}.`);
  io.out(`  Token ID:     ${issued.tokenId}`);
  io.out(`  Token:        ${issued.token}`);
  io.out(`  Token status: ${issued.status} (becomes ACTIVE on first use)`);
  io.out('The token is shown only this once.');
  return 0;
}

async function changeStatus(action: StatusAction, argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, API_FLAGS, { ...USAGE, maxPositionals: 2 });
  const { endpointId, tokenId } = ids(positionals, action, true);
  const client = await createApiClient(values, io);
  const token = await client.request<TokenView>('POST', `${tokensPath(endpointId)}/${encodeURIComponent(tokenId)}/${action}`);
  if (values.json === true) io.out(json(token));
  else io.out(`Token ${token.tokenId} of endpoint ${endpointId} is now ${token.status}.`);
  return 0;
}
