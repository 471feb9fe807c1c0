/**
 * `/dashboard.js`, the page's browser module, which starts the others. It uses the public API only:
 * - the keys table (`/dashboard-keys.js`) follows `GET /sbmp/v3/watch?pattern=`;
 * - the header and the lag, memory and connection cards follow `GET /sbmp/v3/health/stream`;
 * - rates, percentiles and totals come from `GET /metrics`, fan-out and pools from
 *   `GET /debug/vars`, both read once a second;
 * - the publish form sends `PUT /sbmp/v3/state/{key}` and shows the outcome, a 409 with the
 *   key's current version included.
 * Data from the server reaches the page through `textContent` only, never as markup.
 *
 * `String.raw` source: no backtick and no dollar-brace inside.
 */
export const DASHBOARD_APP_JS = String.raw`// The SBMP dashboard: live keys, figures, health and a publish form.
import { breakable, byId, element, setText } from './dashboard-dom.js';
import {
  FigureHistory,
  formatAge,
  formatBytes,
  formatCount,
  formatMs,
  formatPercent,
  formatRate,
  formatSeconds,
  formatUptime,
  parsePrometheus,
} from './dashboard-figures.js';
import { shownSnapshot, startWatch, tickKeys } from './dashboard-keys.js';
import { LiveStream, readError } from './dashboard-stream.js';

const STATE_PATH = '/sbmp/v3/state/';
/** How often /metrics and /debug/vars are read. */
const POLL_MS = 1000;
/** Rates describe the last 5 s; percentiles the last 30 s (enough observations to mean something). */
const RATE_SPAN_MS = 5000;
const LATENCY_SPAN_MS = 30000;
const PUBLISH_RESULTS = ['applied', 'duplicate', 'stale', 'conflict', 'error'];

// ---- Health stream ---------------------------------------------------------------------------

/** The memory watermark and store breaker figures; null or absent when that guard is off. */
function guardsOf(report) {
  const guards = report.guards ?? {};
  return { memory: guards.memory ?? undefined, breaker: guards.storeBreaker ?? undefined, refusals: guards.refusals ?? {} };
}

function renderHealth(data) {
  let report;
  try {
    report = JSON.parse(data);
  } catch {
    return;
  }
  const badge = byId('health-status');
  badge.dataset.status = report.status;
  badge.textContent = report.status;
  setText('server-id', report.serverId);
  setText('uptime', formatUptime(report.uptimeMs));
  setText('store', report.store.kind + (report.store.live ? '' : ' (catching up)'));
  setText('revision', formatCount(report.store.revision));
  setText('in-flight', formatCount(report.publishesInFlight));
  const reasons = Array.isArray(report.reasons) ? report.reasons : [];
  badge.title = reasons.join('; ');
  setText('health-reasons', reasons.join('; '));
  const guards = guardsOf(report);
  byId('breaker-fact').hidden = guards.breaker === undefined;
  if (guards.breaker !== undefined) {
    setText('breaker', guards.breaker.state);
    byId('breaker').dataset.state = guards.breaker.state;
  }

  const lag = report.eventLoopLag;
  setText('lag', formatMs(lag.p99Ms));
  setText('lag-sub', 'mean ' + formatMs(lag.meanMs) + ' \u00b7 max ' + formatMs(lag.maxMs) + ' \u00b7 last second');

  const memory = report.memory;
  const watermark = guards.memory;
  const card = byId('memory-card');
  if (watermark !== undefined) {
    card.dataset.state = watermark.state;
    setText('memory', formatPercent(watermark.ratio) + ' of limit');
    byId('memory-bar').style.width = Math.min(100, watermark.ratio * 100).toFixed(1) + '%';
    let refused = 0;
    for (const n of Object.values(guards.refusals)) refused += typeof n === 'number' ? n : 0;
    setText(
      'memory-sub',
      watermark.state + ' \u00b7 ' + formatBytes(watermark.usageBytes) + ' of ' + formatBytes(watermark.limitBytes) +
        ' (' + watermark.limitSource + ')' + (refused > 0 ? ' \u00b7 ' + formatCount(refused) + ' refused' : ''),
    );
  } else {
    card.dataset.state = 'unknown';
    setText('memory', formatBytes(memory.rssBytes) + ' RSS');
    const used = memory.heapTotalBytes > 0 ? memory.heapUsedBytes / memory.heapTotalBytes : 0;
    byId('memory-bar').style.width = (used * 100).toFixed(1) + '%';
    setText('memory-sub', 'heap ' + formatBytes(memory.heapUsedBytes) + ' of ' + formatBytes(memory.heapTotalBytes) + ' \u00b7 no limit reported');
  }

  const c = report.connections;
  setText('connections', formatCount(c.ws + c.sse + c.health));
  setText(
    'connections-sub',
    'WebSocket ' + c.ws + ' \u00b7 SSE watch ' + c.sse + ' \u00b7 health ' + c.health,
  );
}

function onHealthStatus(state) {
  if (state === 'live') return;
  const badge = byId('health-status');
  badge.dataset.status = state === 'connecting' ? 'connecting' : 'offline';
  badge.textContent = state === 'connecting' ? 'connecting' : 'offline';
}

// ---- Figures: /metrics and /debug/vars -----------------------------------------------------

const figures = new FigureHistory(LATENCY_SPAN_MS + 5 * POLL_MS);

async function fetchText(path) {
  const response = await fetch(path, { cache: 'no-store' });
  const text = await response.text();
  if (!response.ok) {
    const error = readError(text, response.status);
    throw new Error(path + ' answered ' + response.status + ' ' + error.code + ': ' + error.message);
  }
  return text;
}

function latency(name, id) {
  const p50 = figures.quantile(name, 0.5, LATENCY_SPAN_MS);
  const p99 = figures.quantile(name, 0.99, LATENCY_SPAN_MS);
  setText(id, formatSeconds(p50.value));
  const span = p50.spanMs === undefined ? 'since start' : 'last ' + Math.round(p50.spanMs / 1000) + ' s';
  setText(id + '-sub', p99.value === undefined ? 'nothing measured ' + span : 'p99 ' + formatSeconds(p99.value) + ' \u00b7 ' + span);
}

function renderMetrics() {
  setText('publish-rate', formatRate(figures.rate('sbmp_publishes_total', RATE_SPAN_MS)));
  const results = [];
  for (const result of PUBLISH_RESULTS) {
    const n = figures.latest('sbmp_publishes_total', { result }) ?? 0;
    if (n > 0 || result === 'applied') results.push(result + ' ' + formatCount(n));
  }
  setText('publish-results', results.join(' \u00b7 '));
  setText('delivery-rate', formatRate(figures.rate('sbmp_deliveries_total', RATE_SPAN_MS)));
  setText('delivery-total', formatCount(figures.latest('sbmp_deliveries_total') ?? 0) + ' delivered in all');
  latency('sbmp_publish_seconds', 'publish-latency');
  latency('sbmp_publish_to_delivery_seconds', 'delivery-latency');
  setText('conflated', formatCount(figures.latest('sbmp_conflated_total')));
  setText(
    'conflated-sub',
    formatRate(figures.rate('sbmp_conflated_total', RATE_SPAN_MS)) + ' \u00b7 replaced before delivery',
  );
  setText('fanout-slow', formatCount(figures.latest('sbmp_slow_consumers_total') ?? 0));
  setText('fanout-stale', formatCount(figures.latest('sbmp_stale_rejections_total', { where: 'fanout' }) ?? 0));
}

function renderVars(vars) {
  setText('fanout-subscriptions', formatCount(vars.hub.subscriptions));
  setText('fanout-pending', formatCount(vars.fanout.pendingKeys) + ' (max ' + formatCount(vars.fanout.maxPendingKeys) + ')');
  setText('fanout-buffered', formatBytes(vars.fanout.bufferedBytes));
  setText('fanout-drain', formatCount(vars.fanout.waitingForDrain));
  const pools = Array.isArray(vars.pools) ? vars.pools : [];
  byId('pools-empty').hidden = pools.length > 0;
  byId('pools-table').hidden = pools.length === 0;
  const trs = pools.map((pool) => {
    const tr = element('tr');
    tr.dataset.pool = pool.name;
    const gets = pool.reuses + pool.misses + (pool.oversize ?? 0);
    const name = element('td', 'pool');
    name.append(breakable(pool.name, '.'));
    tr.append(
      name,
      element('td', 'num', gets > 0 ? formatPercent(pool.reuses / gets) : '\u2014'),
      element('td', 'num', formatCount(pool.liveItems)),
      element('td', 'num', formatCount(pool.allocations)),
      element('td', 'num', pool.liveItems > 0 ? formatAge(pool.meanItemAgeMs) : '\u2014'),
    );
    return tr;
  });
  byId('pools-body').replaceChildren(...trs);
}

async function pollFigures() {
  const problems = [];
  await Promise.all([
    fetchText('/metrics').then(
      (text) => {
        figures.add(Date.now(), parsePrometheus(text, 'sbmp_'));
        renderMetrics();
      },
      (err) => problems.push(err.message),
    ),
    fetchText('/debug/vars').then(
      (text) => renderVars(JSON.parse(text)),
      (err) => problems.push(err.message),
    ),
  ]);
  const alert = byId('figures-error');
  alert.hidden = problems.length === 0;
  alert.textContent = problems.length === 0 ? '' : 'Figures unavailable: ' + problems.join('; ');
  setTimeout(pollFigures, POLL_MS);
}

// ---- Publish form ----------------------------------------------------------------------------

function showPublishResult(outcome, headline, detail, attributes) {
  const result = byId('publish-result');
  result.hidden = false;
  result.dataset.outcome = outcome;
  result.dataset.code = attributes.code ?? '';
  result.dataset.current = attributes.current === undefined ? '' : String(attributes.current);
  const parts = [];
  for (const piece of headline) {
    parts.push(typeof piece === 'string' ? document.createTextNode(piece) : element('strong', piece.className, piece.text));
  }
  if (detail) parts.push(element('span', 'detail', detail));
  result.replaceChildren(...parts);
}

async function publish(event) {
  event.preventDefault();
  const key = byId('publish-key').value.trim();
  const version = byId('publish-version').value.trim();
  const headers = { 'Content-Type': 'application/json', 'SBMP-Source': 'dashboard' };
  if (version !== '') headers['SBMP-Version'] = version;
  const button = byId('publish-button');
  button.disabled = true;
  try {
    const path = STATE_PATH + key.split('/').map(encodeURIComponent).join('/');
    const response = await fetch(path, { method: 'PUT', headers, body: byId('publish-state').value });
    const text = await response.text();
    if (response.ok) {
      const body = JSON.parse(text);
      const applied = body.result === 'applied';
      showPublishResult(
        body.result,
        [applied ? 'Applied: ' : 'Duplicate: ', { text: body.key }, ' is at version ', { className: 'current-version', text: String(body.version) }],
        applied ? 'revision ' + body.revision : 'this version already holds this state; nothing changed',
        { code: body.result, current: body.version },
      );
      return;
    }
    const error = readError(text, response.status);
    if (response.status === 409 && error.current !== undefined) {
      showPublishResult(
        'refused',
        ['Refused (' + error.code + '): current version is ', { className: 'current-version', text: String(error.current) }],
        error.message,
        { code: error.code, current: error.current },
      );
      return;
    }
    showPublishResult('error', ['Error ' + response.status + ' ', { text: error.code }], error.message, { code: error.code });
  } catch (err) {
    showPublishResult('error', ['Not sent: ', { text: 'offline' }], String(err.message ?? err), { code: 'offline' });
  } finally {
    button.disabled = false;
  }
}

function fillPublishForm(event) {
  const tr = event.target.closest('tr');
  const snapshot = tr === null ? undefined : shownSnapshot(tr.dataset.key);
  if (snapshot === undefined) return;
  byId('publish-key').value = snapshot.key;
  byId('publish-version').value = String(snapshot.version + 1);
  if (snapshot.stateEncoding !== 'base64') byId('publish-state').value = JSON.stringify(snapshot.state);
  byId('publish-state').focus();
}

// ---- Start -----------------------------------------------------------------------------------

function applyFilter(event) {
  event.preventDefault();
  const pattern = byId('pattern').value.trim() || '>';
  const url = new URL(location.href);
  url.searchParams.set('pattern', pattern);
  window.history.replaceState(null, '', url);
  startWatch(pattern);
}

const initial = new URLSearchParams(location.search).get('pattern');
if (initial) byId('pattern').value = initial;
byId('filter-form').addEventListener('submit', applyFilter);
byId('publish-form').addEventListener('submit', publish);
byId('keys-body').addEventListener('click', fillPublishForm);
startWatch(byId('pattern').value.trim() || '>');
new LiveStream(() => '/sbmp/v3/health/stream', { health: renderHealth }, onHealthStatus).start();
setInterval(tickKeys, 1000);
pollFigures();
`;
