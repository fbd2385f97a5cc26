/**
 * Many simulated workspaces in one process, each a simulator on a port of its own (one workspace
 * per host:port), for `npm run bench -- --workspaces N`. Each gets the benchmark workspace's
 * clusters and failures (bench/support.ts), then four minutes pass (up to the real time). Prints one line,
 * `READY {"urls": [...], "now": <simulated ms>}`, and runs until killed.
 *
 * Arguments: <workspaces> <clusters per workspace> <token> [<ms each clusters/list page takes>].
 */

import { startSimulator } from '../lib/simulator/index.ts';
import { CRASHED, FAILED, scenario } from './support.ts';

const [workspaces = '10', clusters = '10000', token = '', pageLatencyMs = '0'] = process.argv.slice(2);
// Each simulated workspace starts four minutes ago, so that its clock, once they have passed, is the
// real one the poll function reads.
const now = Date.now() - 240_000;
const urls: string[] = [];
let simNow = now;
for (let i = 0; i < Number(workspaces); i++) {
  const sim = await startSimulator({
    scenario: scenario(now, Number(clusters)) as never,
    timeScale: 0,
    startTime: now,
    token,
  });
  for (const id of FAILED)
    sim.admin.failCluster(id, { code: 'CLOUD_PROVIDER_SHUTDOWN', type: 'CLOUD_FAILURE' });
  for (const id of CRASHED) sim.admin.crashDriver(id);
  // Databricks' own time per page, which the simulator does not otherwise spend.
  if (Number(pageLatencyMs) > 0)
    sim.admin.setFaults({ latency: { paths: ['/api/2.1/clusters/list'], ms: Number(pageLatencyMs) } });
  // Four minutes pass: past the 3 minutes a lost driver is given to heal by itself (DRIVER_HEAL_GRACE_MS).
  simNow = sim.admin.advance(240_000);
  sim.admin.resetStats();
  urls.push(sim.url);
}
process.stdout.write(`READY ${JSON.stringify({ urls, now: simNow, rss: process.memoryUsage().rss })}\n`);
