/**
 * The dashboard page served at `/`. Static markup only: every figure is filled in by
 * `/dashboard.js`, and there is no inline script or style, so the strict Content-Security-Policy
 * of `routes.ts` holds. Element ids are the page's contract with the script (and its tests).
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SBMP live state</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/dashboard.css">
<script type="module" src="/dashboard.js"></script>
</head>
<body>
<header class="topbar">
  <div class="brand"><img src="/favicon.svg" alt="" width="22" height="22"><span>SBMP</span><small>live state</small></div>
  <span id="health-status" class="badge" data-status="connecting">connecting</span>
  <span id="health-reasons" class="reasons"></span>
  <dl class="facts">
    <div><dt>Server</dt><dd id="server-id">&mdash;</dd></div>
    <div><dt>Uptime</dt><dd id="uptime">&mdash;</dd></div>
    <div><dt>Store</dt><dd id="store">&mdash;</dd></div>
    <div><dt>Revision</dt><dd id="revision">&mdash;</dd></div>
    <div><dt>In flight</dt><dd id="in-flight">&mdash;</dd></div>
    <div id="breaker-fact" hidden><dt>Breaker</dt><dd id="breaker">&mdash;</dd></div>
  </dl>
</header>
<main>
  <section class="cards" aria-label="Figures">
    <article class="card">
      <h2>Publishes</h2>
      <p class="value" id="publish-rate">&mdash;</p>
      <p class="sub" id="publish-results">&mdash;</p>
    </article>
    <article class="card">
      <h2>Deliveries</h2>
      <p class="value" id="delivery-rate">&mdash;</p>
      <p class="sub" id="delivery-total">&mdash;</p>
    </article>
    <article class="card">
      <h2>Publish latency <span class="hint">p50</span></h2>
      <p class="value" id="publish-latency">&mdash;</p>
      <p class="sub" id="publish-latency-sub">&mdash;</p>
    </article>
    <article class="card">
      <h2>Publish &rarr; delivery <span class="hint">p50</span></h2>
      <p class="value" id="delivery-latency">&mdash;</p>
      <p class="sub" id="delivery-latency-sub">&mdash;</p>
    </article>
    <article class="card">
      <h2>Conflated</h2>
      <p class="value" id="conflated">&mdash;</p>
      <p class="sub" id="conflated-sub">&mdash;</p>
    </article>
    <article class="card">
      <h2>Event-loop lag <span class="hint">p99</span></h2>
      <p class="value" id="lag">&mdash;</p>
      <p class="sub" id="lag-sub">&mdash;</p>
    </article>
    <article class="card" id="memory-card" data-state="unknown">
      <h2>Memory</h2>
      <p class="value" id="memory">&mdash;</p>
      <div class="meter" aria-hidden="true"><span id="memory-bar"></span></div>
      <p class="sub" id="memory-sub">&mdash;</p>
    </article>
    <article class="card">
      <h2>Connections</h2>
      <p class="value" id="connections">&mdash;</p>
      <p class="sub" id="connections-sub">&mdash;</p>
    </article>
  </section>
  <div class="columns">
    <section class="panel keys" aria-labelledby="keys-title">
      <div class="panel-head">
        <h2 id="keys-title">Keys</h2>
        <form id="filter-form" class="filter" autocomplete="off">
          <label for="pattern">Pattern</label>
          <input id="pattern" name="pattern" value="&gt;" spellcheck="false" title="* matches one segment, a trailing &gt; one or more">
          <button type="submit">Watch</button>
        </form>
        <span id="watch-status" class="stream-status" data-state="connecting">connecting</span>
      </div>
      <p id="watch-error" class="alert" hidden></p>
      <div class="table-wrap">
        <table id="keys-table">
          <thead>
            <tr><th>Key</th><th class="num">Version</th><th class="num">Revision</th><th class="num">Age</th><th>Source</th><th>State</th></tr>
          </thead>
          <tbody id="keys-body"></tbody>
        </table>
        <p id="keys-empty" class="empty">No key matches this pattern yet.</p>
      </div>
      <p class="foot"><span id="keys-count">&mdash;</span><span class="hint">Click a row to publish its next version.</span></p>
    </section>
    <aside class="side">
      <section class="panel" aria-labelledby="publish-title">
        <h2 id="publish-title">Publish</h2>
        <form id="publish-form" class="publish" autocomplete="off">
          <label>Key <input id="publish-key" required spellcheck="false" placeholder="orders/eu/10042"></label>
          <label>Version <input id="publish-version" inputmode="numeric" placeholder="next"></label>
          <label class="wide">State (JSON) <textarea id="publish-state" rows="2" spellcheck="false">{"status": "ok"}</textarea></label>
          <button type="submit" id="publish-button">Publish</button>
        </form>
        <p id="publish-result" class="result" role="status" hidden></p>
      </section>
      <section class="panel" aria-labelledby="fanout-title">
        <h2 id="fanout-title">Fan-out</h2>
        <dl class="pairs">
          <div><dt>Subscriptions</dt><dd id="fanout-subscriptions">&mdash;</dd></div>
          <div><dt>Pending keys</dt><dd id="fanout-pending">&mdash;</dd></div>
          <div><dt>Buffered</dt><dd id="fanout-buffered">&mdash;</dd></div>
          <div><dt>Waiting for drain</dt><dd id="fanout-drain">&mdash;</dd></div>
          <div><dt>Slow consumers closed</dt><dd id="fanout-slow">&mdash;</dd></div>
          <div><dt>Stale refused</dt><dd id="fanout-stale">&mdash;</dd></div>
        </dl>
      </section>
      <section class="panel" aria-labelledby="pools-title">
        <h2 id="pools-title">Pools</h2>
        <table id="pools-table" class="compact">
          <thead><tr><th>Pool</th><th class="num">Reuse</th><th class="num">Live</th><th class="num">Allocs</th><th class="num">Age</th></tr></thead>
          <tbody id="pools-body"></tbody>
        </table>
        <p id="pools-empty" class="empty">No pools are registered with this server.</p>
      </section>
      <p id="figures-error" class="alert" hidden></p>
    </aside>
  </div>
</main>
</body>
</html>
`;
