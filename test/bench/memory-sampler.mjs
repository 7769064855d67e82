// Preloaded into a gateway by memory-probe.ts: samples process.memoryUsage() every 50 ms and writes the
// maxima, and the heap spaces at the RSS peak, to MEMPROBE_OUT every 500 ms.
import { renameSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';
const out = process.env.MEMPROBE_OUT;
const max = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
let atPeak = null;
setInterval(() => {
  const m = process.memoryUsage();
  for (const k of Object.keys(max)) if (m[k] > max[k]) max[k] = m[k];
  if (m.rss >= max.rss)
    atPeak = {
      ...m,
      spaces: v8
        .getHeapSpaceStatistics()
        .map((s) => [
          s.space_name,
          Math.round(s.space_size / 2 ** 20),
          Math.round(s.space_used_size / 2 ** 20),
        ]),
    };
}, 50).unref();
setInterval(() => {
  writeFileSync(out + '.tmp', JSON.stringify({ max, atPeak }));
  renameSync(out + '.tmp', out);
}, 500).unref();
