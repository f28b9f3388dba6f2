// The campaign manager's console: one page, one view per section (#/campaigns, #/lists …),
// talking only to the documented API (openapi.yaml).
import { api, APIError, encode, session, upload } from "./api.js";
import { h, makeTranslator } from "./i18n.js";
import { catalogs } from "./strings.js";

const { t, translatePage } = makeTranslator(catalogs);
const $ = (id) => document.getElementById(id);
const view = () => $("view");

// MARK: Shell

function notice(text, bad = false) {
  const box = $("notice");
  box.textContent = text;
  box.className = bad ? "notice bad" : "notice";
  box.hidden = !text;
}

function fail(error) {
  notice(t("failed", { message: error.message }), true);
  if (error.status === 401) signOut();
}

function table(headers, rows, caption) {
  return h("table", {},
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, headers.map((header) => h("th", { scope: "col" }, header)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell ?? t("none")))))));
}

function field(id, label, input, help) {
  input.id = id;
  return h("div", { class: "field", dataset: { field: input.dataset.field ?? id } },
    h("label", { for: id }, label), input, help ? h("small", { class: "help" }, help) : null,
    h("p", { class: "field-error", id: `${id}-error`, role: "alert" }));
}

/** Shows the server's field errors next to their inputs ("settings.ring_timeout" → its field). */
function showFieldErrors(form, error) {
  for (const p of form.querySelectorAll(".field-error")) p.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  let first = null;
  const unplaced = [];
  for (const [path, message] of Object.entries(error.fields ?? {})) {
    const target = fieldFor(form, path);
    if (!target) { unplaced.push(`${path}: ${message}`); continue; }
    const box = target.closest(".field");
    const slot = box.querySelector(".field-error");
    slot.textContent = slot.textContent ? `${slot.textContent}; ${message}` : message;
    target.setAttribute("aria-invalid", "true");
    target.setAttribute("aria-describedby", slot.id);
    first ??= target;
  }
  if (first) first.focus();
  notice(t("failed", { message: unplaced.join("; ") || error.message }), true);
}

function fieldFor(form, path) {
  // The most specific field whose path is a prefix of the error's path.
  let candidate = path;
  while (candidate) {
    const found = form.querySelector(`[data-field="${CSS.escape(candidate)}"] input, [data-field="${CSS.escape(candidate)}"] select, [data-field="${CSS.escape(candidate)}"] textarea`);
    if (found) return found;
    const cut = Math.max(candidate.lastIndexOf("."), candidate.lastIndexOf("["));
    candidate = cut > 0 ? candidate.slice(0, cut) : "";
  }
  return null;
}

function select(options, value) {
  return h("select", {}, options.map(([v, label]) => h("option", { value: v, selected: v === value }, label ?? v)));
}

const show = (value) => (value === undefined || value === null || value === "" ? t("none") : String(value));
const when = (value) => (value ? new Date(value).toLocaleString() : t("none"));
const ranks = (skills) => (skills ?? []).map((s) => `${s.queue}:${s.rank}`).join(", ");
function parseRanks(text, fieldName) {
  const skills = [];
  for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [queue, rank] = part.split(":").map((s) => s.trim());
    if (!queue || !/^\d+$/.test(rank ?? "")) throw new APIError(400, { message: `${fieldName}: write queue:rank, e.g. sales:1` });
    skills.push({ queue, rank: Number(rank) });
  }
  return skills;
}

// MARK: Campaigns

