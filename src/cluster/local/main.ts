import { parseArgs } from 'node:util';
import { startLocalCluster } from './cluster.js';

/**
 * `npm run cluster [-- --nodes 3 --mqtt-port 1883 --keep]`: PostgreSQL, NATS, N Tether nodes and
 * an MQTT balancer from Debian's packages, until Ctrl+C. See docs/operations.md.
 */
const { values } = parseArgs({
  options: { nodes: { type: 'string', default: '3' }, 'mqtt-port': { type: 'string', default: '0' }, keep: { type: 'boolean', default: false }, 'log-level': { type: 'string', default: 'warn' } },
});
const nodes = Number(values.nodes);
if (!Number.isInteger(nodes) || nodes < 1 || nodes > 16) {
  console.error('--nodes: use a whole number from 1 to 16');
  process.exit(2);
}
const log = (line: string) => console.log(line);
try {
  const cluster = await startLocalCluster({ nodes, shared: true, mqttPort: Number(values['mqtt-port']), keep: values.keep, logLevel: values['log-level'], log });
  log('');
  log(`PostgreSQL:  ${cluster.databaseUrl}`);
  log(`NATS:        ${cluster.natsUrl}`);
  log(`MQTT (any node, round-robin): mqtt://127.0.0.1:${cluster.balancer.port}`);
  log(`Admin API key: ${cluster.adminApiKey}    dashboard: user admin, password ${cluster.adminPassword}`);
  log(`Data and logs: ${cluster.dir}${values.keep ? ' (kept)' : ' (removed at exit)'}`);
  log('Press Ctrl+C to stop.');
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    log('stopping…');
    void cluster.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (err) {
  console.error(`Cannot start the local cluster: ${(err as Error).message}`);
  process.exit(1);
}
