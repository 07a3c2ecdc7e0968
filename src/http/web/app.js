// The supervisor's web dashboard: plain JS, no build step, nothing fetched
// from elsewhere. Reads GET /api/state, /healthz, /status, /api/executions/{id};
// follows GET /events (Server-Sent Events); sends the runbook actions as
// POST /api/children/{id}/{command} and /api/executions/{id}/{op} with the
// reason the confirmation asks for (docs/http.md, "Web dashboard").
"use strict";

const $ = (selector) => document.querySelector(selector);
const MAX_EVENTS = 500;

const view = {
  children: [],
  executions: [],
  selected: null,  // execution id shown in detail
  events: [],      // newest last
  types: new Set(),
  lastSequence: null,
};

// ---- helpers ----
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

function pill(node, text) {
  node.textContent = text;
  node.className = "pill s-" + String(text).replace(/[^A-Za-z0-9_-]/g, "");
}

function notice(text, isError = false) {
  const node = $("#notice");
  node.textContent = text;
  node.className = isError ? "error" : "";
}

function headers(json) {
  const out = {};
  if (json) out["Content-Type"] = "application/json";
  const token = sessionStorage.getItem("supervisor.token");
  if (token) out["Authorization"] = "Bearer " + token;
  return out;
}

async function getJson(path) {
  const response = await fetch(path, { headers: headers(false), cache: "no-store" });
  const body = await response.json().catch(() => ({}));
  return { status: response.status, body };
}

async function postJson(path, payload) {
  const response = await fetch(path, {
    method: "POST", headers: headers(true), body: JSON.stringify(payload),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = body.error || {};
    throw new Error(`${response.status} ${error.code || ""}: ${error.message || response.statusText}` +
                    (error.field ? ` (${error.field})` : ""));
  }
  return body;
}

// Coalesces bursts (a crash loop emits several events per restart).
function debounce(fn, ms) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => { timer = null; fn(); }, ms);
  };
}

// ---- the confirmation: every action says why ----
function confirmAction(question) {
  const dialog = $("#confirm");
  $("#confirm-question").textContent = question;
  const reason = $("#confirm-reason");
  reason.value = "";
  return new Promise((resolve) => {
    dialog.onclose = () => resolve(dialog.returnValue === "ok" ? reason.value.trim() : null);
    dialog.returnValue = "";
    dialog.showModal();
    reason.focus();
  });
}

async function runAction(question, path, extra = {}) {
  const reason = await confirmAction(question);
  if (!reason) return;
  try {
    await postJson(path, { reason, ...extra });
    notice(`done: ${question.replace(/\?$/, "")}`);
  } catch (error) {
    notice(error.message, true);
  }
  refreshState();
  refreshExecutions();
}

// The vocabulary's child commands (src/common/commands.cpp); remove and
// kill need "confirmed": true on the wire.
const CHILD_ACTIONS = [
  ["restart", "restart_child", false],
  ["pause", "pause_child", false],
  ["resume", "resume_child", false],
  ["quarantine", "quarantine_child", false],
  ["release", "release_child", false],
  ["remove", "remove_child", true],
];

// ---- the tree ----
function depthOf(record) {
  return Math.max(0, String(record.path || "").split("/").length - 2);
}

function renderChildren() {
  const body = $("#children tbody");
  body.replaceChildren();
  for (const child of view.children) {
    const budget = child.restart_budget || {};
    const exit = child.last_exit;
    const actions = el("td", { class: "actions" });
    for (const [label, command, dangerous] of CHILD_ACTIONS) {
      const button = el("button", { type: "button", "data-command": command }, label);
      button.onclick = () => runAction(
        `${label} ${child.id}?`,
        `/api/children/${encodeURIComponent(child.id)}/${command}`,
        dangerous ? { confirmed: true } : {});
      actions.append(button);
    }
    const state = el("b");
    pill(state, child.state);
    const row = el("tr", { "data-child": child.id },
      el("td", { class: "id", style: `padding-left:${6 + 16 * depthOf(child)}px` }, child.id),
      el("td", {}, child.kind),
      el("td", { class: "state" }, state),
      el("td", { class: "num restart_count" }, child.restart_count),
      el("td", { class: "num budget", title: `refill ${budget.refill_per_sec}/s` },
         `${Number(budget.tokens ?? 0).toFixed(1)}/${budget.capacity ?? 0}`),
      el("td", { class: "num backoff" }, child.backoff_ms ? `${child.backoff_ms} ms` : ""),
      el("td", { class: "last_exit", title: exit ? exit.reason : "" },
         exit ? `${exit.kind.replace("TaskExit::", "")}: ${exit.reason}` : ""),
      actions);
    if (child.quarantine_reason) row.title = "quarantined: " + child.quarantine_reason;
    body.append(row);
  }
}