const settingsSpec = [
  ["general", [
    ["settings.status", "select", ["disabled", "enabled", "automatic"]],
    ["settings.mode", "select", ["preview", "progressive", "power", "predictive", "agentless"]],
  ]],
  ["pacing", [
    ["settings.calls_per_ready_agent", "number"], ["settings.calls_per_wrap_up_agent", "number"],
    ["settings.dial_rate", "integer"], ["settings.predictive.target", "select", ["", "abandonRate", "busyFactor", "averageWait"]],
    ["settings.predictive.target_abandon_rate", "number"], ["settings.predictive.target_busy_factor", "number"],
    ["settings.predictive.target_average_wait", "number"], ["settings.predictive.regulated_windows", "json"],
    ["settings.predictive.maximum_dial_rate", "number"], ["settings.predictive.correction_pace", "number"],
    ["settings.predictive.gain", "number"], ["settings.ivr_ports", "integer"],
    ["settings.overdial_limit_percent", "number"], ["settings.attempts_per_five_seconds", "integer"],
  ]],
  ["retries", [
    ["settings.ring_timeout", "number"], ["settings.maximum_attempts", "integer"], ["settings.retry_intervals", "json"],
  ]],
  ["callerIDSection", [["settings.caller_id", "json"]]],
  ["schedule", [["settings.time_zone", "text"], ["settings.windows", "json"], ["settings.calling_hours", "json"]]],
  ["handling", [
    ["settings.no_agent_policy", "json"], ["settings.answering_machine", "json"], ["settings.priority_order", "json"],
    ["settings.fresh_versus_retry", "select", ["freshFirst", "retriesFirst", "interleaved"]],
    ["settings.compliance", "select", ["", "none", "us-ftc", "uk-ofcom"]],
  ]],
  ["scriptSection", [["settings.script", "textarea"]]],
];

function getPath(object, path) {
  return path.split(".").reduce((value, key) => (value == null ? undefined : value[key]), object);
}
function setPath(object, path, value) {
  const keys = path.split(".");
  let target = object;
  for (const key of keys.slice(0, -1)) target = target[key] ??= {};
  target[keys.at(-1)] = value;
}

async function campaignsView() {
  const [{ campaigns }] = await Promise.all([api("GET", "/v1/campaigns")]);
  const rows = [];
  for (const campaign of campaigns) {
    rows.push([
      h("a", { href: `#/campaigns/${encode(campaign.id)}` }, campaign.id), campaign.name, campaign.list, campaign.queue,
      campaign.settings?.status, campaign.settings?.mode,
      h("span", { class: "row" },
        h("button", { type: "button", onclick: () => campaignAction(campaign.id, "start") }, t("start")),
        h("button", { type: "button", onclick: () => campaignAction(campaign.id, "stop") }, t("stop"))),
    ]);
  }
  view().replaceChildren(
    h("h2", {}, t("campaignsHeading")),
    h("p", {}, h("a", { class: "button", href: "#/campaigns/new", id: "new-campaign" }, t("newCampaign"))),
    table([t("id"), t("name"), t("list"), t("queue"), t("status"), t("mode"), t("actions")], rows));
}

async function campaignAction(id, action) {
  try {
    if (action === "automatic") await api("PUT", `/v1/campaigns/${encode(id)}/status`, { status: "automatic" });
    else await api("POST", `/v1/campaigns/${encode(id)}/${action}`);
    notice(t(action === "start" ? "started" : action === "stop" ? "stopped" : "scheduled"));
    route();
  } catch (error) { fail(error); }
}

