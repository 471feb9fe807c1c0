/**
 * `/dashboard-keys.js`, a browser module: the keys table, fed by `GET /sbmp/v3/watch?pattern=`.
 * A new pattern closes the stream and opens another; `resync` / `synced` events drop the keys a
 * resync did not deliver; versions never go back (the apply rule, here too). At most
 * `MAX_ROWS` rows are drawn, in natural key order, and rows are reused so that a live update
 * changes a few cells rather than the whole table.
 *
 * `String.raw` source: no backtick and no dollar-brace inside.
 */
export const DASHBOARD_KEYS_JS = String.raw`// The keys table of the SBMP dashboard.
import { breakable, byId, element, setText } from './dashboard-dom.js';
import { formatAge, formatCount } from './dashboard-figures.js';
import { LiveStream } from './dashboard-stream.js';

/** Rows drawn at most; the rest are counted (a page of 100,000 rows helps nobody). */
const MAX_ROWS = 500;
/** How long a row changed by a live update stays highlighted. */
const FRESH_MS = 1500;
const PREVIEW_CHARS = 160;
const TITLE_CHARS = 2000;
/** Key order for people: 'sensor-9' before 'sensor-10'. */
const keyOrder = new Intl.Collator('en', { numeric: true }).compare;

/** key -> { key, version, revision, ts, source, state, ..., seenAt } */
const keys = new Map();
const rows = new Map();
let order = [];
let orderStale = false;
let watch;
let watchPattern = '>';
let synced = false;
/** Keys delivered since a resync began; the others are dropped at synced. */
let resyncSeen;
let renderQueued = false;

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderKeys();
  });
}

function onSnapshot(data) {
  let snapshot;
  try {
    snapshot = JSON.parse(data);
  } catch {
    return;
  }
  if (snapshot === null || typeof snapshot.key !== 'string') return;
  resyncSeen?.add(snapshot.key);
  const current = keys.get(snapshot.key);
  // The apply rule holds here too: a version never goes back.
  if (current !== undefined && current.version >= snapshot.version) return;
  if (snapshot.deleted === true) {
    if (keys.delete(snapshot.key)) orderStale = true;
  } else {
    if (current === undefined) orderStale = true;
    snapshot.seenAt = synced ? Date.now() : 0;
    keys.set(snapshot.key, snapshot);
  }
  queueRender();
}

function onSynced() {
  if (resyncSeen !== undefined) {
    for (const key of [...keys.keys()]) if (!resyncSeen.has(key)) keys.delete(key);
    resyncSeen = undefined;
    orderStale = true;
  }
  synced = true;
  showWatchStatus('live');
  queueRender();
}

function showWatchStatus(state, error) {
  const status = byId('watch-status');
  const shown = state === 'live' && !synced ? 'syncing' : state;
  status.dataset.state = shown;
  status.textContent = shown;
  const alert = byId('watch-error');
  if (error === undefined) {
    if (state === 'live') alert.hidden = true;
    return;
  }
  alert.hidden = false;
  alert.dataset.code = error.code;
  alert.textContent =
    (state === 'failed' ? 'Cannot watch \u201c' + watchPattern + '\u201d: ' : 'Watch interrupted: ') +
    error.code + ' \u2014 ' + error.message;
}

/** Shows the keys matching pattern, live, in place of the ones shown so far. */
export function startWatch(pattern) {
  watch?.stop();
  keys.clear();
  orderStale = true;
  synced = false;
  resyncSeen = undefined;
  watchPattern = pattern;
  byId('watch-error').hidden = true;
  const query = 'pattern=' + encodeURIComponent(pattern);
  watch = new LiveStream(
    (since) => '/sbmp/v3/watch?' + query + (since === undefined ? '' : '&since=' + encodeURIComponent(since)),
    {
      message: onSnapshot,
      resync: () => {
        resyncSeen = new Set();
      },
      synced: onSynced,
    },
    (state, error) => {
      if (state !== 'live') synced = false;
      showWatchStatus(state, error);
    },
  );
  watch.start();
  queueRender();
}

function preview(snapshot) {
  if (snapshot.stateEncoding === 'base64') {
    return '<' + Math.floor((snapshot.state.length * 3) / 4) + ' bytes ' + (snapshot.contentType ?? '') + '>';
  }
  return JSON.stringify(snapshot.state) ?? 'undefined';
}

function keyCell(key) {
  const td = element('td', 'key');
  td.append(breakable(key, '/'));
  return td;
}

function newRow(key) {
  const tr = element('tr');
  tr.dataset.key = key;
  const cells = {
    key: keyCell(key),
    version: element('td', 'num version'),
    revision: element('td', 'num revision'),
    age: element('td', 'num age'),
    source: element('td', 'source'),
    state: element('td', 'state'),
  };
  tr.append(cells.key, cells.version, cells.revision, cells.age, cells.source, cells.state);
  return { tr, cells, version: 0 };
}

function updateRow(row, snapshot, now) {
  if (row.version !== snapshot.version) {
    row.version = snapshot.version;
    row.tr.dataset.version = String(snapshot.version);
    row.cells.version.textContent = String(snapshot.version);
    row.cells.revision.textContent = String(snapshot.revision);
    row.cells.source.textContent = snapshot.source;
    row.cells.source.title = snapshot.source;
    const text = preview(snapshot);
    row.cells.state.textContent = text.slice(0, PREVIEW_CHARS);
    row.cells.state.title = text.slice(0, TITLE_CHARS);
  }
  row.tr.classList.toggle('fresh', now - snapshot.seenAt < FRESH_MS);
  const age = formatAge(now - snapshot.ts);
  if (row.cells.age.textContent !== age) row.cells.age.textContent = age;
}

function renderKeys() {
  if (orderStale) {
    order = [...keys.keys()].sort(keyOrder);
    orderStale = false;
  }
  const now = Date.now();
  const shown = order.slice(0, MAX_ROWS);
  const trs = [];
  for (const key of shown) {
    const snapshot = keys.get(key);
    if (snapshot === undefined) continue;
    let row = rows.get(key);
    if (row === undefined) {
      row = newRow(key);
      rows.set(key, row);
    }
    updateRow(row, snapshot, now);
    trs.push(row.tr);
  }
  const body = byId('keys-body');
  const children = body.children;
  let same = children.length === trs.length;
  for (let i = 0; same && i < trs.length; i++) same = children[i] === trs[i];
  if (!same) {
    body.replaceChildren(...trs);
    const visible = new Set(shown);
    for (const key of [...rows.keys()]) if (!visible.has(key)) rows.delete(key);
  }
  byId('keys-empty').hidden = keys.size > 0;
  setText(
    'keys-count',
    keys.size > MAX_ROWS
      ? 'Showing the first ' + formatCount(MAX_ROWS) + ' of ' + formatCount(keys.size) + ' keys; narrow the pattern to see others'
      : formatCount(keys.size) + (keys.size === 1 ? ' key' : ' keys') + ' matching \u201c' + watchPattern + '\u201d',
  );
}

/** The snapshot shown for key, if any. */
export function shownSnapshot(key) {
  return keys.get(key);
}

/** Redraws what changed and the ages, once a second, so ages stay true without updates. */
export function tickKeys() {
  queueRender();
}
`;