async function refreshState() {
  try {
    const { status, body } = await getJson("/api/state");
    if (status !== 200) throw new Error((body.error || {}).message || status);
    const state = body.state || body;  // the socket's state answer
    view.children = state.child_runtime_records || [];
    const counts = state.children || {};
    $("#counts").textContent = `${counts.running ?? 0} running · ${counts.restarting ?? 0} restarting · ` +
      `${counts.quarantined ?? 0} quarantined · ${counts.stopped ?? 0} stopped`;
    $("#target").textContent = body.target_id || "";
    renderChildren();
  } catch (error) {
    notice("state: " + error.message, true);
  }
}
const refreshStateSoon = debounce(refreshState, 250);

async function refreshHealth() {
  try {
    const { body } = await getJson("/healthz");
    const health = body.health || {};
    pill($("#health"), health.status || body.status || "unknown");
    pill($("#link"), health.dashboard_link || "unknown");
    const reasons = [...(health.reasons || []), ...(body.failing || []).map((f) => "not ready: " + f)];
    $("#reasons").textContent = reasons.join(" · ");
  } catch (error) {
    pill($("#health"), "unreachable");
  }
}

// ---- executions ----
function renderExecutions() {
  const body = $("#executions tbody");
  body.replaceChildren();
  for (const execution of view.executions) {
    const state = el("b");
    pill(state, execution.state);
    const row = el("tr", { "data-execution": execution.execution_id },
      el("td", {}, execution.execution_id), el("td", { class: "state" }, state));
    if (execution.execution_id === view.selected) row.classList.add("selected");
    row.onclick = () => { view.selected = execution.execution_id; renderExecutions(); refreshExecution(); };
    body.append(row);
  }
}

async function refreshExecutions() {
  try {
    const { status, body } = await getJson("/status?limit=200");
    if (status !== 200) throw new Error((body.error || {}).message || status);
    view.executions = (body.executions || []).slice().reverse();
    renderExecutions();
  } catch (error) {
    notice("executions: " + error.message, true);
  }
}
const refreshExecutionsSoon = debounce(refreshExecutions, 250);