async function campaignEditor(id) {
  const creating = id === undefined;
  const campaign = creating ? { settings: {} } : await api("GET", `/v1/campaigns/${encode(id)}`);
  const { lists } = await api("GET", "/v1/lists");
  let queues = [];
  try { queues = (await api("GET", "/v1/cluster")).queues.filter((q) => q.kind === "campaign").map((q) => q.id); } catch { /* optional */ }
  const form = h("form", { id: "campaign-form", novalidate: true });
  const inputs = {};
  const basics = h("fieldset", {}, h("legend", {}, t("general")));
  const idInput = h("input", { value: campaign.id ?? "", disabled: !creating, required: true, dataset: { field: "id" } });
  const nameInput = h("input", { value: campaign.name ?? "", required: true, dataset: { field: "name" } });
  const descriptionInput = h("input", { value: campaign.description ?? "", dataset: { field: "description" } });
  const listInput = select([["", ""], ...lists.map((l) => [l.id, `${l.id} — ${l.name}`])], campaign.list ?? "");
  listInput.dataset.field = "list";
  const queueInput = h("input", { value: campaign.queue ?? "", list: "queue-options", dataset: { field: "queue" } });
  queueInput.setAttribute("list", "queue-options");
  basics.append(
    field("campaign-id", t("id"), idInput), field("campaign-name", t("name"), nameInput),
    field("campaign-description", t("description"), descriptionInput), field("campaign-list", t("list"), listInput),
    field("campaign-queue", t("queue"), queueInput), h("datalist", { id: "queue-options" }, queues.map((q) => h("option", { value: q }))));
  form.append(basics);
  for (const [section, fields] of settingsSpec) {
    const box = h("fieldset", {}, h("legend", {}, t(section)));
    for (const [path, kind, options] of fields) {
      const current = getPath(campaign, path);
      const key = path.replace(/^settings\./, "");
      let input;
      if (kind === "select") input = select(options.map((o) => [o, o === "" ? t("clusterDefault") : o]), current ?? options[0]);
      else if (kind === "json") input = h("textarea", { rows: 2, class: "code", placeholder: t("jsonHint") }, current === undefined ? "" : JSON.stringify(current));
      else if (kind === "textarea") input = h("textarea", { rows: 6 }, current ?? "");
      else input = h("input", { type: kind === "text" ? "text" : "number", step: kind === "integer" ? "1" : "any", value: current ?? "" });
      input.dataset.field = path;
      inputs[path] = [input, kind];
      box.append(field(`f-${key.replace(/\./g, "-")}`, t(`field.${key}`), input));
    }
    form.append(box);
  }
  const buttons = h("div", { class: "row sticky" },
    h("button", { type: "submit", class: "primary", id: "save-campaign" }, creating ? t("create") : t("save")));
  if (!creating) {
    buttons.append(
      h("button", { type: "button", onclick: () => campaignAction(id, "start") }, t("start")),
      h("button", { type: "button", onclick: () => campaignAction(id, "stop") }, t("stop")),
      h("button", { type: "button", onclick: () => campaignAction(id, "automatic") }, t("automatic")),
      h("button", { type: "button", class: "danger", onclick: async () => {
        try { await api("DELETE", `/v1/campaigns/${encode(id)}`); notice(t("deleted")); location.hash = "#/campaigns"; } catch (error) { fail(error); }
      } }, t("delete")));
  }
  form.append(buttons);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: nameInput.value, description: descriptionInput.value, list: listInput.value, queue: queueInput.value, settings: {} };
    if (creating) body.id = idInput.value.trim();
    try {
      for (const [path, [input, kind]] of Object.entries(inputs)) {
        const text = input.value.trim();
        if (text === "") continue;
        let value = text;
        if (kind === "number" || kind === "integer") value = Number(text);
        if (kind === "textarea") value = input.value;
        if (kind === "json") {
          try { value = JSON.parse(text); } catch { throw new APIError(400, { message: `${path}: not valid JSON` }); }
        }
        setPath(body, path, value);
      }
      const saved = creating ? await api("POST", "/v1/campaigns", body) : await api("PUT", `/v1/campaigns/${encode(id)}`, body);
      notice(t("saved"));
      if (creating) location.hash = `#/campaigns/${encode(saved.id)}`;
      else route();
    } catch (error) {
      if (error instanceof APIError) showFieldErrors(form, error); else fail(error);
    }
  });
  const parts = [h("h2", {}, creating ? t("newCampaign") : t("editCampaign", { id })), form];
  if (!creating) parts.push(await dispositionsPanel(id), await figuresPanel(id));
  view().replaceChildren(...parts);
}

async function dispositionsPanel(campaign) {
  const { dispositions } = await api("GET", `/v1/campaigns/${encode(campaign)}/dispositions`);
  const name = h("input", { required: true, dataset: { field: "name" } });
  const kind = select([["final"], ["retry"], ["callback"]], "final");
  kind.dataset.field = "kind";
  const privateBox = h("input", { type: "checkbox" });
  const form = h("form", { id: "disposition-form", class: "inline" },
    field("disposition-name", t("name"), name), field("disposition-kind", t("dispositionKind"), kind),
    h("label", { class: "check" }, privateBox, " ", t("privateAllowed")),
    h("button", { type: "submit" }, t("add")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", `/v1/campaigns/${encode(campaign)}/dispositions`, { name: name.value, kind: kind.value, private_allowed: privateBox.checked });
      notice(t("saved"));
      route();
    } catch (error) { error instanceof APIError ? showFieldErrors(form, error) : fail(error); }
  });
  return h("section", { class: "panel", "aria-labelledby": "dispositions-heading" },
    h("h3", { id: "dispositions-heading" }, t("dispositionsHeading")),
    table([t("name"), t("dispositionKind"), t("privateAllowed"), t("actions")], dispositions.map((d) => [
      d.name, d.kind, d.private_allowed ? t("yes") : t("no"),
      h("button", { type: "button", onclick: async () => {
        try { await api("DELETE", `/v1/campaigns/${encode(campaign)}/dispositions/${encode(d.name)}`); route(); } catch (error) { fail(error); }
      } }, t("delete")),
    ])), form);
}

