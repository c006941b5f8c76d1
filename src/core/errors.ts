/**
 * The one error catalog. Every error a user can cause is created here, with a stable code,
 * an HTTP-style status and a message that says what was wrong and what to do.
 * The same error becomes a 1/KP `/error` reply (`statusCode`, `reasonPhrase`) over MQTT
 * and a problem body (`status`, `code`, `message`) over HTTP, so a mistake reads the same everywhere.
 *
 * One entry per meaning: a code belongs to exactly one entry below, so a client can branch on it
 * (test/core/error-catalog.test.ts walks the catalog). A new error is one new line in `errors`;
 * its code joins the `ErrorCode` union by itself.
 */
export class TetherError extends Error {
  override readonly name = 'TetherError';
  constructor(
    readonly code: ErrorCode,
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A catalog factory; its code and status can be read without making an error. */
export interface CatalogEntry<C extends string = string, A extends unknown[] = never[]> {
  (...args: A): TetherError;
  readonly code: C;
  readonly status: number;
}

function entry<const C extends string, A extends unknown[]>(code: C, status: number, message: (...args: A) => string): CatalogEntry<C, A> {
  return Object.assign((...args: A) => new TetherError(code as string as ErrorCode, status, message(...args)), { code, status });
}

/** An entry for failures inside Tether: a fixed message, the details kept as the cause (for the log). */
function causedEntry<const C extends string>(code: C, status: number, message: string): CatalogEntry<C, [cause?: unknown]> {
  return Object.assign((cause?: unknown) => new TetherError(code as string as ErrorCode, status, message, { cause }), { code, status });
}

export function isTetherError(err: unknown): err is TetherError {
  return err instanceof TetherError;
}

const q = (value: string) => JSON.stringify(value);

export const errors = {
  // --- 1/KP routing ------------------------------------------------------
  notKpTopic: entry('KP_TOPIC_INVALID', 400, (topic: string) =>
    `Topic ${q(topic)} is not a 1/KP topic. Use kp1/<appVersion>/<extension>/<endpointToken>/<resource>[/<requestId>].`),
  unknownAppVersion: entry('APP_VERSION_NOT_FOUND', 404, (name: string) =>
    `Application version ${q(name)} does not exist. Use an existing version's name (GET /api/v1/applications/{name}/versions lists them), or create the version in the config file or over REST.`),
  extensionNotEnabled: entry('EXTENSION_NOT_ENABLED', 404, (instance: string, appVersion: string) =>
    `Extension instance ${q(instance)} is not enabled for application version ${q(appVersion)}. Enable it for the version, or use one of its enabled extensions.`),
  unknownResource: entry('RESOURCE_NOT_FOUND', 404, (extension: string, path: string) =>
    `Extension ${q(extension)} has no resource ${q(path)}. See the extension's protocol for the supported resource paths.`),
  extensionUnavailable: entry('EXTENSION_UNAVAILABLE', 404, (instance: string) =>
    `Extension instance ${q(instance)} is enabled for this application version, but this server does not provide that extension. Remove it from the version or map it to a supported extension type.`),
  subscriptionDenied: entry('SUBSCRIPTION_DENIED', 403, (filter: string) =>
    `Subscription ${q(filter)} is not allowed. Subscribe to response topics of your own requests: kp1/<appVersion>/<extension>/<endpointToken>/...`),
  topicTooLong: entry('KP_TOPIC_TOO_LONG', 400, (maxLength: number) =>
    `Topic is longer than ${maxLength} characters (limits.maxTopicLength). Use shorter names and tokens.`),
  topicTooDeep: entry('KP_TOPIC_TOO_DEEP', 400, (maxLevels: number) =>
    `Topic has more than ${maxLevels} levels (limits.maxTopicLevels). Use a topic with fewer levels.`),
  packetTooLarge: entry('MQTT_PACKET_TOO_LARGE', 413, (maxBytes: number) =>
    `MQTT packet is larger than ${maxBytes} bytes (limits.maxPacketSize). Send smaller payloads.`),
  mqttPacketMalformed: entry('MQTT_PACKET_MALFORMED', 400, (problem: string) =>
    `MQTT packet is malformed: ${problem}. Use a client that follows MQTT 3.1.1 or 5.0.`),
  tooManyConnections: entry('TOO_MANY_CONNECTIONS', 503, (what: string, max: number) =>
    `Too many MQTT connections ${what} (at most ${max}). Close idle connections and retry later.`),
  requestIdInvalid: entry('REQUEST_ID_INVALID', 400, (value: string) =>
    `Request ID ${q(value)} is out of range. Use a positive integer below 2^53.`),

  // --- tokens (Kaa CM) -----------------------------------------------------
  tokenInvalid: entry('TOKEN_INVALID', 400, () =>
    'Endpoint token is malformed. Use a token of 1-256 characters without "+", "#", "/", "." or control characters.'),
  tokenUnknown: entry('TOKEN_UNKNOWN', 401, () =>
    'Endpoint token is not known to this application. Create an endpoint (or issue a token) and use the token it returns.'),
  tokenSuspended: entry('TOKEN_SUSPENDED', 403, () =>
    'Endpoint token is suspended. Ask an operator to reactivate it.'),
  tokenRevoked: entry('TOKEN_REVOKED', 403, () =>
    'Endpoint token is revoked and can never be used again. Issue a new token for the endpoint.'),
  tokenTaken: entry('TOKEN_CONFLICT', 409, () =>
    'That endpoint token is already used in this application. Choose another token or leave it out to have one generated.'),
  tokenNotFound: entry('TOKEN_NOT_FOUND', 404, (tokenId: string) =>
    `Token ${q(tokenId)} does not exist for this endpoint. List the endpoint's tokens to find its ID.`),
  tokenTransitionInvalid: entry('TOKEN_STATE_CONFLICT', 409, (from: string, action: string) =>
    `A ${from} token cannot be ${action.replace(/e?$/, 'ed')}. Revoked tokens are final; issue a new token instead.`),

  // --- client credentials (Kaa CM client authentication) -----------------------
  clientCredentialNotFound: entry('CLIENT_CREDENTIAL_NOT_FOUND', 404, (id: string) =>
    `Client credential ${q(id)} does not exist. List client credentials with GET /cm/api/v1/client-credentials.`),
  clientCredentialTaken: entry('CLIENT_CREDENTIAL_CONFLICT', 409, (what: string) =>
    `${what} is already used by another client credential. Choose another one, or delete the old credential first.`),
  clientCredentialTransitionInvalid: entry('CLIENT_CREDENTIAL_STATE_CONFLICT', 409, (from: string, action: string) =>
    `A ${from} client credential cannot be ${action.replace(/e?$/, 'ed')}. Revoked credentials are final; create a new credential instead.`),
  clientCertificateInvalid: entry('CERTIFICATE_INVALID', 400, (problem: string) =>
    `The client certificate cannot be used: ${problem}. Send a PEM-encoded X.509 certificate or its SHA-256 fingerprint (64 hex digits).`),
  clientAuthRequired: entry('CLIENT_AUTH_REQUIRED', 401, (applicationName: string, mode: string) =>
    `Application ${q(applicationName)} requires ${mode} client authentication. Connect with ${mode === 'x509' ? 'a client certificate' : 'the username and password'} of one of its client credentials.`),
  clientCredentialForbidden: entry('CLIENT_CREDENTIAL_FORBIDDEN', 403, (applicationName: string, mode: string) =>
    `This connection's client credential is not a ${mode} credential of application ${q(applicationName)}. Connect with one of that application's credentials.`),
  endpointNotBound: entry('ENDPOINT_NOT_BOUND', 403, () =>
    `This connection's client credential is bound to other endpoints. Use a token of a bound endpoint, or bind the endpoint to the credential.`),

  // --- payloads ------------------------------------------------------------
  payloadNotJson: entry('PAYLOAD_NOT_JSON', 400, (what: string) =>
    `Payload is not valid UTF-8 JSON. Send ${what}.`),
  payloadInvalid: entry('PAYLOAD_INVALID', 400, (what: string, problem: string) =>
    `Payload is not ${what}: ${problem}. Send ${what}.`),

  // --- metadata (10/EPMP) ---------------------------------------------------
  metadataKeyInvalid: entry('METADATA_KEY_INVALID', 400, (key: string) =>
    `Metadata key ${q(key)} is invalid. Use a key that matches ^[a-zA-Z0-9_]+$.`),
  metadataKeyReadDenied: entry('METADATA_KEY_READ_DENIED', 403, (key: string) =>
    `Metadata key ${q(key)} is not readable by devices of this application version. Leave it out of the request.`),
  metadataKeyWriteDenied: entry('METADATA_KEY_WRITE_DENIED', 403, (key: string) =>
    `Metadata key ${q(key)} is not writable by devices of this application version. Leave it out of the request.`),
  metadataKeyNotFound: entry('METADATA_KEY_NOT_FOUND', 404, (key: string) =>
    `Endpoint has no metadata key ${q(key)}. Read the endpoint's metadata to see the keys it has.`),
  metadataTooManyKeys: entry('METADATA_TOO_MANY_KEYS', 400, (max: number) =>
    `The change would leave the endpoint with more than ${max} metadata keys. Delete keys you no longer need, or raise limits.maxMetadataKeys.`),
  metadataValueTooLarge: entry('METADATA_VALUE_TOO_LARGE', 413, (key: string, maxBytes: number) =>
    `Metadata value of ${q(key)} is larger than ${maxBytes} bytes of JSON. Send a smaller value, or raise limits.maxMetadataValueBytes.`),
  metadataValueTooDeep: entry('METADATA_VALUE_TOO_DEEP', 400, (key: string, maxDepth: number) =>
    `Metadata value of ${q(key)} nests deeper than ${maxDepth} levels. Flatten the value, or raise limits.maxMetadataDepth.`),

  // --- time series (Kaa EPTS) ----------------------------------------------------
  timeSeriesLimit: entry('TIME_SERIES_LIMIT', 400, (endpointId: string, has: number, adding: number, max: number) =>
    `Endpoint ${q(endpointId)} has ${has} time series; these data points would add ${adding} more, beyond the limit of ${max} per endpoint. Send fewer distinct fields (extract-all makes a series of every numeric or boolean field), or define the series you need and turn extract-all off.`),
  timeSeriesNotDefined: entry('TIME_SERIES_NOT_DEFINED', 400, (applicationName: string, name: string) =>
    `Application ${q(applicationName)} has no time series ${q(name)}. Define it with PUT /api/v1/applications/${applicationName}/time-series, or use an "auto~<field>" name.`),
  endpointNotInApplication: entry('ENDPOINT_NOT_IN_APPLICATION', 404, (endpointId: string, applicationName: string) =>
    `Endpoint ${q(endpointId)} belongs to another application, not ${q(applicationName)}. Write to the endpoint's own application, or list that application's endpoints with GET /epr/api/v1/endpoints.`),

  // --- registry (Kaa EPR) -----------------------------------------------------
  endpointNotFound: entry('ENDPOINT_NOT_FOUND', 404, (id: string) =>
    `Endpoint ${q(id)} does not exist. List endpoints with GET /epr/api/v1/endpoints.`),
  endpointIdTaken: entry('ENDPOINT_CONFLICT', 409, (id: string) =>
    `Endpoint ${q(id)} already exists. Choose another endpointId or leave it out to have one generated.`),
  endpointIdInvalid: entry('ENDPOINT_ID_INVALID', 400, (id: string) =>
    `Endpoint ID ${q(id)} is invalid. Use 1-128 characters from A-Z a-z 0-9 _ . : -.`),

  // --- applications ------------------------------------------------------------
  applicationNotFound: entry('APPLICATION_NOT_FOUND', 404, (name: string) =>
    `Application ${q(name)} does not exist. List applications with GET /api/v1/applications.`),
  applicationTaken: entry('APPLICATION_CONFLICT', 409, (name: string) =>
    `Application ${q(name)} already exists. Choose another name, or use the existing application.`),
  appVersionTaken: entry('APP_VERSION_CONFLICT', 409, (name: string) =>
    `Application version ${q(name)} already exists. Choose another name, or use the existing version.`),
  nameInvalid: entry('NAME_INVALID', 400, (what: string, name: string) =>
    `${what} name ${q(name)} is invalid. Use a name that matches ^[a-z0-9_-]+$.`),

  // --- API ------------------------------------------------------------------------
  unauthorized: entry('UNAUTHORIZED', 401, () =>
    'Authentication required. Send "Authorization: Bearer <API key>" (the admin API key or a named key) or sign in to the dashboard.'),
  apiKeyInvalid: entry('API_KEY_INVALID', 401, () =>
    'The API key sent in "Authorization: Bearer …" is not a key of this server (mistyped, cut short, or from another server or data directory). Send the admin API key (<data-dir>/admin-api-key) or a named key of this server.'),
  apiKeyRevoked: entry('API_KEY_REVOKED', 401, (name: string, revokedDate: string) =>
    `The API key ${q(name)} was revoked on ${revokedDate}. Create a new key (npx tether api-keys create, or the dashboard's API keys page) and send that one.`),
  crossSiteRequest: entry('CROSS_SITE_REQUEST', 403, () =>
    'The request came from another site. Use the dashboard served by this server.'),
  passwordChangeNeedsUser: entry('PASSWORD_CHANGE_NEEDS_USER', 403, () =>
    'Only a signed-in user has a password to change. API keys are replaced, not changed: create a new key and revoke this one.'),
  validation: entry('VALIDATION_FAILED', 400, (problem: string) =>
    `Request is invalid: ${problem}. Correct the request (see /api/docs) and send it again.`),
  notFound: entry('NOT_FOUND', 404, (what: string) =>
    `${what} does not exist. Check the path; the REST API is listed at /api/docs.`),
  pathSegmentTooLong: entry('PATH_SEGMENT_TOO_LONG', 414, (limitChars: number) =>
    `A part of the request path is longer than ${limitChars} characters. Check the path (see /api/docs); a metadata key that long is read with the whole document (GET …/metadata).`),
  pathNotDecodable: entry('PATH_INVALID', 400, () =>
    'The request path has an invalid percent-encoding (% must be followed by two hex digits of valid UTF-8). Encode names with encodeURIComponent and send it again.'),
  payloadTooLarge: entry('PAYLOAD_TOO_LARGE', 413, (limitBytes: number) =>
    `Request body is larger than ${limitBytes} bytes. Send a smaller body.`),
  unsupportedMediaType: entry('UNSUPPORTED_MEDIA_TYPE', 415, (contentType: string, expected: string) =>
    `Content-Type ${q(contentType)} is not supported here. Send ${expected}.`),
  patchTestFailed: entry('PATCH_CONFLICT', 409, (index: number) =>
    `JSON Patch operation ${index} ("test") failed: the metadata has changed. Read it again and rebuild the patch.`),
  // A block of known length says that length and who can lift it, not "shortly".
  rateLimited: entry('RATE_LIMITED', 429, (what: string, block?: { minutes: number; liftedBy: string }) =>
    typeof block === 'object' && block !== null
      ? `Too many ${what}: blocked for ${block.minutes} more min. Wait, or ask ${block.liftedBy} to lift the block now.`
      : `Too many ${what}. Slow down and try again shortly.`),

  // --- configuration and start-up (one line each: the CLI prints the message alone) ----------
  configInvalid: entry('CONFIG_INVALID', 400, (source: string, problem: string) =>
    `Invalid ${source}: ${problem}. Correct it and try again.`),
  portInUse: entry('PORT_IN_USE', 409, (what: string, port: number, flag: string, env: string) =>
    `${what} port ${port} is in use. Start with ${flag} <port> (or ${env}).`),
  // `fix` is required: only the caller knows which setting chose the address.
  listenFailed: entry('LISTEN_FAILED', 500, (what: string, address: string, problem: string, fix: string) =>
    `${what} cannot listen on ${address}: ${problem}. ${fix}`),
  dataDirUnusable: entry('DATA_DIR_UNUSABLE', 500, (dir: string, problem: string) =>
    `Data directory ${q(dir)} cannot be used: ${problem}. Start with --data-dir <dir> (or TETHER_DATA_DIR).`),
  schemaTooNew: entry('SCHEMA_TOO_NEW', 500, (what: string, found: number, supported: number) =>
    `${what} schema version ${found} is newer than this Tether (${supported}). Upgrade Tether, or point it at a database this version created.`),
  tlsFileUnreadable: entry('TLS_FILE_UNREADABLE', 400, (what: string, file: string, problem: string, flag: string, env: string) =>
    `TLS ${what} file ${q(file)} cannot be read: ${problem}. Point ${flag} (or ${env}) at a readable PEM file.`),
  tlsMaterialInvalid: entry('TLS_INVALID', 400, (problem: string) =>
    `TLS: ${problem}. Fix the certificate and key, then start Tether again (or reload them with SIGHUP).`),

  // --- dashboard -------------------------------------------------------------------
  signInFailed: entry('SIGN_IN_FAILED', 401, () =>
    'Username or password is wrong. Lost the password? An admin can reset it, or on the server run: npx tether admin reset-password --user <name>.'),
  adminPasswordTooShort: entry('ADMIN_PASSWORD_INVALID', 400, (min: number) =>
    `The admin password must be at least ${min} characters. Set a longer TETHER_ADMIN_PASSWORD.`),

  // --- accounts, roles, API keys (docs/accounts.md) ----------------------------------------
  roleTooLow: entry('FORBIDDEN', 403, (needed: string, who: string, role: string) =>
    `This needs the ${needed} role; ${who} has the ${role} role. Ask an admin to change the role, or use an API key with the ${needed} role.`),
  userNotFound: entry('USER_NOT_FOUND', 404, (username: string) =>
    `User ${q(username)} does not exist. List users with GET /api/v1/users (npx tether users list).`),
  userTaken: entry('USER_CONFLICT', 409, (username: string) =>
    `User ${q(username)} already exists. Choose another username, or change that user's role or password.`),
  usernameInvalid: entry('USERNAME_INVALID', 400, (username: string) =>
    `Username ${q(username)} is invalid. Use 1-64 characters from a-z 0-9 _ . @ -.`),
  passwordTooShort: entry('PASSWORD_INVALID', 400, (min: number) =>
    `The password must be at least ${min} characters. Choose a longer one.`),
  passwordWrong: entry('PASSWORD_WRONG', 403, () =>
    'The current password is wrong. Type it again, or ask an admin to reset your password.'),
  lastAdmin: entry('LAST_ADMIN', 409, () =>
    'This is the last admin: there must always be one. Make another user admin first.'),
  apiKeyNotFound: entry('API_KEY_NOT_FOUND', 404, (keyId: string) =>
    `API key ${q(keyId)} does not exist or is already revoked. List API keys with GET /api/v1/api-keys.`),
  apiKeyNameInvalid: entry('API_KEY_NAME_INVALID', 400, (name: string) =>
    `API key name ${q(name)} is invalid. Use 1-64 characters from A-Z a-z 0-9 space _ . : -.`),

  // --- command line (tether endpoints/tokens/device talking to a server) -------------------
  apiUnreachable: entry('API_UNREACHABLE', 503, (url: string, problem: string) =>
    `Cannot reach the Tether API at ${url} (${problem}). Is \`npx tether start\` running? Point elsewhere with --api <url>.`),
  apiKeyMissing: entry('API_KEY_MISSING', 401, (file: string) =>
    `No admin API key: pass --api-key <key> or set TETHER_API_KEY (a local server keeps its key in ${file}; use --data-dir if it runs elsewhere).`),
  mqttUnreachable: entry('MQTT_UNREACHABLE', 503, (address: string, problem: string) =>
    `Cannot connect to the MQTT server at ${address} (${problem}). Is \`npx tether start\` running? Use --host and --port to point elsewhere.`),
  apiAnswered: entry('API_ERROR', 502, (status: number, detail: string) =>
    `The API answered HTTP ${status}${detail ? `: ${detail}` : ''}. Check the server's log, or check that --api points at a Tether server of this version.`),

  // --- configurations (Kaa ECR, 7/CMP) and commands (Kaa CEX, 11/CEP) -------------------
  configurationNotFound: entry('CONFIGURATION_NOT_FOUND', 404, (what: string) =>
    `${what} has no configuration. Set one with PUT, or list what exists with GET …/configurations.`),
  configurationNameInvalid: entry('CONFIGURATION_NAME_INVALID', 400, (name: string) =>
    `Configuration name ${q(name)} is invalid. Use 1-64 characters from A-Z a-z 0-9 _ - (7/CMP), or leave it out (or say "default") for the default configuration.`),
  configurationChanged: entry('CONFIGURATION_PRECONDITION_FAILED', 412, (current: string | undefined) =>
    current === undefined ? 'If-Match names a configuration that does not exist (any more). GET it first, then retry without If-Match to create it.' : `The configuration changed since you read it (its ETag is now "${current}"). GET it again, merge your change, and retry with the new ETag in If-Match.`),
  configurationInvalid: entry('CONFIGURATION_INVALID', 400, (problem: string) =>
    `The configuration does not match the application version's configuration schema: ${problem}. Fix the document, or change the schema.`),
  configurationSchemaInvalid: entry('CONFIGURATION_SCHEMA_INVALID', 400, (problem: string) =>
    `The configuration schema is not a usable JSON Schema: ${problem}. Fix the schema and send it again.`),
  commandTypeInvalid: entry('COMMAND_TYPE_INVALID', 400, (type: string) =>
    `Command type ${q(type)} is invalid. Use 1-64 characters from A-Z a-z 0-9 _ - (11/CEP: a non-empty alphanumeric string).`),
  commandNotFound: entry('COMMAND_NOT_FOUND', 404, (what: string) =>
    `${what} does not exist (finished commands are removed after the retention period). List commands with GET /cex/api/v1/endpoints/commands?endpointId=<id>.`),
  commandTaskNotFound: entry('COMMAND_TASK_NOT_FOUND', 404, (taskId: string) =>
    `Batch task ${q(taskId)} does not exist. List tasks with GET /cex/api/v1/endpoints/commands/batch/tasks.`),
  commandResultUnknown: entry('COMMAND_RESULT_UNKNOWN', 404, (ids: readonly number[], commandType: string) =>
    `No ${q(commandType)} command with ID ${ids.join(', ')} is waiting for this endpoint. Report results only for commands received on …/command/${commandType}; expired ones no longer take a result.`),
  commandParameterInvalid: entry('COMMAND_PARAMETER_INVALID', 400, (name: string, problem: string) =>
    `Query parameter ${name} ${problem}. Correct it (see /api/docs) and send the request again.`),

  // --- software versions (Kaa OTAO, cmx_ota) --------------------------------------------
  softwareNotFound: entry('SOFTWARE_NOT_FOUND', 404, (applicationName: string, version: string) =>
    `Application ${q(applicationName)} has no software version ${q(version)}. List its versions with GET /otao/api/v1/applications/${applicationName}/software.`),
  softwareTaken: entry('SOFTWARE_CONFLICT', 409, (applicationName: string, version: string) =>
    `Application ${q(applicationName)} already has software version ${q(version)}. Change it with PUT …/software/${version}, or use another version.`),
  softwareInvalid: entry('SOFTWARE_INVALID', 400, (problem: string) =>
    `The software version is invalid: ${problem}. Correct it and send it again.`),

  // --- rollouts (docs/software.md, "Rollouts") ----------------------------------------------
  rolloutNotFound: entry('ROLLOUT_NOT_FOUND', 404, (rolloutId: string) =>
    `Rollout ${q(rolloutId)} does not exist. List an application's rollouts with GET /otao/api/v1/applications/<appName>/rollouts.`),
  rolloutInvalid: entry('ROLLOUT_INVALID', 400, (problem: string) =>
    `The rollout is invalid: ${problem}. Correct it and send it again.`),
  rolloutStateConflict: entry('ROLLOUT_STATE_CONFLICT', 409, (rolloutId: string, state: string, action: string, allowed: string) =>
    `Rollout ${q(rolloutId)} is ${state}: only a ${allowed} rollout can be ${action}. Read its state with GET /otao/api/v1/rollouts/${rolloutId}; start a new rollout to offer the version again.`),
  // --- software packages (Kaa OTAO, issue 14; docs/software.md) -------------------------
  packageTooLarge: entry('PACKAGE_TOO_LARGE', 413, (maxBytes: number) =>
    `The package is larger than ${maxBytes} bytes (${Math.round(maxBytes / 1048576)} MB, TETHER_PACKAGE_MAX_MB). Upload a smaller file, or raise TETHER_PACKAGE_MAX_MB (packages.maxMb in the config file) and restart.`),
  packageNotFound: entry('PACKAGE_NOT_FOUND', 404, (applicationName: string, version: string) =>
    `Software version ${q(version)} of application ${q(applicationName)} has no package. Send one with PUT /otao/api/v1/applications/${applicationName}/software/${version}/package, or check the version.`),
  packageChanged: entry('PACKAGE_CHANGED', 409, (applicationName: string, version: string) =>
    `The package of ${q(applicationName)} version ${q(version)} was replaced or deleted while it was being read. Retry the download from the start (its ETag tells the new file apart).`),
  packageTokenMissing: entry('PACKAGE_TOKEN_MISSING', 401, () =>
    'A package download needs credentials. Add ?token=<endpoint token> (or send "Authorization: Bearer <endpoint token>"), or use the signed URL the device got on cmx_ota.'),
  packageUrlExpired: entry('PACKAGE_URL_EXPIRED', 403, (expiredAt: string) =>
    `This signed package URL expired at ${expiredAt}. Ask for the software again on cmx_ota (…/cmx_ota/<token>/config/json) to get a fresh URL, or download with ?token=<endpoint token>.`),
  packageSignatureInvalid: entry('PACKAGE_SIGNATURE_INVALID', 403, () =>
    'The signature of this package URL does not match (the URL was changed or cut short). Use the URL exactly as the device got it on cmx_ota, or download with ?token=<endpoint token>.'),
  packageRangeUnsatisfiable: entry('RANGE_NOT_SATISFIABLE', 416, (range: string, size: number) =>
    `Range ${q(range)} is outside the package (${size} bytes). Ask for bytes within 0-${Math.max(0, size - 1)}, e.g. "Range: bytes=<bytes you have>-" to resume.`),

  // --- several nodes (PostgreSQL, NATS) ---------------------------------------------
  dependencyUnreachable: entry('DEPENDENCY_UNREACHABLE', 503, (what: string, url: string, problem: string, setting: string) =>
    `Cannot reach ${what} at ${url}: ${problem}. Start it, or point Tether elsewhere with ${setting}.`),

  // --- storage ------------------------------------------------------------------------
  // 507 Insufficient Storage: the write was not stored; a device retries it, nothing was acknowledged.
  storageFull: causedEntry('STORAGE_FULL', 507, 'The server\'s storage is full, so this write was not stored. Retry later; the operator has to free space on the filesystem of the data directory (see docs/operations.md, "The disk fills up").'),

  // --- everything else ----------------------------------------------------------
  internal: causedEntry('INTERNAL', 500, 'The server failed to process the request. It was logged; try again, and report it if it persists.'),
  unavailable: causedEntry('UNAVAILABLE', 503, 'The server is shutting down or its storage is unavailable. Retry shortly.'),
} as const;

/** Every code a TetherError can carry: one per catalog entry. */
export type ErrorCode = (typeof errors)[keyof typeof errors]['code'];

const STATUS_BY_CODE: ReadonlyMap<string, number> = new Map(Object.values(errors).map((e: CatalogEntry<string, never>) => [e.code, e.status]));

export function isErrorCode(code: string): code is ErrorCode {
  return STATUS_BY_CODE.has(code);
}

/**
 * A problem body (`{status, code, message}`) or an error from a worker thread back as the catalog
 * error it was made from; undefined when the code is not one of this catalog's with its status.
 */
export function revive(problem: { code: string; status: number; message: string }): TetherError | undefined {
  return isErrorCode(problem.code) && STATUS_BY_CODE.get(problem.code) === problem.status
    ? new TetherError(problem.code, problem.status, problem.message)
    : undefined;
}

/**
 * SQLite's SQLITE_FULL (also from the writer thread, where only the code survives), a file
 * system's ENOSPC or PostgreSQL's disk_full: the filesystem holding the data has no room left.
 */
export function isNoSpace(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  // 53100: PostgreSQL's disk_full.
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === '53100';
}

/** A write refused for a full disk, as the catalog error or as the storage's own error. */
export function isStorageFull(err: unknown): boolean {
  return (isTetherError(err) && err.code === 'STORAGE_FULL') || isNoSpace(err);
}

/** Anything thrown that is not a TetherError is an internal error (its details stay in the log), unless the disk was full. */
export function toTetherError(err: unknown): TetherError {
  if (isTetherError(err)) return err;
  return isNoSpace(err) ? errors.storageFull(err) : errors.internal(err);
}
