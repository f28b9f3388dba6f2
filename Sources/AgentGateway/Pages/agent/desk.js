// The agent's desktop: one WebSocket to the gateway (/v1/agents/ws) carrying the cluster
// protocol's agent messages in protobuf's JSON form (proto/PROTOCOL.md §5.7).
import { t, translatePage } from "./strings.js";

const $ = (id) => document.getElementById(id);

/** The desk's state: what the gateway last said, and what the agent is working on. */
const desk = {
  socket: null,
  credentials: null,   // kept in memory only, to resume the session after a drop
  nextCorrelation: 1,
  waiting: new Map(),  // correlation id -> {resolve, reject}
  status: { state: "logged-out" },
  work: null,          // {request, queue, kind, contact, desk, connectedAt, offerUntil, offerTotal}
  reconnectDelay: 1000,
  reconnectTimer: null,
  closedOnPurpose: false,
  takenOver: false,
  wrapUpEndsAt: null,
};

// MARK: The connection

function socketURL() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/v1/agents/ws`;
}

function connect() {
  return new Promise((resolve, reject) => {
    setLink(t("connecting"));
    const socket = new WebSocket(socketURL());
    socket.onopen = () => { desk.socket = socket; setLink(t("connected")); resolve(); };
    socket.onerror = () => reject(new Error("connection failed"));
    socket.onmessage = (event) => receive(JSON.parse(event.data));
    socket.onclose = () => {
      if (desk.socket === socket) desk.socket = null;
      for (const pending of desk.waiting.values()) pending.reject(new Error("connection closed"));
      desk.waiting.clear();
      if (!desk.closedOnPurpose && !desk.takenOver && desk.credentials) scheduleReconnect();
      reject(new Error("connection closed"));
    };
  });
}

/** Sends one operation and waits for its answer (same correlation id). */
function request(message) {
  const socket = desk.socket;
  if (!socket || socket.readyState !== WebSocket.OPEN) return Promise.reject(new Error("not connected"));
  const correlationId = String(desk.nextCorrelation++);
  return new Promise((resolve, reject) => {
    desk.waiting.set(correlationId, { resolve, reject });
    socket.send(JSON.stringify({ correlationId, ...message }));
  });
}

function receive(envelope) {
  const id = envelope.correlationId ?? "0";
  if (id !== "0" && desk.waiting.has(id)) {
    const pending = desk.waiting.get(id);
    desk.waiting.delete(id);
    if (envelope.error) pending.reject(Object.assign(new Error(envelope.error.message ?? ""), { code: envelope.error.code }));
    else pending.resolve(envelope);
    return;
  }
  if (envelope.agentStatus) applyStatus(envelope.agentStatus);
  else if (envelope.agentOffer) showOffer(envelope.agentOffer);
  else if (envelope.agentOfferWithdrawn) offerWithdrawn(envelope.agentOfferWithdrawn);
  else if (envelope.agentCall) showCall(envelope.agentCall);
  else if (envelope.agentTakenOver) takenOver();
  else if (envelope.error) showBanner(t("error", { message: envelope.error.message ?? envelope.error.code }), true);
}

function scheduleReconnect() {
  clearTimeout(desk.reconnectTimer);
  const seconds = Math.round(desk.reconnectDelay / 1000);
  showBanner(t("reconnecting", { seconds }), true);
  setLink(t("connecting"));
  desk.reconnectTimer = setTimeout(async () => {
    try {
      await connect();
      await logIn(desk.credentials);
      desk.reconnectDelay = 1000;
      showBanner(t("reconnected"));
      setTimeout(() => hideBanner(), 4000);
    } catch {
      desk.reconnectDelay = Math.min(desk.reconnectDelay * 2, 10000);
      if (!desk.socket) scheduleReconnect();
    }
  }, desk.reconnectDelay);
}

function takenOver() {
  desk.takenOver = true;
  desk.credentials = null;
  showBanner(t("takenOver"), true);
  setLink("");
  desk.socket?.close();
  for (const button of document.querySelectorAll("#desk-view button")) button.disabled = true;
  $("sign-out").hidden = true;
  $("login-view").hidden = false;
  $("desk-view").hidden = true;
  $("sign-in").textContent = t("signInAgain");
}

// MARK: Operations

// A phone given at login (AgentLogin.phone): empty, or a SIP URI of at most 256 printable ASCII
// characters, `sip:user@host[:port]` (the gateway's rule, which refuses anything else). Checked
// here first, so that the agent hears about a typo at once, next to the field.
function phoneIsValid(phone) {
  if (phone === "") return true;
  if (phone.length > 256 || !/^[\x21-\x7e]+$/.test(phone)) return false;
  return /^sip:[^@]+@[^@]+$/.test(phone);
}

async function logIn(credentials) {
  const reply = await request({ agentLogin: credentials });
  const loggedIn = reply.agentLoggedIn;
  desk.credentials = credentials;
  desk.takenOver = false;
  $("agent-name").textContent = loggedIn.name || loggedIn.agent;
  $("login-view").hidden = true;
  $("desk-view").hidden = false;
  $("sign-out").hidden = false;
  for (const button of document.querySelectorAll("#desk-view button")) button.disabled = false;
  applyStatus(loggedIn.status ?? {});
  return loggedIn;
}

async function operate(message) {
  try {
    const reply = await request(message);
    if (reply.agentAck?.status) applyStatus(reply.agentAck.status);
    return reply;
  } catch (error) {
    showBanner(t("error", { message: error.message || error.code }), true);
    throw error;
  }
}

const goReady = () => operate({ agentSetReady: {} }).catch(() => {});
const goNotReady = () => operate({ agentSetNotReady: { reason: $("reason").value } }).catch(() => {});

function answerOffer(accept) {
  const work = desk.work;
  if (!work || !work.offerUntil) return;
  operate({ agentOfferAnswer: { request: work.request, accept } }).catch(() => {});
  work.offerUntil = null;
  if (!accept) { desk.work = null; render(); }
}

function hangUp() {
  const request = desk.status.request || desk.work?.request;
  if (request) operate({ agentHangup: { request } }).catch(() => {});
}

const extendWrapUp = () => operate({ agentExtendWrapUp: { seconds: 30 } }).catch(() => {});

async function saveDisposition(event) {
  event?.preventDefault();
  const work = desk.work;
  const name = $("disposition").value;
  $("disposition-error").textContent = "";
  if (!work?.contact?.attempt || !name) return;
  const definition = (work.desk?.dispositions ?? []).find((d) => d.name === name);
  const message = { attempt: work.contact.attempt, disposition: name, notes: $("notes").value };
  if (definition?.kind === "callback") {
    const at = zonedToUTC($("callback-at").value, work.desk?.timeZone ?? "UTC");
    if (!at || at <= Date.now()) {
      $("disposition-error").textContent = t("callbackInvalid");
      $("callback-at").focus();
      return;
    }
    message.callbackAtMs = String(at);
    message.privateCallback = $("callback-private").checked;
  }
  try {
    await operate({ agentDisposition: message });
    desk.work = null;
    showBanner(t("saved"));
    setTimeout(() => hideBanner(), 3000);
    render();
  } catch (error) {
    $("disposition-error").textContent = error.message || error.code;
  }
}

// MARK: Pushes

function applyStatus(status) {
  desk.status = status;
  desk.wrapUpEndsAt = status.state === "wrap-up" ? Date.now() + Number(status.wrapUpRemainingMs ?? 0) : null;
  if ((status.state === "available" || status.state === "not-ready") && desk.work && !desk.work.offerUntil) {
    desk.work = null;
  }
  render();
}

function showOffer(offer) {
  const total = Number(offer.expiresInMs ?? 0);
  desk.work = {
    request: offer.request, queue: offer.queue, kind: "PREVIEW_OFFER", contact: offer.contact ?? {},
    offerUntil: Date.now() + total, offerTotal: total, desk: null,
  };
  loadDesk(desk.work);
  render();
  $("accept").focus();
}

function offerWithdrawn(withdrawn) {
  if (desk.work?.request === withdrawn.request) {
    desk.work = null;
    showBanner(t("offerWithdrawn", { reason: withdrawn.reason ?? "" }));
    render();
  }
}

function showCall(call) {
  const known = desk.work?.request === call.request ? desk.work : null;
  desk.work = {
    request: call.request, queue: call.queue, kind: call.kind ?? "OUTBOUND_RESERVATION",
    contact: call.contact ?? known?.contact ?? {}, desk: known?.desk ?? null, connectedAt: Date.now(),
  };
  if (!desk.work.desk) loadDesk(desk.work);
  render();
}

/** Asks the gateway for the campaign's script and dispositions and the contact's history. */
async function loadDesk(work) {
  if (!work.contact?.attempt) return;
  try {
    const reply = await request({ agentDeskRequest: { attempt: work.contact.attempt } });
    work.desk = reply.agentDesk;
    if (desk.work === work) render();
  } catch {
    work.desk = { dispositions: [], history: [], failed: true };
    if (desk.work === work) render();
  }
}

// MARK: Rendering

function render() {
  const status = desk.status;
  const state = status.state || "logged-out";
  const badge = $("state");
  badge.textContent = t(`state.${state}`);
  badge.className = `badge ${state}`;
  $("pending").textContent = status.pendingChange ? t("pending", { change: status.pendingChange }) : "";
  $("ready").disabled = state !== "not-ready";
  $("not-ready").disabled = state === "logged-out" || (state === "not-ready" && !status.pendingChange && false);

  const work = desk.work;
  const offering = Boolean(work?.offerUntil) && (state === "reserved" || state === "available");
  const onCall = state === "on-call";
  const wrapping = state === "wrap-up";
  $("offer").hidden = !offering;
  $("call").hidden = !onCall;
  $("wrapup").hidden = !wrapping;
  $("idle").hidden = offering || onCall || wrapping;
  $("idle-text").textContent =
    state === "available" ? t("waitingText") : state === "reserved" ? t("reservedText") : t("idleText");
  $("contact").hidden = !(work && (offering || onCall || wrapping || state === "reserved"));
  if (work) renderContact(work);
  if (onCall) {
    const inbound = work?.kind === "INBOUND_CALL";
    const direction = $("direction");
    direction.textContent = inbound ? t("inbound") : t("outbound");
    direction.className = `direction ${inbound ? "inbound" : "outbound"}`;
    $("script").textContent = work?.desk?.script || t("noScript");
  }
  if (wrapping) renderWrapUp(work);
  tick();
}

function renderContact(work) {
  const fields = $("contact-fields");
  fields.replaceChildren();
  const rows = [[t("phone"), work.contact?.phone], [t("campaign"), work.desk?.campaignName || work.desk?.campaign]];
  if (work.desk?.timeZone) rows.push([t("timeZone"), work.desk.timeZone]);
  for (const [key, value] of Object.entries(work.contact?.fields ?? {}).sort()) rows.push([key, value]);
  for (const [name, value] of rows) {
    if (value === undefined || value === "") continue;
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    fields.append(dt, dd);
  }
  const body = $("history").tBodies[0];
  body.replaceChildren();
  const history = (work.desk?.history ?? []).filter((entry) => entry.attempt !== work.contact?.attempt);
  if (history.length === 0) {
    const row = body.insertRow();
    const cell = row.insertCell();
    cell.colSpan = 4;
    cell.textContent = t("noHistory");
    cell.className = "muted";
  }
  for (const entry of history) {
    const row = body.insertRow();
    const when = Number(entry.dialedAtMs ?? 0);
    for (const text of [
      when ? new Date(when).toLocaleString() : t("notDialed"), entry.outcome || t("open"),
      entry.disposition || t("none"), entry.agent || t("none"),
    ]) row.insertCell().textContent = text;
  }
}

function renderWrapUp(work) {
  const select = $("disposition");
  const dispositions = work?.desk?.dispositions ?? [];
  const key = dispositions.map((d) => d.name).join("\n");
  if (select.dataset.key !== key) {
    select.dataset.key = key;
    select.replaceChildren(new Option(t("chooseDisposition"), ""));
    for (const d of dispositions) select.append(new Option(`${d.name} (${t(`kind.${d.kind}`)})`, d.name));
    $("notes").value = "";
    $("callback-at").value = "";
    $("callback-private").checked = false;
  }
  $("disposition-error").textContent = work?.desk?.failed ? t("noDispositions") : $("disposition-error").textContent;
  $("callback-label").textContent = t("callbackLabel", { zone: work?.desk?.timeZone ?? "UTC" });
  updateCallbackFields();
  $("save-disposition").disabled = !work?.contact?.attempt;
}

function updateCallbackFields() {
  const work = desk.work;
  const definition = (work?.desk?.dispositions ?? []).find((d) => d.name === $("disposition").value);
  const callback = definition?.kind === "callback";
  $("callback-fields").hidden = !callback;
  $("callback-at").required = callback;
  const privateBox = $("callback-private");
  privateBox.disabled = !definition?.privateAllowed;
  if (!definition?.privateAllowed) privateBox.checked = false;
  if (callback && !$("callback-at").value) {
    // A default an hour from now, on the contact's clock.
    $("callback-at").value = utcToZoned(Date.now() + 3600_000, work?.desk?.timeZone ?? "UTC");
  }
}

/** The clock: countdowns, the call timer, the wrap-up's time left. */
function tick() {
  const work = desk.work;
  if (work?.offerUntil) {
    const left = Math.max(0, work.offerUntil - Date.now());
    $("offer-countdown").textContent = t("offerExpires", { seconds: Math.ceil(left / 1000) });
    $("offer-progress").value = work.offerTotal ? Math.round((left / work.offerTotal) * 1000) : 0;
  }
  if (desk.status.state === "on-call" && work?.connectedAt) {
    const seconds = Math.floor((Date.now() - work.connectedAt) / 1000);
    $("call-timer").textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  }
  if (desk.wrapUpEndsAt) {
    const left = Math.max(0, Math.ceil((desk.wrapUpEndsAt - Date.now()) / 1000));
    $("wrapup-left").textContent = t("wrapUpLeft", { seconds: left });
  }
}

// MARK: Time zones: the callback is entered on the contact's clock.

function zoneOffset(zone, utc) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(utc));
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second")) - utc;
}

/** "2027-01-02T09:30" on `zone`'s clock → milliseconds since 1970 (UTC); null if unreadable. */
export function zonedToUTC(value, zone) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value ?? "");
  if (!match) return null;
  const [, y, mo, d, h, mi] = match.map(Number);
  const naive = Date.UTC(y, mo - 1, d, h, mi);
  let utc = naive - zoneOffset(zone, naive);
  const again = naive - zoneOffset(zone, utc);
  if (again !== utc) utc = again;
  return utc;
}

function utcToZoned(utc, zone) {
  const local = new Date(utc + zoneOffset(zone, utc));
  return local.toISOString().slice(0, 16);
}

// MARK: Banner and link

function showBanner(text, bad = false) {
  const banner = $("banner");
  banner.textContent = text;
  banner.className = bad ? "banner bad" : "banner";
  banner.hidden = false;
}
function hideBanner() { $("banner").hidden = true; }
function setLink(text) { $("link").textContent = text ? `${t("connection")}: ${text}` : ""; }

// MARK: Start

function start() {
  translatePage();
  document.title = t("title");
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const credentials = { login: $("login").value.trim(), password: $("password").value };
    const phone = $("phone").value.trim();
    $("login-error").textContent = "";
    $("phone-error").textContent = "";
    $("phone").removeAttribute("aria-invalid");
    if (!phoneIsValid(phone)) {
      $("phone-error").textContent = t("phoneInvalid");
      $("phone").setAttribute("aria-invalid", "true");
      $("phone").focus();
      return;
    }
    // Sent only when given: an agent without a phone is bridged without audio.
    if (phone) credentials.phone = phone;
    $("sign-in").disabled = true;
    $("sign-in").textContent = t("signingIn");
    try {
      desk.closedOnPurpose = false;
      if (!desk.socket) await connect();
      await logIn(credentials);
      hideBanner();
      $("password").value = "";
      $("main").focus();
    } catch (error) {
      $("login-error").textContent = error.code === "LOGIN_FAILED" ? t("loginFailed") : (error.message || String(error));
    } finally {
      $("sign-in").disabled = false;
      $("sign-in").textContent = t("signIn");
    }
  });
  $("sign-out").addEventListener("click", async () => {
    try { await operate({ agentLogout: {} }); } catch { /* shown in the banner */ }
    desk.closedOnPurpose = true;
    desk.credentials = null;
    desk.socket?.close();
    desk.work = null;
    $("desk-view").hidden = true;
    $("login-view").hidden = false;
    $("sign-out").hidden = true;
    $("agent-name").textContent = "";
    applyStatus({ state: "logged-out" });
    setLink("");
  });
  $("ready").addEventListener("click", goReady);
  $("not-ready").addEventListener("click", goNotReady);
  $("accept").addEventListener("click", () => answerOffer(true));
  $("skip").addEventListener("click", () => answerOffer(false));
  $("hangup").addEventListener("click", hangUp);
  $("extend").addEventListener("click", extendWrapUp);
  $("disposition").addEventListener("change", updateCallbackFields);
  $("disposition-form").addEventListener("submit", saveDisposition);
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey && event.key === "Enter" && !$("wrapup").hidden) { saveDisposition(event); return; }
    if (!event.altKey || event.ctrlKey || event.metaKey) return;
    const actions = {
      r: () => !$("ready").disabled && goReady(), n: goNotReady,
      a: () => !$("offer").hidden && answerOffer(true), s: () => !$("offer").hidden && answerOffer(false),
      h: () => !$("call").hidden && hangUp(), e: () => !$("wrapup").hidden && extendWrapUp(),
    };
    const action = actions[event.key.toLowerCase()];
    if (action && !$("desk-view").hidden) { event.preventDefault(); action(); }
  });
  setInterval(tick, 250);
  render();
}

start();