async function figuresPanel(campaign) {
  const [report, summary] = await Promise.all([
    api("GET", `/v1/campaigns/${encode(campaign)}/report`), api("GET", `/v1/campaigns/${encode(campaign)}/dialability`),
  ]);
  return h("section", { class: "panel", "aria-labelledby": "figures-heading" },
    h("h3", { id: "figures-heading" }, t("figuresHeading")),
    table([t("contacts"), t("dialableNow"), t("attempts"), t("liveAnswers"), t("abandons")],
      [[report.contacts, summary.dialable_now, report.attempts, report.live_answers, report.abandons]]),
    h("p", {}, h("a", { href: `#/dialability?campaign=${encode(campaign)}` }, t("nav.dialability"))));
}

// MARK: Lists and imports

async function listsView(selected) {
  const { lists } = await api("GET", "/v1/lists");
  const id = h("input", { required: true, dataset: { field: "id" } });
  const name = h("input", { required: true, dataset: { field: "name" } });
  const create = h("form", { id: "list-form", class: "inline" },
    field("list-id", t("id"), id), field("list-name", t("name"), name), h("button", { type: "submit" }, t("create")));
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", "/v1/lists", { id: id.value.trim(), name: name.value });
      location.hash = `#/lists/${encode(id.value.trim())}`;
    } catch (error) { error instanceof APIError ? showFieldErrors(create, error) : fail(error); }
  });
  const parts = [
    h("h2", {}, t("listsHeading")),
    table([t("id"), t("name"), t("campaign"), t("contacts")], lists.map((list) => [
      h("a", { href: `#/lists/${encode(list.id)}` }, list.id), list.name, list.campaign, list.contact_count,
    ])),
    h("h3", {}, t("newList")), create,
  ];
  if (selected) parts.push(await importPanel(selected));
  view().replaceChildren(...parts);
}

async function importPanel(list) {
  const file = h("input", { type: "file", required: true, accept: ".csv,.json,text/csv,application/json" });
  const format = select([["csv"], ["json"]], "csv");
  const mode = select([["append"], ["replace"]], "append");
  const region = h("input", { value: "", placeholder: "US", size: 4 });
  const maxRejected = h("input", { value: "", placeholder: "5%" });
  maxRejected.dataset.field = "max_rejected";
  const dryRun = h("input", { type: "checkbox" });
  const uploadBar = h("progress", { id: "upload-progress", max: 100, value: 0, "aria-label": t("uploadProgress") });
  const jobLine = h("p", { id: "job-progress", role: "status", "aria-live": "polite" });
  const rejected = h("div", { id: "rejected" });
  const form = h("form", { id: "import-form" },
    field("import-file", t("file"), file), field("import-format", t("format"), format),
    field("import-mode", t("importMode"), mode), field("import-region", t("defaultRegion"), region),
    field("import-max-rejected", t("maxRejected"), maxRejected),
    h("label", { class: "check" }, dryRun, " ", t("dryRun")),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary", id: "upload" }, t("upload")),
      h("label", { for: "upload-progress" }, t("uploadProgress")), uploadBar),
    jobLine, rejected);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    const query = new URLSearchParams({ format: format.value, mode: mode.value, name: chosen.name });
    if (region.value.trim()) query.set("default_region", region.value.trim());
    if (maxRejected.value.trim()) query.set("max_rejected", maxRejected.value.trim());
    if (dryRun.checked) query.set("dry_run", "true");
    uploadBar.value = 0;
    rejected.replaceChildren();
    try {
      let job = await upload(`/v1/lists/${encode(list)}/imports?${query}`, chosen, (share) => { uploadBar.value = Math.round(share * 100); });
      job = job.job ?? job;
      // The job runs on the manager: follow it until it ends.
      while (job.status === "queued" || job.status === "running") {
        jobLine.textContent = jobText(job);
        await new Promise((resolve) => setTimeout(resolve, 400));
        job = await api("GET", `/v1/imports/${job.id}`);
      }
      jobLine.textContent = jobText(job) + (job.error ? ` — ${job.error}` : "");
      rejected.replaceChildren(await rejectedTable(job.id));
      history.replaceWith((history = await historyTable(list, rejected)));
    } catch (error) { error instanceof APIError ? showFieldErrors(form, error) : fail(error); }
  });
  let history = await historyTable(list, rejected);
  return h("section", { class: "panel", "aria-labelledby": "import-heading" },
    h("h3", { id: "import-heading" }, t("importHeading", { list })), form,
    h("h3", {}, t("historyHeading")), h("div", {}, history));
}

