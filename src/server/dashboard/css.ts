/**
 * Styles of the dashboard. Laid out for a 1280x800 window without page scrolling: the figures
 * on top, the keys table beside the publish form below, each column scrolling on its own.
 */
export const DASHBOARD_CSS = `:root {
  --bg: #f3f5f8;
  --panel: #ffffff;
  --line: #dde2ea;
  --text: #1b2430;
  --muted: #5f6b7a;
  --accent: #1f5fbf;
  --ok: #17803b;
  --ok-bg: #e3f4e8;
  --warn: #a85a00;
  --warn-bg: #fdf0dc;
  --bad: #c0262d;
  --bad-bg: #fbe5e6;
  --idle: #6b7685;
  --idle-bg: #e9edf2;
  --fresh: #fff6c9;
  --mono: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
  color-scheme: light;
}
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body {
  display: flex;
  flex-direction: column;
  background: var(--bg);
  color: var(--text);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
}
h2 { margin: 0; font-size: 12px; font-weight: 600; letter-spacing: .04em; text-transform: uppercase; color: var(--muted); }
.hint { color: var(--muted); font-weight: 400; text-transform: none; letter-spacing: 0; font-size: 12px; }
[hidden] { display: none !important; }

.topbar {
  display: flex; align-items: center; gap: 16px;
  padding: 10px 20px; background: #14213a; color: #f1f4f9;
}
.brand { display: flex; align-items: center; gap: 8px; font-size: 18px; font-weight: 700; }
.brand small { font-size: 13px; font-weight: 400; color: #a9b6cc; }
.reasons { color: #ffd48a; font-size: 13px; max-width: 420px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
#breaker[data-state="open"], #breaker[data-state="isolated"] { color: #ff9a9e; }
#breaker[data-state="half-open"] { color: #ffd48a; }
.facts { display: flex; gap: 22px; margin: 0 0 0 auto; }
.facts div { display: flex; flex-direction: column; }
.facts dt { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: #a9b6cc; }
.facts dd { margin: 0; font-variant-numeric: tabular-nums; font-weight: 600; }

.badge {
  padding: 3px 10px; border-radius: 999px; font-size: 12px; font-weight: 700;
  text-transform: uppercase; letter-spacing: .05em; background: var(--idle-bg); color: var(--idle);
}
.badge[data-status="ok"] { background: var(--ok-bg); color: var(--ok); }
.badge[data-status="degraded"] { background: var(--warn-bg); color: var(--warn); }
.badge[data-status="closing"], .badge[data-status="offline"] { background: var(--bad-bg); color: var(--bad); }

main { flex: 1; min-height: 0; display: flex; flex-direction: column; gap: 12px; padding: 12px 20px 14px; }

.cards { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 10px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; min-width: 0; }
.card .value { margin: 2px 0 0; font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; white-space: nowrap; }
.card .sub { margin: 0; color: var(--muted); font-size: 12px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-variant-numeric: tabular-nums; }
.meter { height: 5px; margin: 3px 0 2px; background: var(--idle-bg); border-radius: 3px; overflow: hidden; }
.meter span { display: block; height: 100%; width: 0; background: var(--ok); transition: width .4s; }
#memory-card[data-state="shedding"] .meter span { background: var(--warn); }
#memory-card[data-state="critical"] .meter span { background: var(--bad); }
#memory-card[data-state="shedding"] .value { color: var(--warn); }
#memory-card[data-state="critical"] .value { color: var(--bad); }

.columns { flex: 1; min-height: 0; display: grid; grid-template-columns: minmax(0, 1fr) 380px; gap: 12px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.panel > h2 { margin-bottom: 8px; }
.keys { display: flex; flex-direction: column; min-height: 0; }
.side { display: flex; flex-direction: column; gap: 12px; min-height: 0; overflow-y: auto; }
.panel-head { display: flex; align-items: center; gap: 14px; margin-bottom: 8px; }
.filter { display: flex; align-items: center; gap: 6px; flex: 1; }
.filter label { color: var(--muted); font-size: 13px; }
.filter input { flex: 1; max-width: 360px; }

input, textarea, button { font: inherit; }
input, textarea {
  border: 1px solid #c5cdd8; border-radius: 6px; padding: 5px 8px; background: #fff; color: var(--text);
  font-family: var(--mono); font-size: 13px;
}
input:focus, textarea:focus { outline: 2px solid #9dbcf0; outline-offset: 0; border-color: var(--accent); }
button {
  border: 0; border-radius: 6px; padding: 6px 14px; background: var(--accent); color: #fff;
  font-weight: 600; cursor: pointer;
}
button:hover { background: #174b98; }
button:disabled { background: #8aa3c9; cursor: progress; }

.stream-status { font-size: 12px; font-weight: 600; color: var(--idle); white-space: nowrap; }
.stream-status::before { content: ""; display: inline-block; width: 8px; height: 8px; margin-right: 6px; border-radius: 50%; background: currentColor; }
.stream-status[data-state="live"] { color: var(--ok); }
.stream-status[data-state="reconnecting"], .stream-status[data-state="syncing"] { color: var(--warn); }
.stream-status[data-state="failed"] { color: var(--bad); }

.table-wrap { flex: 1; min-height: 0; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th {
  position: sticky; top: 0; z-index: 1; background: #f7f9fb; text-align: left;
  font-size: 12px; font-weight: 600; color: var(--muted); padding: 6px 10px; border-bottom: 1px solid var(--line);
}
td { padding: 5px 10px; border-bottom: 1px solid #eef1f5; white-space: nowrap; }
.num { text-align: right; }
#keys-body tr { cursor: pointer; transition: background-color 1s; }
#keys-body tr:hover { background: #eef4fd; }
#keys-body tr.fresh { background: var(--fresh); transition: none; }
#keys-table { table-layout: fixed; }
#keys-table td { overflow: hidden; text-overflow: ellipsis; }
#keys-table th:nth-child(1) { width: 38%; }
#keys-table th:nth-child(2) { width: 8%; }
#keys-table th:nth-child(3) { width: 9%; }
#keys-table th:nth-child(4) { width: 8%; }
#keys-table th:nth-child(5) { width: 13%; }
td.key { font-family: var(--mono); font-size: 13px; white-space: normal; overflow-wrap: anywhere; }
td.version { font-weight: 700; }
td.source { color: var(--muted); }
td.state { font-family: var(--mono); font-size: 12px; color: #38465a; }
.compact td, .compact th { padding: 4px 6px; font-size: 12px; }
.compact td.pool { font-family: var(--mono); white-space: normal; overflow-wrap: anywhere; }
.empty { margin: 14px; color: var(--muted); text-align: center; }
.foot { display: flex; justify-content: space-between; margin: 6px 0 0; color: var(--muted); font-size: 12px; }

.publish { display: grid; grid-template-columns: minmax(0, 1fr) 96px; gap: 8px; align-items: end; }
.publish label { display: flex; flex-direction: column; gap: 3px; font-size: 12px; color: var(--muted); }
.publish .wide { grid-column: 1 / -1; }
.publish textarea { resize: vertical; min-height: 44px; }
.publish button { grid-column: 1 / -1; justify-self: start; }
.result { margin: 10px 0 0; padding: 8px 10px; border-radius: 6px; font-size: 13px; }
.result strong { font-variant-numeric: tabular-nums; }
.result[data-outcome="applied"], .result[data-outcome="duplicate"] { background: var(--ok-bg); color: var(--ok); }
.result[data-outcome="refused"] { background: var(--warn-bg); color: var(--warn); }
.result[data-outcome="error"] { background: var(--bad-bg); color: var(--bad); }
.result .detail { display: block; margin-top: 2px; color: var(--text); font-size: 12px; }

.pairs { display: grid; grid-template-columns: 1fr 1fr; gap: 6px 16px; margin: 0; }
.pairs div { display: flex; justify-content: space-between; gap: 8px; border-bottom: 1px dotted var(--line); }
.pairs dt { color: var(--muted); font-size: 12px; }
.pairs dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; font-size: 13px; }

.alert { margin: 0 0 8px; padding: 7px 10px; border-radius: 6px; background: var(--bad-bg); color: var(--bad); font-size: 13px; }
`;
