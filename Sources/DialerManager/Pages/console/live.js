// The supervisor's live panel: one server-sent-events stream (GET /v1/live/events) carries a
// whole snapshot every second; the page draws it. Nothing is polled widget by widget.
import { session } from "./api.js";
import { h, makeTranslator } from "./i18n.js";
import { catalogs } from "./live-strings.js";

const { t, translatePage } = makeTranslator(catalogs);
const $ = (id) => document.getElementById(id);
const percent = (value) => (value === null || value === undefined ? t("none") : `${(value * 100).toFixed(2)} %`);
const duration = (ms) => {
  const seconds = Math.floor((ms ?? 0) / 1000);
  return seconds >= 3600
    ? `${Math.floor(seconds / 3600)}:${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`
    : `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
};

let retryDelay = 1000;
let lastSnapshot = null;

// MARK: The stream

/** Reads the event stream with fetch (EventSource cannot send the token header). */
async function follow() {
  $("link").textContent = t("connecting");
  try {
    const response = await fetch("/v1/live/events", { headers: { Authorization: `Bearer ${session.token}`, Accept: "text/event-stream" } });
    if (response.status === 401 || response.status === 403) {
      const body = await response.json().catch(() => ({}));
      session.token = null;
      showSignIn(t("badToken", { message: body.message ?? response.status }));
      return;
    }
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    retryDelay = 1000;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        handle(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  } catch {
    // Dropped (network, or the manager dropped a slow reader): start again below.
  }
  $("link").textContent = t("reconnecting");
  setTimeout(follow, retryDelay);
  retryDelay = Math.min(retryDelay * 2, 10000);
}

function handle(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    else if (line.startsWith("retry:")) retryDelay = Number(line.slice(6)) || retryDelay;
  }
  if (event === "snapshot" && data.length) {
    lastSnapshot = JSON.parse(data.join("\n"));
    render(lastSnapshot);
  }
}

// MARK: Drawing

function render(snapshot) {
  $("link").textContent = t("live", { time: new Date(snapshot.at).toLocaleTimeString() });
  document.body.dataset.snapshotAt = snapshot.at;
  renderCampaigns(snapshot.campaigns ?? []);
  renderAgents(snapshot.agents ?? []);
  fill("queues", (snapshot.queues ?? []).map((q) => [q.id, q.kind, num(q.waiting), duration(q.longest_wait_ms), q.owner ?? t("none"), num(q.epoch)]));
  fill("nodes", (snapshot.nodes ?? []).map((n) => [n.id, n.role, n.state, n.last_heartbeat_age_ms == null ? t("none") : `${n.last_heartbeat_age_ms} ms`]));
  $("problems").textContent = snapshot.problems?.length ? t("problems", { list: snapshot.problems.join("; ") }) : "";
  renderCharts(snapshot.history ?? []);
}

const num = (value) => h("span", { class: "num" }, String(value ?? 0));

function fill(id, rows) {
  $(id).tBodies[0].replaceChildren(...rows.map((cells, index) =>
    h("tr", { dataset: { row: String(index) } }, cells.map((cell) => {
      const td = h("td", {}, cell);
      if (cell instanceof Element && cell.classList.contains("num")) td.className = "num";
      return td;
    }))));
}

function renderCampaigns(campaigns) {
  const rows = campaigns.map((c) => {
    const report = c.report ?? {};
    const connected = report.attempts_by_outcome?.connected ?? 0;
    const windows = report.abandon_rates ?? [];
    const regulated = windows.find((w) => w.window === "30d") ?? windows[0];
    const rate = regulated?.rate ?? null;
    const causes = Object.entries(report.abandons_by_cause ?? {}).filter(([, n]) => n > 0);
    const left = Object.entries(report.contacts_by_state ?? {}).filter(([state]) => state !== "final").reduce((sum, [, n]) => sum + n, 0);
    const tr = h("tr", { dataset: { campaign: c.id } },
      h("th", { scope: "row" }, c.name ? `${c.id} — ${c.name}` : c.id),
      h("td", {}, `${c.status} · ${c.mode}`),
      h("td", { class: "num", dataset: { figure: "attempts" } }, String(report.attempts ?? 0)),
      h("td", { class: "num", dataset: { figure: "live_answers" } }, String(report.live_answers ?? 0)),
      h("td", { class: "num", dataset: { figure: "connected" } }, String(connected)),
      h("td", { class: "num", dataset: { figure: "abandons" } }, String(report.abandons ?? 0)),
      h("td", {}, gauge(rate, c.target_abandon_rate), h("div", { class: "muted" },
        windows.map((w) => t("window", { window: w.window, rate: w.rate == null ? t("noRate") : percent(w.rate), answers: w.live_answers })).join(" · "))),
      h("td", {}, causes.length ? h("ul", { class: "causes" }, causes.map(([cause, n]) => h("li", {}, `${cause}: ${n}`))) : t("none")),
      h("td", { class: "num", dataset: { figure: "dial_rate" } }, t("perMinute", { count: c.dial_rate_per_minute ?? 0 })),
      pacingCell(c.pacing),
      h("td", { class: "num", dataset: { figure: "contacts_left" } }, String(left)),
      h("td", { class: "num", dataset: { figure: "dialable_now" } }, String(c.dialability?.dialable_now ?? t("none")),
        c.dialability?.blocked_by?.length ? h("div", { class: "over" }, `${t("blockedBy")}: ${c.dialability.blocked_by.join(", ")}`) : null));
    return tr;
  });
  $("campaigns").tBodies[0].replaceChildren(...rows);
}

/** The queue's last pacing decision as its node reported it: the reason, then the figures. */
function pacingCell(pacing) {
  if (!pacing) return h("td", { dataset: { figure: "pacing" } }, t("noPacing"));
  const reason = pacing.reason.startsWith("capped:")
    ? t("reason.capped", { limit: t(`cap.${pacing.reason.slice(7)}`) })
    : t(`reason.${pacing.reason}`);
  return h("td", { dataset: { figure: "pacing", reason: pacing.reason } },
    h("div", {}, reason),
    h("div", { class: "muted" }, t("pacingFigures", {
      level: pacing.dial_level.toFixed(2), start: pacing.calls_to_start, reserve: pacing.reservations_to_request,
      inFlight: pacing.calls_in_flight, node: pacing.node, epoch: pacing.epoch,
    })));
}

/** A horizontal gauge: the rate's bar against the target's mark (both on 0 … 2×target). */
function gauge(rate, target) {
  const width = 120;
  const scale = Math.max((target || 0.03) * 2, rate ?? 0, 0.001);
  const x = (value) => Math.min(width, Math.round((value / scale) * width));
  const over = rate !== null && rate > target;
  const svg = svgElement("svg", { width, height: 16, viewBox: `0 0 ${width} 16`, role: "img", "aria-label": t("gauge", { rate: percent(rate), target: percent(target) }) });
  svg.append(
    svgElement("rect", { x: 0, y: 3, width, height: 10, fill: "#e4e8ee", stroke: "#8a94a3" }),
    svgElement("rect", { x: 0, y: 3, width: rate === null ? 0 : x(rate), height: 10, fill: over ? "#a4161a" : "#1d6b35" }),
    svgElement("line", { x1: x(target), x2: x(target), y1: 0, y2: 16, stroke: "#1b1f24", "stroke-width": 2 }));
  return h("div", { class: "gauge" }, svg, h("span", { class: over ? "over" : "" }, `${percent(rate)} / ${percent(target)}`));
}

function renderAgents(agents) {
  if (!agents.length) {
    $("agents").tBodies[0].replaceChildren(h("tr", {}, h("td", { colSpan: 6, class: "muted" }, t("noAgents"))));
    return;
  }
  fill("agents", agents.map((a) => [
    a.name ? `${a.name} (${a.agent})` : a.agent, a.team ?? t("none"),
    h("span", { class: `state-${a.state}` }, a.reason ? `${a.state}: ${a.reason}` : a.state),
    duration(a.time_in_state_ms), num(a.calls), a.phone ? `${a.phone}${a.queue ? ` · ${a.queue}` : ""}` : (a.queue ?? t("none")),
  ]));
}

// MARK: Charts (SVG drawn here: no library)

const charts = [
  ["attempts", (m) => m.attempts, (v) => String(v)],
  ["connects", (m) => m.connects, (v) => String(v)],
  ["abandonRate", (m) => m.abandon_rate, percent],
  ["occupancy", (m) => m.occupancy, percent],
];

function renderCharts(minutes) {
  const grid = $("charts");
  grid.replaceChildren(...charts.map(([name, pick, format]) => {
    const values = minutes.map(pick);
    const latest = values.length ? values.at(-1) : null;
    return h("figure", { class: "chart", dataset: { chart: name } },
      h("h3", {}, `${t(`chart.${name}`)}: ${latest == null ? t("none") : format(latest)}`),
      chart(values, t("chartLabel", { name: t(`chart.${name}`), value: latest == null ? t("none") : format(latest) })));
  }));
}

function chart(values, label) {
  const width = 300, height = 70, slots = 60;
  const svg = svgElement("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img", "aria-label": label });
  const present = values.filter((v) => v !== null && v !== undefined);
  const top = Math.max(...present, 0) || 1;
  const barWidth = width / slots;
  const offset = slots - values.length;
  values.forEach((value, index) => {
    if (value === null || value === undefined) return;
    const barHeight = Math.max(1, (value / top) * (height - 6));
    svg.append(svgElement("rect", {
      x: ((offset + index) * barWidth).toFixed(1), y: (height - barHeight).toFixed(1),
      width: Math.max(1, barWidth - 1).toFixed(1), height: barHeight.toFixed(1), fill: "#0b4f8a",
    }));
  });
  return svg;
}

function svgElement(tag, attributes) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

// MARK: Sign-in

function showSignIn(message = "") {
  $("live").hidden = true;
  $("signin-view").hidden = false;
  $("signin-error").textContent = message;
  $("token").focus();
}

function start() {
  translatePage();
  document.title = t("title");
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    session.token = $("token").value.trim();
    $("token").value = "";
    $("signin-view").hidden = true;
    $("live").hidden = false;
    follow();
  });
  if (!session.token) { showSignIn(); return; }
  $("live").hidden = false;
  follow();
}

start();