function jobText(job) {
  return t("jobProgress", { id: job.id, status: job.status, rows: job.rows_read ?? 0, accepted: job.accepted ?? 0, duplicates: job.duplicates ?? 0, rejected: job.rejected ?? 0 });
}

async function rejectedTable(job) {
  const { rows } = await api("GET", `/v1/imports/${job}/rejected`);
  if (!rows.length) return h("p", {}, t("noRejected"));
  return h("div", {}, table([t("row"), t("reason")], rows.map((r) => [r.row, r.reason]), t("rejectedHeading", { id: job })));
}

async function historyTable(list, rejectedSlot) {
  const { imports } = await api("GET", `/v1/lists/${encode(list)}/imports`);
  return table([t("job"), t("source"), t("status"), t("created"), t("rowsRead"), t("accepted"), t("duplicates"), t("rejected")],
    imports.map((job) => [
      h("button", { type: "button", class: "link", onclick: async () => rejectedSlot.replaceChildren(await rejectedTable(job.id)) }, String(job.id)),
      job.source_name, job.status + (job.dry_run ? " (dry run)" : ""), when(job.created_at), job.rows_read, job.accepted, job.duplicates, job.rejected,
    ]));
}

// MARK: Contacts

async function contactsView(params) {
  const inputs = {
    list: h("input", { value: params.get("list") ?? "" }), campaign: h("input", { value: params.get("campaign") ?? "" }),
    phone: h("input", { value: params.get("phone") ?? "" }),
    state: select([["", t("anyState")], ["fresh"], ["scheduled"], ["inAttempt"], ["final"]], params.get("state") ?? ""),
    last_outcome: select([["", t("anyState")], ...["connected", "abandoned", "machine", "busy", "noAnswer", "invalidNumber", "networkFailure", "unknown"].map((o) => [o])], params.get("last_outcome") ?? ""),
    min_attempts: h("input", { type: "number", min: 0, value: params.get("min_attempts") ?? "" }),
  };
  const form = h("form", { id: "contact-search", class: "inline" },
    field("search-list", t("list"), inputs.list), field("search-campaign", t("campaign"), inputs.campaign),
    field("search-phone", t("phone"), inputs.phone), field("search-state", t("state"), inputs.state),
    field("search-outcome", t("lastOutcome"), inputs.last_outcome), field("search-min", t("minAttempts"), inputs.min_attempts),
    h("button", { type: "submit", class: "primary" }, t("search")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [key, input] of Object.entries(inputs)) if (input.value.trim()) query.set(key, input.value.trim());
    location.hash = `#/contacts?${query}`;
  });
  const parts = [h("h2", {}, t("contactsHeading")), form];
  const query = new URLSearchParams(params);
  query.delete("id");
  query.set("limit", "50");
  try {
    const page = await api("GET", `/v1/contacts?${query}`);
    parts.push(h("p", {}, t("total", { count: page.total ?? page.contacts.length })),
      table([t("id"), t("phone"), t("campaign"), t("state"), t("attempts"), t("lastOutcome")], page.contacts.map((c) => [
        h("a", { href: `#/contacts?${new URLSearchParams({ ...Object.fromEntries(params), id: c.id })}` }, c.id),
        c.phone_number, c.campaign, c.state?.kind, c.attempts, c.last_outcome,
      ])));
  } catch (error) { fail(error); }
  if (params.get("id")) parts.push(await contactEditor(params.get("id")));
  view().replaceChildren(...parts);
}

