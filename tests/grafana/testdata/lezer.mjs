// Parses LogQL and TraceQL queries with Grafana's own lezer grammars, the
// ones its query editors use, and reports every error node.
//
// stdin:  [{"lang": "logql" | "traceql", "query": "..."}, ...]
// stdout: [{"errors": [{"from": n, "to": n, "text": "..."}]}, ...] (same order)
//
// GRAFANA_LEZER_DIR is the node_modules directory holding
// @grafana/lezer-logql and @grafana/lezer-traceql (make installs them under
// .tools/node/node_modules).
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.GRAFANA_LEZER_DIR;
if (!dir || !existsSync(join(dir, '@grafana', 'lezer-logql')) || !existsSync(join(dir, '@grafana', 'lezer-traceql'))) {
  console.error(`GRAFANA_LEZER_DIR=${dir ?? ''} does not hold @grafana/lezer-logql and @grafana/lezer-traceql`);
  process.exit(2);
}
// Resolve the packages from that directory, not from this script's.
const require = createRequire(join(dir, 'resolve.cjs'));
const parsers = {
  logql: require('@grafana/lezer-logql').parser,
  traceql: require('@grafana/lezer-traceql').parser,
};

const input = JSON.parse(readFileSync(0, 'utf8'));
const out = input.map(({ lang, query }) => {
  const parser = parsers[lang];
  if (!parser) {
    return { errors: [{ from: 0, to: 0, text: `unknown language ${lang}` }] };
  }
  const errors = [];
  parser.parse(query).iterate({
    enter: (node) => {
      if (node.type.isError) {
        errors.push({ from: node.from, to: node.to, text: query.slice(Math.max(0, node.from - 10), node.to + 10) });
      }
    },
  });
  return { errors };
});
process.stdout.write(JSON.stringify(out));
