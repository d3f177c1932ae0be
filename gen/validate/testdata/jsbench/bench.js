// Throughput of the reference JavaScript validator on the shared corpus, for comparison with
// BenchmarkCorpus. Run outside the module:
//   mkdir /tmp/jsbench && cd /tmp/jsbench && npm install @thing-description-playground/core@1.4.0
//   node /path/to/gen/validate/testdata/jsbench/bench.js /path/to/shared/corpus
// JSON-LD and TM-conformance checks are off (both need the network; wotgen validate does neither).
const fs = require('fs'), path = require('path');
const { tdValidator, tmValidator } = require(require.resolve('@thing-description-playground/core', { paths: [process.cwd()] }));
const root = process.argv[2] || '../shared/corpus';
const files = [];
for (const sub of ['td/valid', 'td/invalid', 'tm']) {
  for (const f of fs.readdirSync(path.join(root, sub)).sort()) {
    if (f.endsWith('.json')) files.push([sub, fs.readFileSync(path.join(root, sub, f), 'utf8')]);
  }
}
const opts = { checkDefaults: true, checkJsonLd: false, checkTmConformance: false };
(async () => {
  const t0 = process.hrtime.bigint();
  for (const [sub, s] of files) {
    const fn = sub === 'tm' ? tmValidator : tdValidator;
    // Some inputs make the validator's promise never settle; give each file 5 s at most.
    await Promise.race([fn(s, () => {}, opts).catch(() => {}), new Promise(r => setTimeout(r, 5000))]);
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${files.length} files in ${s.toFixed(1)} s: ${(files.length / s).toFixed(1)} files/s`);
  process.exit(0);
})();