async function contactEditor(id) {
  const [contact, { attempts }] = await Promise.all([
    api("GET", `/v1/contacts/${encode(id)}`), api("GET", `/v1/contacts/${encode(id)}/attempts`),
  ]);
  const phone = h("input", { value: contact.phone_number, dataset: { field: "phone" } });
  const zone = h("input", { value: contact.time_zone ?? "", dataset: { field: "time_zone" } });
  const callerID = h("input", { value: contact.caller_id ?? "", dataset: { field: "caller_id" } });
  const priority = h("input", { type: "number", value: contact.priority ?? 0, dataset: { field: "priority" } });
  const fields = h("textarea", { rows: 3, class: "code", dataset: { field: "fields" } }, JSON.stringify(contact.fields ?? {}));
  const form = h("form", { id: "contact-form" },
    field("contact-phone", t("phone"), phone), field("contact-zone", t("timeZoneLabel"), zone),
    field("contact-caller-id", t("callerID"), callerID), field("contact-priority", t("priority"), priority),
    field("contact-fields", t("fields"), fields),
    h("div", { class: "row" },
      h("button", { type: "submit", class: "primary" }, t("save")),
      h("button", { type: "button", id: "reset-attempts", onclick: async () => {
        try { await api("POST", `/v1/contacts/${encode(id)}/reset-attempts`); notice(t("resetDone")); route(); } catch (error) { fail(error); }
      } }, t("resetAttempts")),
      h("a", { href: `#/dialability?contact=${encode(id)}` }, t("nav.dialability"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      let parsed;
      try { parsed = JSON.parse(fields.value || "{}"); } catch { throw new APIError(400, { message: "fields: not valid JSON" }); }
      const body = { phone: phone.value, priority: Number(priority.value || 0), fields: parsed };
      if (zone.value.trim()) body.time_zone = zone.value.trim();
      if (callerID.value.trim()) body.caller_id = callerID.value.trim();
      await api("PUT", `/v1/contacts/${encode(id)}`, body);
      notice(t("saved"));
      route();
    } catch (error) { error instanceof APIError ? showFieldErrors(form, error) : fail(error); }
  });
  return h("section", { class: "panel", "aria-labelledby": "contact-heading" },
    h("h3", { id: "contact-heading" }, `${id} — ${contact.state?.kind ?? ""}`), form,
    h("h3", {}, t("attemptsHeading")),
    table([t("id"), t("dialed"), t("outcome"), t("agent"), t("disposition")], attempts.map((a) => [
      a.id, when(a.dialed_at), a.outcome, a.agent, a.disposition?.name,
    ])));
}

// MARK: Do not call

async function dncView(params) {
  const { campaigns } = await api("GET", "/v1/campaigns");
  const scope = params.get("campaign") ?? "";
  const base = scope ? `/v1/campaigns/${encode(scope)}/dnc` : "/v1/dnc";
  const { numbers } = await api("GET", `${base}?limit=200`);
  const scopeSelect = select([["", t("global")], ...campaigns.map((c) => [c.id])], scope);
  scopeSelect.addEventListener("change", () => { location.hash = scopeSelect.value ? `#/dnc?campaign=${encode(scopeSelect.value)}` : "#/dnc"; });
  const phone = h("input", { required: true, dataset: { field: "phone" } });
  const note = h("input", { dataset: { field: "note" } });
  const form = h("form", { id: "dnc-form", class: "inline" },
    field("dnc-phone", t("phone"), phone), field("dnc-note", t("note"), note), h("button", { type: "submit" }, t("add")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const body = { phone: phone.value.trim() };
      if (note.value.trim()) body.note = note.value.trim();
      await api("POST", base, body);
      notice(t("saved"));
      route();
    } catch (error) { error instanceof APIError ? showFieldErrors(form, error) : fail(error); }
  });
  view().replaceChildren(h("h2", {}, t("dncHeading")), field("dnc-scope", t("scope"), scopeSelect), form,
    table([t("phone"), t("note"), t("addedAt"), t("actions")], numbers.map((n) => [
      n.phone, n.note, when(n.added_at),
      h("button", { type: "button", onclick: async () => {
        try { await api("DELETE", `${base}/${encode(n.phone)}`); route(); } catch (error) { fail(error); }
      } }, t("remove")),
    ])));
}

// MARK: Agents and teams