// Layers by longest path from a root; one column per layer.
function drawGraph(nodes) {
  const svg = $("#graph");
  const ns = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  const byId = new Map(nodes.map((node) => [node.node_id, node]));
  const layer = new Map();
  const layerOf = (id, seen = new Set()) => {
    if (layer.has(id)) return layer.get(id);
    if (seen.has(id)) return 0;
    seen.add(id);
    const deps = (byId.get(id) || {}).deps || [];
    const value = deps.length ? 1 + Math.max(...deps.map((dep) => layerOf(dep, seen))) : 0;
    layer.set(id, value);
    return value;
  };
  const columns = [];
  for (const node of nodes) {
    const l = layerOf(node.node_id);
    (columns[l] = columns[l] || []).push(node);
  }
  const width = 150, height = 34, gapX = 40, gapY = 12;
  const rows = Math.max(1, ...columns.map((column) => (column || []).length));
  svg.setAttribute("viewBox", `0 0 ${columns.length * (width + gapX) + 10} ${rows * (height + gapY) + 10}`);
  svg.style.height = `${Math.min(420, rows * (height + gapY) + 20)}px`;
  const position = new Map();
  columns.forEach((column, x) => (column || []).forEach((node, y) =>
    position.set(node.node_id, { x: 5 + x * (width + gapX), y: 5 + y * (height + gapY) })));
  for (const node of nodes) {
    const to = position.get(node.node_id);
    for (const dep of node.deps || []) {
      const from = position.get(dep);
      if (!from) continue;
      const line = document.createElementNS(ns, "line");
      line.setAttribute("x1", from.x + width); line.setAttribute("y1", from.y + height / 2);
      line.setAttribute("x2", to.x); line.setAttribute("y2", to.y + height / 2);
      line.setAttribute("stroke", "#90a4ae");
      svg.append(line);
    }
  }
  const fill = { COMPLETED: "#c8e6c9", RUNNING: "#ffe0b2", FAILED: "#ffcdd2", PENDING: "#eceff1",
                 READY: "#e3f2fd", RETRYING: "#ffe0b2", SKIPPED: "#f5f5f5" };
  for (const node of nodes) {
    const at = position.get(node.node_id);
    const group = document.createElementNS(ns, "g");
    group.setAttribute("data-node", node.node_id);
    const rect = document.createElementNS(ns, "rect");
    rect.setAttribute("x", at.x); rect.setAttribute("y", at.y);
    rect.setAttribute("width", width); rect.setAttribute("height", height);
    rect.setAttribute("rx", 4); rect.setAttribute("fill", fill[node.state] || "#eee");
    rect.setAttribute("stroke", "#78909c");
    const name = document.createElementNS(ns, "text");
    name.setAttribute("x", at.x + 6); name.setAttribute("y", at.y + 14);
    name.textContent = node.node_id;
    const state = document.createElementNS(ns, "text");
    state.setAttribute("x", at.x + 6); state.setAttribute("y", at.y + 28);
    state.textContent = node.state + (node.attempt > 1 ? ` (attempt ${node.attempt})` : "");
    group.append(rect, name, state);
    svg.append(group);
  }
}

async function refreshExecution() {
  const id = view.selected;
  if (!id) return;
  try {
    const { status, body } = await getJson(`/api/executions/${encodeURIComponent(id)}`);
    if (status !== 200) throw new Error((body.error || {}).message || status);
    if (id !== view.selected) return;
    $("#execution").hidden = false;
    $("#execution-id").textContent = id;
    pill($("#execution-state"), body.state);
    const actions = $("#execution-actions");
    actions.replaceChildren();
    for (const op of ["pause", "resume", "cancel"]) {
      const button = el("button", { type: "button", "data-op": op }, op);
      button.onclick = () => runAction(`${op} execution ${id}?`,
        `/api/executions/${encodeURIComponent(id)}/${op}`);
      actions.append(button);
    }
    actions.append(el("button", { type: "button", disabled: true,
      title: "rollback is not available yet (issue 10)" }, "rollback (not available yet)"));
    const nodes = body.nodes || [];
    $("#nodes tbody").replaceChildren(...nodes.map((node) => {
      const state = el("b");
      pill(state, node.state);
      return el("tr", { "data-node": node.node_id },
        el("td", {}, node.node_id), el("td", {}, (node.deps || []).join(", ")),
        el("td", { class: "state" }, state), el("td", { class: "num" }, node.attempt),
        el("td", {}, node.reason || ""));
    }));
    drawGraph(nodes);
  } catch (error) {
    notice("execution: " + error.message, true);
  }
}
const refreshExecutionSoon = debounce(refreshExecution, 250);

async function submitDag() {
  const text = $("#dag").value.trim();
  let spec;
  try {
    spec = JSON.parse(text);
  } catch (error) {
    return notice("the DAG is not JSON: " + error.message, true);
  }
  try {
    const answer = await postJson("/execute", spec);
    notice(`submitted ${answer.execution_id}`);
    view.selected = answer.execution_id;
    await refreshExecutions();
    refreshExecution();
  } catch (error) {
    notice(error.message, true);
  }
}

