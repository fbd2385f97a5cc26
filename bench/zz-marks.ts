import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { esbuildOptions } from '../lib/bundling/esbuild.ts';
const [name = '', envJson = '{}', runsArg = '7'] = process.argv.slice(2);
const outdir = '/work/wt15/cdk.out/analysis';
mkdirSync(outdir, { recursive: true });
writeFileSync(join(outdir, 'package.json'), '{"type":"commonjs"}');
await build({ ...esbuildOptions({ entry: `functions/handlers/${name}.ts`, outdir, sourceMap: false }), minify: false });
const outfile = join(outdir, 'index.js');
const lines = readFileSync(outfile, 'utf8').split('\n');
const out = ['globalThis.__marks=[];const __m=(f)=>{const u=process.cpuUsage();globalThis.__marks.push([f,(u.user+u.system)/1000])};'];
for (const l of lines) { const m = l.match(/^\/\/ ((?:node_modules|functions|lib)\/\S+)$/); if (m) out.push(`__m(${JSON.stringify(m[1].replace(/node_modules\/((?:@[^/]+\/)?[^/]+).*/, '$1'))});`); out.push(l); }
out.push('__m("(end)");');
writeFileSync(outfile, out.join('\n'));
const env = { PATH: process.env.PATH, AWS_REGION: 'us-east-1', AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', AWS_LAMBDA_FUNCTION_NAME: 'b', LAMBDA_TASK_ROOT: '/var/task', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', ...JSON.parse(envJson) };
const acc: Record<string, number[]> = {}; const totals: number[] = [];
for (let r = 0; r < Number(runsArg); r++) {
  const p = spawnSync(process.execPath, ['-e', `const u0=process.cpuUsage();const t=(u0.user+u0.system)/1000;require(${JSON.stringify(outfile)});const u1=process.cpuUsage();const e=(u1.user+u1.system)/1000;const m=globalThis.__marks;const a={};for(let i=0;i<m.length-1;i++)a[m[i][0]]=(a[m[i][0]]??0)+m[i+1][1]-m[i][1];a['(before first)']=m[0][1]-t;console.log(JSON.stringify({total:e-t,a}))`], { env, encoding: 'utf8' });
  if (p.status) { console.log(p.stderr); process.exit(1); }
  const { total, a } = JSON.parse(p.stdout); totals.push(total);
  for (const [k, v] of Object.entries(a as Record<string, number>)) (acc[k] ??= []).push(v);
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
console.log(name, 'CPU total median', med(totals).toFixed(1));
console.log(Object.entries(acc).map(([k, v]) => [k, med(v)] as const).sort((a, b) => b[1] - a[1]).slice(0, 16).map(([k, v]) => `${v.toFixed(1)} ${k}`).join(' | '));