async function agentsView(params) {
  const [{ agents }, { teams }] = await Promise.all([api("GET", "/v1/agents"), api("GET", "/v1/teams")]);
  const editing = agents.find((a) => a.id === params.get("id"));
  const id = h("input", { value: editing?.id ?? "", disabled: Boolean(editing), dataset: { field: "id" } });
  const login = h("input", { value: editing?.login ?? "", dataset: { field: "login" } });
  const name = h("input", { value: editing?.name ?? "", dataset: { field: "name" } });
  const team = select([["", t("none")], ...teams.map((x) => [x.id, x.name])], editing?.team ?? "");
  team.dataset.field = "team";
  const skills = h("input", { value: ranks(editing?.skills), placeholder: "sales:1, support:2", dataset: { field: "skills" } });
  const password = h("input", { type: "password", autocomplete: "new-password", dataset: { field: "password" } });
  const form = h("form", { id: "agent-form" },
    field("agent-id", t("id"), id), field("agent-login", t("login"), login), field("agent-name", t("name"), name),
    field("agent-team", t("team"), team), field("agent-skills", t("skills"), skills), field("agent-password", t("password"), password),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, editing ? t("save") : t("create")),
      editing ? h("a", { href: "#/agents" }, t("cancel")) : null));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const body = { login: login.value.trim(), name: name.value, skills: parseRanks(skills.value, "skills") };
      if (team.value) body.team = team.value;
      if (password.value) body.password = password.value;
      if (editing) await api("PUT", `/v1/agents/${encode(editing.id)}`, body);
      else await api("POST", "/v1/agents", { id: id.value.trim(), ...body });
      notice(t("saved"));
      location.hash = "#/agents";
      route();
    } catch (error) { error instanceof APIError ? showFieldErrors(form, error) : fail(error); }
  });
  view().replaceChildren(h("h2", {}, t("agentsHeading")),
    table([t("id"), t("login"), t("name"), t("team"), t("effectiveSkills"), t("actions")], agents.map((a) => [
      a.id, a.login, a.name, a.team, ranks(a.effective_skills),
      h("span", { class: "row" }, h("a", { href: `#/agents?id=${encode(a.id)}` }, t("edit")),
        h("button", { type: "button", onclick: async () => { try { await api("DELETE", `/v1/agents/${encode(a.id)}`); route(); } catch (error) { fail(error); } } }, t("delete"))),
    ])),
    h("h3", {}, editing ? `${t("edit")} ${editing.id}` : t("newAgent")), form);
}

async function teamsView(params) {
  const { teams } = await api("GET", "/v1/teams");
  const editing = teams.find((x) => x.id === params.get("id"));
  const id = h("input", { value: editing?.id ?? "", disabled: Boolean(editing), dataset: { field: "id" } });
  const name = h("input", { value: editing?.name ?? "", dataset: { field: "name" } });
  const ranking = h("input", { value: ranks(editing?.queue_ranking), placeholder: "sales:1", dataset: { field: "queue_ranking" } });
  const form = h("form", { id: "team-form" },
    field("team-id", t("id"), id), field("team-name", t("name"), name), field("team-ranking", t("queueRanking"), ranking),
    h("button", { type: "submit", class: "primary" }, editing ? t("save") : t("create")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const body = { name: name.value, queue_ranking: parseRanks(ranking.value, "queue_ranking") };
      if (editing) await api("PUT", `/v1/teams/${encode(editing.id)}`, body);
      else await api("POST", "/v1/teams", { id: id.value.trim(), ...body });
      notice(t("saved"));
      location.hash = "#/teams";
      route();
    } catch (error) { error instanceof APIError ? showFieldErrors(form, error) : fail(error); }
  });
  view().replaceChildren(h("h2", {}, t("teamsHeading")),
    table([t("id"), t("name"), t("queueRanking"), t("members"), t("actions")], teams.map((x) => [
      x.id, x.name, ranks(x.queue_ranking), (x.members ?? []).join(", "),
      h("span", { class: "row" }, h("a", { href: `#/teams?id=${encode(x.id)}` }, t("edit")),
        h("button", { type: "button", onclick: async () => { try { await api("DELETE", `/v1/teams/${encode(x.id)}`); route(); } catch (error) { fail(error); } } }, t("delete"))),
    ])),
    h("h3", {}, editing ? `${t("edit")} ${editing.id}` : t("newTeam")), form);
}

