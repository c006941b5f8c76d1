import fs from 'node:fs';

/**
 * Started detached by engines.ts: waits for the test runner (argv[2]) to exit, then stops the
 * engine (argv[3]) and removes the run directory (argv[4]). Exists so an engine never outlives
 * the run, even when a test file crashes or the runner is interrupted.
 */
const [runner, engine, dir] = process.argv.slice(2).map(String) as [string, string, string];

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const timer = setInterval(() => {
  if (alive(Number(runner))) return;
  clearInterval(timer);
  const pid = Number(engine);
  // SIGINT is PostgreSQL's fast shutdown; nats-server stops on it too.
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    // already gone
  }
  const deadline = Date.now() + 10_000;
  const wait = setInterval(() => {
    if (alive(pid) && Date.now() < deadline) return;
    clearInterval(wait);
    if (alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    // Both engines share the directory: the last watchdog out removes it.
    try {
      const others = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
      const stillRunning = others.some((f) => {
        try {
          const info = JSON.parse(fs.readFileSync(`${dir}/${f}`, 'utf8')) as { pid?: number };
          return info.pid !== undefined && info.pid !== pid && alive(info.pid);
        } catch {
          return false;
        }
      });
      if (!stillRunning) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }, 100);
}, 500);
