/**
 * A warm Lambda container for the benchmarks: a Node.js process, started with the flags Lambda's
 * runtime gives a function of its memory size (bench/lambda.ts), that loads one BUNDLED handler once
 * and then runs the invocations it is sent over IPC, one at a time, as Lambda does.
 *
 * Plain JavaScript on purpose: a TypeScript harness would load Node's type stripper into the very
 * process whose memory is measured.
 *
 * Each answer carries the invocation's peak RSS: the kernel's high-water mark of this process
 * (VmHWM), reset when the invocation starts (`/proc/self/clear_refs`, "5"), so it is the most this
 * container held during that invocation, whatever earlier ones left behind. `getrusage`'s maxRSS
 * cannot be reset and, in a child process, also counts the parent it was forked from.
 *
 * Usage: node <flags> lambda-container.cjs <bundle.js>; messages `{ id, event, timeoutMs }`.
 */
const { readFileSync, writeFileSync } = require('node:fs');

const status = () => {
  try {
    return readFileSync('/proc/self/status', 'utf8');
  } catch {
    return '';
  }
};
/** The peak RSS (kB) since the last reset; `resettable` tells whether resets work here. */
const peakRssKb = () => Number(/VmHWM:\s+(\d+) kB/.exec(status())?.[1] ?? process.resourceUsage().maxRSS);
const resetPeak = () => {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
};

const { handler } = require(process.argv[2]);
const loadedKb = peakRssKb();
let containerPeakKb = loadedKb;
let invocations = 0;

process.on('message', async (message) => {
  const resettable = resetPeak();
  invocations++;
  const started = performance.now();
  const context = {
    functionName: 'bench-poll',
    functionVersion: '$LATEST',
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: `bench-${process.pid}-${invocations}`,
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:111111111111:function:bench-poll',
    // Whole milliseconds, as Lambda's context gives them.
    getRemainingTimeInMillis: () => Math.floor(message.timeoutMs - (performance.now() - started)),
  };
  const answer = (result) => {
    const peakKb = peakRssKb();
    containerPeakKb = Math.max(containerPeakKb, peakKb);
    const { heapTotal, heapUsed } = process.memoryUsage();
    process.send({
      id: message.id,
      ...result,
      memory: { peakKb, resettable, containerPeakKb, loadedKb, heapTotal, heapUsed, invocations },
    });
  };
  try {
    answer({ output: await handler(message.event, context) });
  } catch (error) {
    answer({ error: { name: error?.name ?? 'Error', message: error?.message ?? String(error) } });
  }
});
process.send({ ready: true, loadedKb });
