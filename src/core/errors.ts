/**
 * The one error catalog. Every error a user can cause is created here, with a stable code,
 * an HTTP-style status and a message that says what was wrong and what to do.
 * The same error becomes a 1/KP `/error` reply (`statusCode`, `reasonPhrase`) over MQTT
 * and a problem body (`status`, `code`, `message`) over HTTP, so a mistake reads the same everywhere.
 */
export class TetherError extends Error {
  override readonly name = 'TetherError';
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isTetherError(err: unknown): err is TetherError {
  return err instanceof TetherError;
}

const q = (value: string) => JSON.stringify(value);

export const errors = {
  // --- 1/KP routing ------------------------------------------------------
  notKpTopic: (topic: string) =>
    new TetherError('KP_TOPIC_INVALID', 400, `Topic ${q(topic)} is not a 1/KP topic. Use kp1/<appVersion>/<extension>/<endpointToken>/<resource>[/<requestId>].`),
  unknownAppVersion: (name: string) =>
    new TetherError('APP_VERSION_NOT_FOUND', 404, `Application version ${q(name)} does not exist. Check the second topic level, or create the version in the config file or over REST.`),
  extensionNotEnabled: (instance: string, appVersion: string) =>
    new TetherError('EXTENSION_NOT_ENABLED', 404, `Extension instance ${q(instance)} is not enabled for application version ${q(appVersion)}. Enable it for the version, or use one of its enabled extensions.`),
  unknownResource: (extension: string, path: string) =>
    new TetherError('RESOURCE_NOT_FOUND', 404, `Extension ${q(extension)} has no resource ${q(path)}. See the extension's protocol for the supported resource paths.`),
  extensionUnavailable: (instance: string) =>
    new TetherError('EXTENSION_UNAVAILABLE', 404, `Extension instance ${q(instance)} is enabled for this application version, but this server does not provide that extension. Remove it from the version or map it to a supported extension type.`),
  subscriptionDenied: (filter: string) =>
    new TetherError('SUBSCRIPTION_DENIED', 403, `Subscription ${q(filter)} is not allowed. Subscribe to response topics of your own requests: kp1/<appVersion>/<extension>/<endpointToken>/...`),
  topicTooLong: (maxLength: number) =>
    new TetherError('KP_TOPIC_TOO_LONG', 400, `Topic is longer than ${maxLength} characters (limits.maxTopicLength). Use shorter names and tokens.`),
  topicTooDeep: (maxLevels: number) =>
    new TetherError('KP_TOPIC_TOO_DEEP', 400, `Topic has more than ${maxLevels} levels (limits.maxTopicLevels).`),
  packetTooLarge: (maxBytes: number) =>
    new TetherError('MQTT_PACKET_TOO_LARGE', 413, `MQTT packet is larger than ${maxBytes} bytes (limits.maxPacketSize). Send smaller payloads.`),
  mqttPacketMalformed: (problem: string) =>
    new TetherError('MQTT_PACKET_MALFORMED', 400, `MQTT packet is malformed: ${problem}.`),
  tooManyConnections: (what: string, max: number) =>
    new TetherError('TOO_MANY_CONNECTIONS', 503, `Too many MQTT connections ${what} (at most ${max}). Close idle connections and retry later.`),
  requestIdInvalid: (value: string) =>
    new TetherError('REQUEST_ID_INVALID', 400, `Request ID ${q(value)} is out of range. Use a positive integer below 2^53.`),

  // --- tokens (Kaa CM) -----------------------------------------------------
  tokenInvalid: () =>
    new TetherError('TOKEN_INVALID', 400, 'Endpoint token is malformed. Tokens are 1-256 characters without "+", "#", "/", "." or control characters.'),
  tokenUnknown: () =>
    new TetherError('TOKEN_UNKNOWN', 401, 'Endpoint token is not known to this application. Create an endpoint (or issue a token) and use the token it returns.'),
  tokenSuspended: () =>
    new TetherError('TOKEN_SUSPENDED', 403, 'Endpoint token is suspended. An operator can reactivate it.'),
  tokenRevoked: () =>
    new TetherError('TOKEN_REVOKED', 403, 'Endpoint token is revoked and can never be used again. Issue a new token for the endpoint.'),
  tokenTaken: () =>
    new TetherError('TOKEN_CONFLICT', 409, 'That endpoint token is already used in this application. Choose another token or leave it out to have one generated.'),
  tokenNotFound: (tokenId: string) =>
    new TetherError('TOKEN_NOT_FOUND', 404, `Token ${q(tokenId)} does not exist for this endpoint. List the endpoint's tokens to find its ID.`),
  tokenTransitionInvalid: (from: string, action: string) =>
    new TetherError('TOKEN_STATE_CONFLICT', 409, `A ${from} token cannot be ${action.replace(/e?$/, 'ed')}. Revoked tokens are final; issue a new token instead.`),

  // --- client credentials (Kaa CM client authentication) -----------------------
  clientCredentialNotFound: (id: string) =>
    new TetherError('CLIENT_CREDENTIAL_NOT_FOUND', 404, `Client credential ${q(id)} does not exist. List client credentials with GET /cm/api/v1/client-credentials.`),
  clientCredentialTaken: (what: string) =>
    new TetherError('CLIENT_CREDENTIAL_CONFLICT', 409, `${what} is already used by another client credential. Choose another one, or delete the old credential first.`),
  clientCredentialTransitionInvalid: (from: string, action: string) =>
    new TetherError('CLIENT_CREDENTIAL_STATE_CONFLICT', 409, `A ${from} client credential cannot be ${action.replace(/e?$/, 'ed')}. Revoked credentials are final; create a new credential instead.`),
  clientCertificateInvalid: (problem: string) =>
    new TetherError('CERTIFICATE_INVALID', 400, `The client certificate cannot be used: ${problem}. Send a PEM-encoded X.509 certificate or its SHA-256 fingerprint (64 hex digits).`),
  clientAuthRequired: (applicationName: string, mode: string) =>
    new TetherError('CLIENT_AUTH_REQUIRED', 401, `Application ${q(applicationName)} requires ${mode} client authentication. Connect with ${mode === 'x509' ? 'a client certificate' : 'the username and password'} of one of its client credentials.`),
  clientCredentialForbidden: (applicationName: string, mode: string) =>
    new TetherError('CLIENT_CREDENTIAL_FORBIDDEN', 403, `This connection's client credential is not a ${mode} credential of application ${q(applicationName)}. Connect with one of that application's credentials.`),
  endpointNotBound: () =>
    new TetherError('ENDPOINT_NOT_BOUND', 403, `This connection's client credential is bound to other endpoints. Use a token of a bound endpoint, or bind the endpoint to the credential.`),

  // --- payloads ------------------------------------------------------------
  payloadNotJson: (what: string) =>
    new TetherError('PAYLOAD_INVALID', 400, `Payload is not valid UTF-8 JSON. Send ${what}.`),
  payloadInvalid: (what: string, problem: string) =>
    new TetherError('PAYLOAD_INVALID', 400, `Payload is not ${what}: ${problem}.`),

  // --- metadata (10/EPMP) ---------------------------------------------------
  metadataKeyInvalid: (key: string) =>
    new TetherError('METADATA_KEY_INVALID', 400, `Metadata key ${q(key)} is invalid. Keys match ^[a-zA-Z0-9_]+$.`),
  metadataKeyReadDenied: (key: string) =>
    new TetherError('METADATA_KEY_READ_DENIED', 403, `Metadata key ${q(key)} is not readable by devices of this application version. Leave it out of the request.`),
  metadataKeyWriteDenied: (key: string) =>
    new TetherError('METADATA_KEY_WRITE_DENIED', 403, `Metadata key ${q(key)} is not writable by devices of this application version. Leave it out of the request.`),
  metadataKeyNotFound: (key: string) =>
    new TetherError('METADATA_KEY_NOT_FOUND', 404, `Endpoint has no metadata key ${q(key)}.`),
  metadataTooManyKeys: (max: number) =>
    new TetherError('METADATA_TOO_MANY_KEYS', 400, `The change would leave the endpoint with more than ${max} metadata keys. Delete keys you no longer need, or raise limits.maxMetadataKeys.`),
  metadataValueTooLarge: (key: string, maxBytes: number) =>
    new TetherError('METADATA_VALUE_TOO_LARGE', 413, `Metadata value of ${q(key)} is larger than ${maxBytes} bytes of JSON. Send a smaller value, or raise limits.maxMetadataValueBytes.`),
  metadataValueTooDeep: (key: string, maxDepth: number) =>
    new TetherError('METADATA_VALUE_TOO_DEEP', 400, `Metadata value of ${q(key)} nests deeper than ${maxDepth} levels. Flatten the value, or raise limits.maxMetadataDepth.`),

  // --- time series (Kaa EPTS) ----------------------------------------------------
  timeSeriesLimit: (endpointId: string, has: number, adding: number, max: number) =>
    new TetherError(
      'TIME_SERIES_LIMIT',
      400,
      `Endpoint ${q(endpointId)} has ${has} time series; these data points would add ${adding} more, beyond the limit of ${max} per endpoint. Send fewer distinct fields (extract-all makes a series of every numeric or boolean field), or define the series you need and turn extract-all off.`,
    ),
  timeSeriesNotDefined: (applicationName: string, name: string) =>
    new TetherError('TIME_SERIES_NOT_DEFINED', 400, `Application ${q(applicationName)} has no time series ${q(name)}. Define it with PUT /api/v1/applications/${applicationName}/time-series, or use an "auto~<field>" name.`),
  endpointNotInApplication: (endpointId: string, applicationName: string) =>
    new TetherError('ENDPOINT_NOT_FOUND', 404, `Endpoint ${q(endpointId)} does not exist in application ${q(applicationName)}. List endpoints with GET /epr/api/v1/endpoints.`),

  // --- registry (Kaa EPR) -----------------------------------------------------
  endpointNotFound: (id: string) =>
    new TetherError('ENDPOINT_NOT_FOUND', 404, `Endpoint ${q(id)} does not exist. List endpoints with GET /epr/api/v1/endpoints.`),
  endpointIdTaken: (id: string) =>
    new TetherError('ENDPOINT_CONFLICT', 409, `Endpoint ${q(id)} already exists. Choose another endpointId or leave it out to have one generated.`),
  endpointIdInvalid: (id: string) =>
    new TetherError('ENDPOINT_ID_INVALID', 400, `Endpoint ID ${q(id)} is invalid. Use 1-128 characters from A-Z a-z 0-9 _ . : -.`),

  // --- applications ------------------------------------------------------------
  applicationNotFound: (name: string) =>
    new TetherError('APPLICATION_NOT_FOUND', 404, `Application ${q(name)} does not exist. List applications with GET /api/v1/applications.`),
  applicationTaken: (name: string) =>
    new TetherError('APPLICATION_CONFLICT', 409, `Application ${q(name)} already exists.`),
  appVersionTaken: (name: string) =>
    new TetherError('APP_VERSION_CONFLICT', 409, `Application version ${q(name)} already exists.`),
  nameInvalid: (what: string, name: string) =>
    new TetherError('NAME_INVALID', 400, `${what} name ${q(name)} is invalid. Names match ^[a-z0-9_-]+$.`),

  // --- API ------------------------------------------------------------------------
  unauthorized: () =>
    new TetherError('UNAUTHORIZED', 401, 'Authentication required. Send "Authorization: Bearer <API key>" (the admin API key or a named key) or sign in to the dashboard.'),
  forbidden: (why: string) => new TetherError('FORBIDDEN', 403, why),
  validation: (problem: string) => new TetherError('VALIDATION_FAILED', 400, `Request is invalid: ${problem}.`),
  notFound: (what: string) => new TetherError('NOT_FOUND', 404, `${what} does not exist.`),
  payloadTooLarge: (limitBytes: number) =>
    new TetherError('PAYLOAD_TOO_LARGE', 413, `Request body is larger than ${limitBytes} bytes. Send a smaller body.`),
  unsupportedMediaType: (contentType: string, expected: string) =>
    new TetherError('UNSUPPORTED_MEDIA_TYPE', 415, `Content-Type ${q(contentType)} is not supported here. Send ${expected}.`),
  patchTestFailed: (index: number) =>
    new TetherError('PATCH_CONFLICT', 409, `JSON Patch operation ${index} ("test") failed: the metadata has changed. Read it again and rebuild the patch.`),
  rateLimited: (what: string) =>
    new TetherError('RATE_LIMITED', 429, `Too many ${what}. Slow down and try again shortly.`),

  // --- configuration and start-up (one line each: the CLI prints the message alone) ----------
  configInvalid: (source: string, problem: string) =>
    new TetherError('CONFIG_INVALID', 400, `Invalid ${source}: ${problem}.`),
  portInUse: (what: string, port: number, flag: string, env: string) =>
    new TetherError('PORT_IN_USE', 409, `${what} port ${port} is in use. Start with ${flag} <port> (or ${env}).`),
  listenFailed: (what: string, address: string, problem: string, fix: string) =>
    new TetherError('LISTEN_FAILED', 500, `${what} cannot listen on ${address}: ${problem}. ${fix}`),
  dataDirUnusable: (dir: string, problem: string) =>
    new TetherError('DATA_DIR_UNUSABLE', 500, `Data directory ${q(dir)} cannot be used: ${problem}. Start with --data-dir <dir> (or TETHER_DATA_DIR).`),
  tlsFileUnreadable: (what: string, file: string, problem: string, flag: string, env: string) =>
    new TetherError('TLS_FILE_UNREADABLE', 400, `TLS ${what} file ${q(file)} cannot be read: ${problem}. Point ${flag} (or ${env}) at a readable PEM file.`),
  tlsMaterialInvalid: (problem: string) => new TetherError('TLS_INVALID', 400, `TLS: ${problem}.`),

  // --- dashboard -------------------------------------------------------------------
  signInFailed: () =>
    new TetherError('SIGN_IN_FAILED', 401, 'Username or password is wrong. Lost the password? An admin can reset it, or on the server run: npx tether admin reset-password --user <name>.'),
  adminPasswordTooShort: (min: number) =>
    new TetherError('ADMIN_PASSWORD_INVALID', 400, `The admin password must be at least ${min} characters. Set a longer TETHER_ADMIN_PASSWORD.`),

  // --- accounts, roles, API keys (docs/accounts.md) ----------------------------------------
  roleTooLow: (needed: string, who: string, role: string) =>
    new TetherError('FORBIDDEN', 403, `This needs the ${needed} role; ${who} has the ${role} role. Ask an admin to change the role, or use an API key with the ${needed} role.`),
  userNotFound: (username: string) =>
    new TetherError('USER_NOT_FOUND', 404, `User ${q(username)} does not exist. List users with GET /api/v1/users (npx tether users list).`),
  userTaken: (username: string) =>
    new TetherError('USER_CONFLICT', 409, `User ${q(username)} already exists. Choose another username, or change that user's role or password.`),
  usernameInvalid: (username: string) =>
    new TetherError('USERNAME_INVALID', 400, `Username ${q(username)} is invalid. Use 1-64 characters from a-z 0-9 _ . @ -.`),
  passwordTooShort: (min: number) =>
    new TetherError('PASSWORD_INVALID', 400, `The password must be at least ${min} characters. Choose a longer one.`),
  passwordWrong: () =>
    new TetherError('PASSWORD_WRONG', 403, 'The current password is wrong. Type it again, or ask an admin to reset your password.'),
  lastAdmin: () =>
    new TetherError('LAST_ADMIN', 409, 'This is the last admin: there must always be one. Make another user admin first.'),
  apiKeyNotFound: (keyId: string) =>
    new TetherError('API_KEY_NOT_FOUND', 404, `API key ${q(keyId)} does not exist or is already revoked. List API keys with GET /api/v1/api-keys.`),
  apiKeyNameInvalid: (name: string) =>
    new TetherError('API_KEY_NAME_INVALID', 400, `API key name ${q(name)} is invalid. Use 1-64 characters from A-Z a-z 0-9 space _ . : -.`),

  // --- command line (tether endpoints/tokens/device talking to a server) -------------------
  apiUnreachable: (url: string, problem: string) =>
    new TetherError('API_UNREACHABLE', 503, `Cannot reach the Tether API at ${url} (${problem}). Is \`npx tether start\` running? Point elsewhere with --api <url>.`),
  apiKeyMissing: (file: string) =>
    new TetherError('API_KEY_MISSING', 401, `No admin API key: pass --api-key <key> or set TETHER_API_KEY (a local server keeps its key in ${file}; use --data-dir if it runs elsewhere).`),
  mqttUnreachable: (address: string, problem: string) =>
    new TetherError('MQTT_UNREACHABLE', 503, `Cannot connect to the MQTT server at ${address} (${problem}). Is \`npx tether start\` running? Use --host and --port to point elsewhere.`),

  // --- configurations (Kaa ECR, 7/CMP) and commands (Kaa CEX, 11/CEP) -------------------
  configurationNotFound: (what: string) =>
    new TetherError('CONFIGURATION_NOT_FOUND', 404, `${what} has no configuration. Set one with PUT, or list what exists with GET …/configurations.`),
  configurationNameInvalid: (name: string) =>
    new TetherError('CONFIGURATION_NAME_INVALID', 400, `Configuration name ${q(name)} is invalid. Use 1-64 characters from A-Z a-z 0-9 _ - (7/CMP), or leave it out (or say "default") for the default configuration.`),
  configurationChanged: (current: string | undefined) =>
    new TetherError('CONFIGURATION_PRECONDITION_FAILED', 412, current === undefined ? 'If-Match names a configuration that does not exist (any more). GET it first, then retry without If-Match to create it.' : `The configuration changed since you read it (its ETag is now "${current}"). GET it again, merge your change, and retry with the new ETag in If-Match.`),
  configurationInvalid: (problem: string) =>
    new TetherError('CONFIGURATION_INVALID', 400, `The configuration does not match the application version's configuration schema: ${problem}. Fix the document, or change the schema.`),
  configurationSchemaInvalid: (problem: string) =>
    new TetherError('CONFIGURATION_SCHEMA_INVALID', 400, `The configuration schema is not a usable JSON Schema: ${problem}.`),
  commandTypeInvalid: (type: string) =>
    new TetherError('COMMAND_TYPE_INVALID', 400, `Command type ${q(type)} is invalid. Use 1-64 characters from A-Z a-z 0-9 _ - (11/CEP: a non-empty alphanumeric string).`),
  commandNotFound: (what: string) =>
    new TetherError('COMMAND_NOT_FOUND', 404, `${what} does not exist (finished commands are removed after the retention period). List commands with GET /cex/api/v1/endpoints/commands?endpointId=<id>.`),
  commandTaskNotFound: (taskId: string) =>
    new TetherError('COMMAND_TASK_NOT_FOUND', 404, `Batch task ${q(taskId)} does not exist. List tasks with GET /cex/api/v1/endpoints/commands/batch/tasks.`),
  commandResultUnknown: (ids: readonly number[], commandType: string) =>
    new TetherError('COMMAND_RESULT_UNKNOWN', 404, `No ${q(commandType)} command with ID ${ids.join(', ')} is waiting for this endpoint. Report results only for commands received on …/command/${commandType}; expired ones no longer take a result.`),
  commandParameterInvalid: (name: string, problem: string) =>
    new TetherError('COMMAND_PARAMETER_INVALID', 400, `Query parameter ${name} ${problem}.`),

  // --- several nodes (PostgreSQL, NATS) ---------------------------------------------
  dependencyUnreachable: (what: string, url: string, problem: string, setting: string) =>
    new TetherError('DEPENDENCY_UNREACHABLE', 503, `Cannot reach ${what} at ${url}: ${problem}. Start it, or point Tether elsewhere with ${setting}.`),

  // --- everything else ----------------------------------------------------------
  internal: (cause?: unknown) =>
    new TetherError('INTERNAL', 500, 'The server failed to process the request. It was logged; try again, and report it if it persists.', { cause }),
  unavailable: (cause?: unknown) =>
    new TetherError('UNAVAILABLE', 503, 'The server is shutting down or its storage is unavailable. Retry shortly.', { cause }),
} as const;

/** Anything thrown that is not a TetherError is an internal error: its details stay in the log. */
export function toTetherError(err: unknown): TetherError {
  return isTetherError(err) ? err : errors.internal(err);
}