// ---- events ----
function eventMatches(event) {
  const child = $("#filter-child").value.trim();
  const type = $("#filter-type").value;
  const severity = $("#filter-severity").value;
  const text = $("#filter-text").value.trim().toLowerCase();
  if (child && !String(event.child_id || event.target_path || "").includes(child)) return false;
  if (type && event.event_type !== type) return false;
  if (severity && event.severity !== severity) return false;
  if (text && !JSON.stringify(event).toLowerCase().includes(text)) return false;
  return true;
}

function eventRow(event) {
  const payload = Object.entries(event.payload || {}).map(([k, v]) => `${k}=${v}`).join(" ");
  const time = event.occurred_at_unix_nanos
    ? new Date(event.occurred_at_unix_nanos / 1e6).toLocaleTimeString() : "";
  return el("tr", { "data-sequence": event.sequence ?? "" },
    el("td", { class: "num" }, event.sequence ?? ""), el("td", {}, time),
    el("td", {}, event.event_type), el("td", { class: "sev-" + event.severity }, event.severity),
    el("td", {}, event.child_id || event.target_path || ""), el("td", {}, payload));
}

function renderEvents() {
  const rows = view.events.filter(eventMatches).slice(-200).reverse().map(eventRow);
  $("#events tbody").replaceChildren(...rows);
}
const renderEventsSoon = debounce(renderEvents, 100);

function addEventType(type) {
  if (!type || view.types.has(type)) return;
  view.types.add(type);
  const select = $("#filter-type");
  const options = [...view.types].sort().map((t) => el("option", { value: t }, t));
  const current = select.value;
  select.replaceChildren(el("option", { value: "" }, "any"), ...options);
  select.value = current;
}

function onEvent(event) {
  view.events.push(event);
  if (view.events.length > MAX_EVENTS) view.events.splice(0, view.events.length - MAX_EVENTS);
  addEventType(event.event_type);
  renderEventsSoon();
  const type = String(event.event_type || "");
  if (type.startsWith("execution_") || type.startsWith("node_")) {
    refreshExecutionsSoon();
    const id = (event.payload || {}).execution_id;
    if (id && id === view.selected) refreshExecutionSoon();
  } else {
    refreshStateSoon();
  }
  if (type === "health_changed" || type.includes("endpoint") || type.includes("link")) refreshHealth();
}

function connectEvents() {
  // From the oldest event still held: the list starts with recent history.
  const source = new EventSource("/events?last_event_id=0");
  const stream = $("#stream");
  source.onopen = () => { pill(stream, "open"); document.body.dataset.stream = "open"; };
  source.onerror = () => {
    pill(stream, source.readyState === EventSource.CLOSED ? "closed" : "connecting");
    document.body.dataset.stream = "connecting";
  };
  source.onmessage = (message) => {
    let event;
    try { event = JSON.parse(message.data); } catch { return; }
    view.lastSequence = Number(message.lastEventId) || view.lastSequence;
    onEvent(event);
  };
  source.addEventListener("gap", (message) => {
    const gap = JSON.parse(message.data);
    onEvent({ event_type: "stream_gap", severity: "warning",
      payload: { lost: `${gap.from}..${gap.to}`, note: "no longer held by the daemon" } });
    refreshState();
    refreshExecutions();
  });
  source.addEventListener("reset", () => {
    view.events = [];
    renderEvents();
    refreshState();
    refreshExecutions();
  });
}

// ---- start ----
function start() {
  const token = $("#token");
  token.value = sessionStorage.getItem("supervisor.token") || "";
  token.onchange = () => sessionStorage.setItem("supervisor.token", token.value.trim());
  for (const id of ["#filter-child", "#filter-type", "#filter-severity", "#filter-text"])
    $(id).addEventListener("input", renderEvents);
  $("#submit-dag").onclick = submitDag;
  refreshHealth();
  refreshState();
  refreshExecutions();
  connectEvents();
  // Health has no event of its own for everything it reports (readiness,
  // suspects): polled. The tree and executions follow the events, and are
  // re-read now and then in case one was lost.
  setInterval(refreshHealth, 2000);
  setInterval(refreshState, 10000);
  setInterval(refreshExecutions, 10000);
}

start();