// MARK: Why not dialable

async function dialabilityView(params) {
  const { campaigns } = await api("GET", "/v1/campaigns");
  const campaign = select([["", ""], ...campaigns.map((c) => [c.id])], params.get("campaign") ?? "");
  const contact = h("input", { value: params.get("contact") ?? "" });
  const campaignForm = h("form", { class: "inline", id: "explain-campaign" }, field("explain-campaign-id", t("campaign"), campaign), h("button", { type: "submit" }, t("explain")));
  const contactForm = h("form", { class: "inline", id: "explain-contact" }, field("explain-contact-id", t("contactID"), contact), h("button", { type: "submit" }, t("explain")));
  campaignForm.addEventListener("submit", (event) => { event.preventDefault(); location.hash = `#/dialability?campaign=${encode(campaign.value)}`; });
  contactForm.addEventListener("submit", (event) => { event.preventDefault(); location.hash = `#/dialability?contact=${encode(contact.value.trim())}`; });
  const parts = [h("h2", {}, t("dialabilityHeading")), h("h3", {}, t("campaignExplorer")), campaignForm];
  if (params.get("campaign")) {
    try {
      const s = await api("GET", `/v1/campaigns/${encode(params.get("campaign"))}/dialability`);
      parts.push(table([t("contacts"), t("dialableNow"), t("held"), t("heldUntilTime"), t("nextRelease")],
        [[s.contacts, s.dialable_now, s.held, s.held_until_time, when(s.next_release)]]),
      table([t("rule"), t("contacts")], Object.entries(s.held_by ?? {}).map(([rule, count]) => [rule, count]), t("heldBy")),
      h("p", { id: "blocked-by" }, s.blocked_by?.length ? `${t("blockedBy")}: ${s.blocked_by.join(", ")}` : t("notBlocked")));
    } catch (error) { fail(error); }
  }
  parts.push(h("h3", {}, t("contactExplorer")), contactForm);
  if (params.get("contact")) {
    try {
      const d = await api("GET", `/v1/contacts/${encode(params.get("contact"))}/dialability`);
      parts.push(h("p", {}, t("dialable", { value: d.dialable ? t("yes") : t("no") })),
        table([t("rule"), t("dialableAt")], (d.holds ?? []).map((hold) => [hold.rule, hold.dialable_at ? when(hold.dialable_at) : t("never")])),
        h("p", {}, t("earliest", { value: d.earliest_dialable ? when(d.earliest_dialable) : t("never") })));
    } catch (error) { fail(error); }
  }
  view().replaceChildren(...parts);
}

// MARK: Routing and sign-in

async function route() {
  if (!session.token) { showSignIn(); return; }
  $("signin-view").hidden = true;
  $("app").hidden = false;
  const [path, query = ""] = (location.hash.slice(1) || "/campaigns").split("?");
  const params = new URLSearchParams(query);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === `#/${parts[0]}`);
    if (link.hasAttribute("aria-current")) link.setAttribute("aria-current", "page");
  }
  try {
    switch (parts[0]) {
      case "campaigns": await (parts[1] === "new" ? campaignEditor() : parts[1] ? campaignEditor(parts[1]) : campaignsView()); break;
      case "lists": await listsView(parts[1]); break;
      case "contacts": await contactsView(params); break;
      case "dnc": await dncView(params); break;
      case "agents": await agentsView(params); break;
      case "teams": await teamsView(params); break;
      case "dialability": await dialabilityView(params); break;
      default: location.hash = "#/campaigns";
    }
  } catch (error) { fail(error); }
}

function showSignIn() {
  $("app").hidden = true;
  $("signin-view").hidden = false;
  $("token").focus();
}

function signOut() {
  session.token = null;
  showSignIn();
}

function start() {
  translatePage();
  document.title = t("title");
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    session.token = $("token").value.trim();
    try {
      await api("GET", "/v1/campaigns");
      $("token").value = "";
      $("signin-error").textContent = "";
      notice("");
      route();
    } catch (error) {
      session.token = null;
      $("signin-error").textContent = t("badToken", { message: error.message });
    }
  });
  $("sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", () => { notice(""); route(); });
  route();
}

start();
