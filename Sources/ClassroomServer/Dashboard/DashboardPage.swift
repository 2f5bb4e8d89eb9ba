/// The instructor's page: plain HTML, CSS and a little JavaScript, all inline (the room may have no internet). It
/// takes the token from `/?token=`, keeps it in memory (and drops it from the address bar), and follows
/// `/api/stream` with an EventSource: no reload.
enum DashboardPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>boxlab classroom</title>
<style>
  :root { --passed: #2e9d4f; --solved: #e0a526; --current: #3a78d8; --none: #eceff1; --stuck: #d33; }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1em 1.5em; color: #222; }
  h1 { font-size: 1.3em; margin: 0 0 .3em; }
  .meta { color: #555; margin-bottom: .8em; }
  .meta code { font-size: 1.2em; background: #f4f4f4; padding: 0 .3em; }
  #status.down { color: var(--stuck); }
  .legend span { display: inline-block; margin-right: 1em; }
  .sw { display: inline-block; width: 1em; height: 1em; vertical-align: -2px; margin-right: .3em; border-radius: 2px; }
  .wrap { overflow-x: auto; margin: .8em 0; }
  table { border-collapse: collapse; }
  th, td { border: 1px solid #fff; padding: 0; }
  th { font-weight: 600; font-size: 12px; text-align: left; padding: 2px 4px; background: #fafafa; }
  th.step { writing-mode: vertical-rl; transform: rotate(180deg); height: 14em; max-height: 14em; overflow: hidden; white-space: nowrap; }
  th.lab { text-align: center; border-left: 2px solid #ccc; }
  td.cell { width: 22px; height: 22px; min-width: 22px; background: var(--none); }
  td.cell.first { border-left: 2px solid #ccc; }
  td.cell[data-state=passed] { background: var(--passed); }
  td.cell[data-state=solved] { background: var(--solved); }
  td.cell[data-state=current] { background: var(--current); }
  td.name { padding: 2px 8px 2px 4px; white-space: nowrap; }
  tr.stuck td.name { color: var(--stuck); font-weight: 600; }
  .badge { font-size: 11px; border-radius: 3px; padding: 0 4px; margin-left: 4px; color: #fff; }
  .badge.stuck { background: var(--stuck); }
  .badge.broken { background: #222; }
  td.stat { font-size: 12px; text-align: center; color: #333; }
  #steps td, #steps th { border: 1px solid #ddd; padding: 3px 6px; font-size: 13px; }
  #steps td.fail { color: #a11; font-family: monospace; }
  form { margin: 1em 0; display: flex; gap: .5em; align-items: flex-start; flex-wrap: wrap; }
  textarea { width: 32em; height: 3.2em; }
  .muted { color: #777; }
  button.mapbtn { font-size: 11px; margin-left: 6px; padding: 0 4px; }
  #mappanel pre { background: #f7f7f7; border: 1px solid #ddd; padding: .6em; overflow-x: auto; max-height: 40em; font-size: 12px; }
</style>
</head>
<body>
<h1 id="room">boxlab classroom</h1>
<div class="meta">Join: <code id="join">lab join URL --code <b id="code">…</b></code> · <span id="count">0</span> attendees ·
  <span id="status">connecting…</span> · export <a id="csv" href="#">CSV</a> <a id="json" href="#">JSON</a></div>
<div id="login" hidden>
  <form id="tokenform"><label>Instructor token (room.json): <input id="token" size="66" autocomplete="off"></label>
  <button>Open</button></form>
</div>
<div class="legend">
  <span><i class="sw" style="background:var(--passed)"></i>passed</span>
  <span><i class="sw" style="background:var(--solved)"></i>solved (by <code>lab solve</code>)</span>
  <span><i class="sw" style="background:var(--current)"></i>on it now</span>
  <span><i class="sw" style="background:var(--none)"></i>not started</span>
  <span><span class="badge stuck">stuck</span> well over the room's median time on the step, or 3+ wrong answers</span>
  <span><span class="badge broken">chain broken</span> the journal was edited</span>
</div>
<div class="wrap"><table id="heat"><tbody><tr><td class="muted">Nobody has joined yet.</td></tr></tbody></table></div>
<section id="mappanel" hidden>
<h2 style="font-size:1.1em">Map of <span id="mapwho"></span> <button id="mapclose">close</button></h2>
<div id="mapstate" class="muted"></div>
<pre id="maptext"></pre>
</section>
<h2 style="font-size:1.1em">Steps</h2>
<table id="steps"><thead><tr><th>Lab</th><th>Step</th><th>On it</th><th>Median time</th><th>Most common failing check</th></tr></thead><tbody></tbody></table>
<h2 style="font-size:1.1em">Send a message</h2>
<form id="msgform">
  <select id="to"><option value="all">everyone</option></select>
  <textarea id="text" placeholder="A hint or a message: shown at the attendee's next lab command"></textarea>
  <button>Send</button> <span id="sent" class="muted"></span>
</form>
<script>
"use strict";
let token = new URLSearchParams(location.search).get("token") || "";
if (token) history.replaceState(null, "", location.pathname);
const $ = (id) => document.getElementById(id);
const el = (tag, attrs, text) => { const e = document.createElement(tag); for (const k in attrs || {}) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; return e; };
const dur = (s) => s == null ? "" : s < 90 ? Math.round(s) + " s" : Math.round(s / 60) + " min";
let source = null;

function start() {
  if (!token) { $("login").hidden = false; $("status").textContent = "no token"; return; }
  $("login").hidden = true;
  const q = "token=" + encodeURIComponent(token);
  $("csv").href = "/api/export?format=csv&" + q;
  $("json").href = "/api/export?format=json&" + q;
  $("join").firstChild.textContent = "lab join " + location.origin + "/ --code ";
  source = new EventSource("/api/stream?" + q);
  source.addEventListener("room", (e) => { render(JSON.parse(e.data)); setStatus("live · " + new Date().toLocaleTimeString(), false); });
  source.onerror = () => setStatus("reconnecting…", true);
}
function setStatus(text, down) { $("status").textContent = text; $("status").className = down ? "down" : ""; }

function render(r) {
  $("room").textContent = "boxlab classroom: " + r.room.name;
  $("code").textContent = r.room.code;
  $("count").textContent = r.attendees.length;
  const heat = $("heat"), body = el("tbody");
  if (r.attendees.length === 0) {
    body.appendChild(el("tr")).appendChild(el("td", {class: "muted"}, "Nobody has joined yet."));
  } else {
    const labs = [];
    for (const s of r.steps) { if (!labs.length || labs[labs.length - 1].id !== s.lab) labs.push({id: s.lab, title: s.labTitle, n: 0}); labs[labs.length - 1].n++; }
    const h1 = el("tr"), h2 = el("tr"), on = el("tr");
    h1.appendChild(el("th")); h2.appendChild(el("th", {}, "attendee")); on.appendChild(el("th", {}, "on it"));
    for (const l of labs) h1.appendChild(el("th", {class: "lab", colspan: l.n, title: l.id}, l.title));
    r.steps.forEach((s, i) => {
      h2.appendChild(el("th", {class: "step", title: s.id}, s.title));
      const c = on.appendChild(el("td", {class: "stat", "data-on": s.id}, s.on ? String(s.on) : ""));
      if (s.failing) c.title = s.failingCount + " failing: " + s.failing;
    });
    body.append(h1, h2);
    for (const a of r.attendees) {
      const tr = el("tr", {"data-attendee": a.id});
      if (a.stuck) tr.className = "stuck";
      const name = tr.appendChild(el("td", {class: "name", title: "id " + a.id + " · " + a.lines + " lines · last seen " + a.lastSeen}, a.name));
      if (a.stuck) name.appendChild(el("span", {class: "badge stuck", title: a.stuckReason || ""}, "stuck"));
      if (a.chain === "broken") name.appendChild(el("span", {class: "badge broken", title: "from line " + a.chainBrokenAt}, "chain broken"));
      name.appendChild(el("button", {class: "mapbtn", "data-map": a.id, "data-name": a.name,
                                     title: "Ask for " + a.name + "'s map (lab map --plain): sent at their next lab command"}, a.mapRequested ? "map…" : "map"));
      let prevLab = null;
      for (const s of r.steps) {
        const state = a.steps[s.id] || "none";
        const td = el("td", {class: "cell" + (s.lab !== prevLab ? " first" : ""), "data-step": s.id, "data-state": state});
        prevLab = s.lab;
        let tip = s.title + ": " + (state === "none" ? "not started" : state === "current" ? "on it" + (a.currentSince ? " since " + new Date(a.currentSince).toLocaleTimeString() : "") : state);
        if (a.failing[s.id]) tip += "\nfailing: " + a.failing[s.id];
        if (state === "current" && a.wrong) tip += "\n" + a.wrong + " wrong answers";
        td.title = tip;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    body.appendChild(on);
  }
  heat.replaceChild(body, heat.tBodies[0]);

  const steps = el("tbody");
  for (const s of r.steps) {
    if (!s.on && s.medianSeconds == null) continue;
    const tr = steps.appendChild(el("tr"));
    tr.append(el("td", {}, s.labTitle), el("td", {}, s.title), el("td", {}, String(s.on)), el("td", {}, dur(s.medianSeconds)),
              el("td", {class: "fail"}, s.failing ? s.failing + (s.failingCount > 1 ? "  (" + s.failingCount + ")" : "") : ""));
  }
  $("steps").replaceChild(steps, $("steps").tBodies[0]);

  if (map.id) {
    const a = r.attendees.find((x) => x.id === map.id);
    if (a && (a.mapAt !== map.at || a.mapRequested !== map.requested)) showMap();
  }

  const to = $("to"), chosen = to.value;
  to.replaceChildren(el("option", {value: "all"}, "everyone"));
  for (const a of r.attendees) to.appendChild(el("option", {value: a.id}, a.name + " (" + a.id + ")"));
  to.value = [...to.options].some((o) => o.value === chosen) ? chosen : "all";
}

// An attendee's map, on request (issue 22): the button asks, their lab answers at its next sync, the room's
// stream says it came (mapAt), and the panel reads it.
const map = {id: null, at: undefined, requested: undefined};
const ago = (t) => { const s = (Date.now() - new Date(t)) / 1000; return s < 60 ? Math.max(0, Math.round(s)) + " s ago" : dur(s) + " ago"; };
async function api(method, path) {
  const res = await fetch(path, {method, headers: {"Authorization": "Bearer " + token}});
  return [res, await res.json().catch(() => ({}))];
}
async function askMap(id, name) {
  Object.assign(map, {id, at: undefined, requested: undefined});
  $("mappanel").hidden = false;
  $("mapwho").textContent = name + " (" + id + ")";
  $("maptext").textContent = "";
  const [res, body] = await api("POST", "/api/attendees/" + encodeURIComponent(id) + "/map-request");
  if (!res.ok) { $("mapstate").textContent = "not asked: " + (body.message || res.status); return; }
  await showMap();
}
async function showMap() {
  const id = map.id;
  const [res, m] = await api("GET", "/api/attendees/" + encodeURIComponent(id) + "/map");
  if (id !== map.id) return;
  if (!res.ok) { $("mapstate").textContent = "cannot read the map: " + (m.message || res.status); return; }
  Object.assign(map, {at: m.at || undefined, requested: m.requested || undefined});
  $("maptext").textContent = m.map || "";
  mapState();
}
function mapState() {
  if (!map.id) return;
  let state = map.at ? "sent " + ago(map.at) + " (" + new Date(map.at).toLocaleTimeString() + ")" : "no map yet";
  if (map.requested) state += " · asked " + ago(map.requested) + ": their lab sends it at their next lab command (every few seconds in lab watch)";
  $("mapstate").textContent = state;
}
setInterval(mapState, 5000);
$("heat").addEventListener("click", (e) => { const b = e.target.closest("button[data-map]"); if (b) askMap(b.dataset.map, b.dataset.name); });
$("mapclose").addEventListener("click", () => { map.id = null; $("mappanel").hidden = true; });
$("tokenform").addEventListener("submit", (e) => { e.preventDefault(); token = $("token").value.trim(); start(); });
$("msgform").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  const res = await fetch("/api/messages", {method: "POST", headers: {"Content-Type": "application/json", "Authorization": "Bearer " + token},
                                            body: JSON.stringify({to: $("to").value, text})});
  const body = await res.json().catch(() => ({}));
  $("sent").textContent = res.ok ? "sent (#" + body.id + ")" : "not sent: " + (body.message || res.status);
  if (res.ok) $("text").value = "";
});
start();
</script>
</body>
</html>
"""#
}
