// The NrpHost dashboard: experiments to launch, the process's simulations, and one simulation in detail (controls,
// clocks, runtime errors, output and rate), kept live by GET /simulation/{id}/events.

import * as api from "./api.js";
import { follow } from "./events.js";
import { RateChart, addSample } from "./chart.js";

const FINAL = new Set(["stopped", "failed"]);
const POLL_MS = 3000;
const MAX_LOG_LINES = 2000;
const MAX_STREAMS = 4; // browsers allow six connections per host over HTTP/1.1; keep some for requests

const $ = (id) => document.getElementById(id);

/** Per simulation: what GET /simulation said, the last status, errors, output, chart samples and its stream. */
const simulations = new Map();
let selected = null;
let needsToken = false;

// Which token the page asks for, from /dashboard/settings.json: "proxy", "token", "oidc" or "none".
let tokenKind = "proxy";
const TOKEN_KINDS = {
  proxy: { label: "Storage Proxy token", source: "This NrpHost uses the NRP Storage Proxy." },
  token: { label: "API token", source: "This NrpHost needs its API token (printed when it started, or its NrpHost:Api:Token)." },
  oidc: { label: "Access token", source: "This NrpHost needs an access token of its identity provider." },
};

function describeToken() {
  const kind = TOKEN_KINDS[tokenKind] ?? TOKEN_KINDS.token;
  $("token-label").textContent = kind.label;
  $("token-source").textContent = kind.source;
  return kind;
}
const chart = new RateChart($("rate-chart"), $("rate-caption"));

function record(id) {
  let entry = simulations.get(id);
  if (!entry) {
    entry = {
      id, info: null, status: null, everStarted: false, errors: [], log: [], points: [], stream: null,
      ended: false, refused: false, busy: false,
    };
    simulations.set(id, entry);
  }
  return entry;
}

function stateOf(entry) {
  return entry.status?.state ?? entry.info?.state ?? "—";
}

const seconds = (value) => (typeof value === "number" ? `${value.toFixed(2)} s` : "—");

// ---- alerts and the token ----------------------------------------------------------------------------------------

function showAlert(message) {
  const alert = $("alert");
  alert.textContent = message;
  alert.hidden = !message;
}

function showTokenForm(message) {
  needsToken = true;
  $("token-form").hidden = false;
  $("token").required = !api.token();
  $("token-state").textContent = api.token() ? "A token is in use." : "No token yet.";
  if (message) {
    showAlert(message);
  }
}

async function handleFailure(error, what) {
  if (error instanceof api.ApiError && error.status === 401) {
    const kind = describeToken();
    showTokenForm(api.token()
      ? `${what}: the ${kind.label.toLowerCase()} was refused (${error.message}) Enter another one.`
      : `${what}: ${kind.source} Please enter your token.`);
    $("token").focus();
    return;
  }
  const detail = error instanceof api.ApiError && error.data && error.data !== error.message ? ` (${error.data})` : "";
  showAlert(`${what}: ${error.message}${detail}`);
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("token").value.trim();
  if (!value) {
    return;
  }
  api.setToken(value);
  $("token").value = "";
  showAlert("");
  showTokenForm();
  refreshAll();
});

$("token-forget").addEventListener("click", () => {
  api.setToken("");
  for (const entry of simulations.values()) {
    entry.stream?.close();
    entry.stream = null;
  }
  $("experiments").replaceChildren();
  showTokenForm("The token was forgotten: enter one to see and launch experiments.");
  $("token").focus();
});

// ---- experiments -------------------------------------------------------------------------------------------------

async function loadExperiments() {
  let experiments;
  try {
    experiments = await api.listExperiments();
  } catch (error) {
    await handleFailure(error, "The experiments could not be listed");
    return;
  }
  const list = $("experiments");
  list.replaceChildren(...experiments.map(experimentItem));
  $("experiments-empty").hidden = experiments.length > 0;
}

function experimentItem(experiment) {
  const item = document.createElement("li");
  item.className = "experiment";
  const title = document.createElement("h3");
  title.textContent = experiment.name;
  const header = document.createElement("div");
  header.className = "experiment-header";
  header.append(title);
  if (experiment.name !== experiment.id) {
    const id = document.createElement("code");
    id.textContent = experiment.id;
    header.append(id);
  }
  item.append(header);

  if (experiment.description) {
    const description = document.createElement("p");
    description.className = "description";
    description.textContent = experiment.description;
    item.append(description);
  }

  const actions = document.createElement("div");
  actions.className = "experiment-actions";
  let select = null;
  if (experiment.configurations.length > 1) {
    const selectId = `configuration-${experiment.id}`;
    const label = document.createElement("label");
    label.htmlFor = selectId;
    label.textContent = "Configuration";
    select = document.createElement("select");
    select.id = selectId;
    select.setAttribute("aria-label", `Configuration for ${experiment.id}`);
    for (const configuration of experiment.configurations) {
      select.append(new Option(configuration, configuration));
    }
    actions.append(label, select);
  }

  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Launch";
  button.setAttribute("aria-label", `Launch ${experiment.id}`);
  button.addEventListener("click", () => launch(experiment, select?.value ?? experiment.configurations[0], button));
  actions.append(button);
  item.append(actions);
  return item;
}

async function launch(experiment, configuration, button) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    const simulation = await api.launch(experiment.id, configuration);
    showAlert("");
    const entry = record(simulation.simulationID);
    entry.info = simulation;
    select(simulation.simulationID);
    await loadSimulations();
  } catch (error) {
    await handleFailure(error, `${experiment.id} could not be launched`);
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

// ---- simulations -------------------------------------------------------------------------------------------------

async function loadSimulations() {
  let list;
  try {
    list = await api.listSimulations();
  } catch (error) {
    await handleFailure(error, "The simulations could not be listed");
    return;
  }
  for (const info of list) {
    const entry = record(info.simulationID);
    entry.info = info;
  }
  if (selected === null && list.length > 0) {
    const running = list.filter((s) => !FINAL.has(s.state)).at(-1);
    if (running) {
      select(running.simulationID);
    }
  }
  updateStreams();
  renderSimulations();
  renderDetail();
}

/** Streams for the selected simulation and the newest running ones; a final one's stream ends by itself. */
function updateStreams() {
  const wanted = new Set(
    [...simulations.values()]
      .filter((e) => !e.ended && !e.refused && !FINAL.has(e.info?.state))
      .map((e) => e.id)
      .sort((a, b) => b - a)
      .slice(0, MAX_STREAMS),
  );
  if (selected !== null && !record(selected).ended && !record(selected).refused) {
    wanted.add(selected);
  }
  for (const entry of simulations.values()) {
    if (wanted.has(entry.id) && !entry.stream) {
      entry.stream = follow(entry.id, (name, data) => onEvent(entry, name, data), (reason) => onStreamStop(entry, reason));
    } else if (!wanted.has(entry.id) && entry.stream) {
      entry.stream.close();
      entry.stream = null;
    }
  }
}

function onStreamStop(entry, reason) {
  entry.stream = null;
  if (reason === "end") {
    entry.ended = true;
  } else if (reason !== "closed") {
    // Refused (another user's simulation, or a token that expired): not opened again until the token changes.
    entry.refused = true;
    if (entry.id === selected) {
      showAlert(`Simulation ${entry.id}: ${reason}.`);
    }
  }
}

function onEvent(entry, name, data) {
  switch (name) {
    case "status":
      if (typeof data.state !== "string") {
        return; // a progress message
      }
      entry.status = data;
      if (entry.info) {
        entry.info.state = data.state;
      }
      entry.everStarted ||= data.state === "started" || data.realTime > 0;
      addSample(entry.points, data);
      renderRow(entry);
      if (entry.id === selected) {
        renderDetail();
      }
      break;
    case "runtime_error":
      entry.errors.push(data);
      if (entry.id === selected) {
        renderErrors(entry);
      }
      break;
    case "log":
      appendLog(entry, data);
      break;
    case "end":
      if (entry.info) {
        entry.info.state = data.state;
      }
      renderRow(entry);
      if (entry.id === selected) {
        renderDetail();
      }
      break;
    default:
      break;
  }
}

function renderSimulations() {
  const entries = [...simulations.values()].filter((e) => e.info).sort((a, b) => a.id - b.id);
  $("simulations-empty").hidden = entries.length > 0;
  $("simulations-table").hidden = entries.length === 0;
  const body = $("simulations");
  for (const entry of entries) {
    renderRow(entry);
  }
  // Rows are moved only when the list changed, so a focused button keeps its focus across polls.
  const rows = entries.map((e) => e.row);
  const current = [...body.children];
  if (rows.length !== current.length || rows.some((row, i) => row !== current[i])) {
    body.replaceChildren(...rows);
  }
}

function renderRow(entry) {
  if (!entry.info) {
    return;
  }
  if (!entry.row) {
    entry.row = document.createElement("tr");
    // The id is the button that shows the simulation in detail.
    const show = document.createElement("button");
    show.type = "button";
    show.className = "link";
    show.textContent = String(entry.id);
    show.setAttribute("aria-label", `Show simulation ${entry.id}`);
    show.addEventListener("click", () => select(entry.id));
    const idCell = document.createElement("td");
    idCell.append(show);
    entry.cells = ["experiment", "state", "simulationTime", "realTime", "timeLeft"].map(() => document.createElement("td"));
    entry.row.append(idCell, ...entry.cells);
  }
  const status = entry.status;
  const values = [
    entry.info.experimentID,
    stateOf(entry),
    seconds(status?.simulationTime),
    seconds(status?.realTime),
    seconds(status?.simulationTimeLeft),
  ];
  values.forEach((value, i) => {
    if (entry.cells[i].textContent !== value) {
      entry.cells[i].textContent = value;
    }
  });
  entry.row.classList.toggle("selected", entry.id === selected);
  entry.row.dataset.state = stateOf(entry);
}

// ---- the selected simulation -------------------------------------------------------------------------------------

function select(id) {
  if (selected === id) {
    return;
  }
  selected = id;
  const entry = record(id);
  $("log").replaceChildren(...entry.log.map(logLine));
  renderErrors(entry);
  updateStreams();
  renderDetail();
  for (const other of simulations.values()) {
    other.row?.classList.toggle("selected", other.id === selected);
  }
}

function renderDetail() {
  const detail = $("detail");
  if (selected === null) {
    detail.hidden = true;
    return;
  }
  const entry = record(selected);
  detail.hidden = false;
  const experiment = entry.info?.experimentID ?? "";
  $("detail-title").textContent = `Simulation ${entry.id}${experiment ? ` · ${experiment}` : ""}`;
  const state = stateOf(entry);
  setText($("detail-state"), state);
  $("detail-state").dataset.state = state;
  const status = entry.status;
  setText($("detail-simulation-time"), seconds(status?.simulationTime));
  $("detail-simulation-time").dataset.value = String(status?.simulationTime ?? 0);
  setText($("detail-real-time"), seconds(status?.realTime));
  $("detail-real-time").dataset.value = String(status?.realTime ?? 0);
  setText($("detail-time-left"), seconds(status?.simulationTimeLeft));

  const allowed = {
    "control-start": state === "paused" && !entry.everStarted,
    "control-resume": state === "paused" && entry.everStarted,
    "control-pause": state === "started",
    "control-stop": ["created", "paused", "started", "completed"].includes(state),
  };
  for (const [id, enabled] of Object.entries(allowed)) {
    $(id).disabled = entry.busy || !enabled;
  }
  chart.render(entry.points);
}

function setText(node, text) {
  if (node.textContent !== text) {
    node.textContent = text;
  }
}

for (const id of ["control-start", "control-pause", "control-resume", "control-stop"]) {
  $(id).addEventListener("click", (event) => requestState(event.currentTarget.dataset.state, event.currentTarget.textContent));
}

async function requestState(state, action) {
  if (selected === null) {
    return;
  }
  const entry = record(selected);
  entry.busy = true;
  renderDetail();
  try {
    const answer = await api.requestState(entry.id, state);
    showAlert("");
    if (entry.info) {
      entry.info.state = answer.state;
    }
    if (entry.status) {
      entry.status = { ...entry.status, state: answer.state };
    }
    entry.everStarted ||= answer.state === "started";
  } catch (error) {
    await handleFailure(error, `${action} failed`);
  } finally {
    entry.busy = false;
    renderRow(entry);
    renderDetail();
    // Keep the focus on a control that can be used next (a disabled button drops it).
    if (document.activeElement === document.body || document.activeElement?.disabled) {
      document.querySelector(".controls button:not(:disabled)")?.focus();
    }
  }
}

function renderErrors(entry) {
  const list = $("errors");
  list.replaceChildren(...entry.errors.map(errorItem));
  $("errors-empty").hidden = entry.errors.length > 0;
}

function errorItem(error) {
  const item = document.createElement("li");
  item.className = "error";
  const heading = document.createElement("p");
  const type = document.createElement("strong");
  type.textContent = error.error_type;
  const where = error.line_number >= 0 ? `${error.fileName}, line ${error.line_number}` : error.fileName;
  heading.append(type, ` in ${where}`);
  const message = document.createElement("p");
  message.className = "message";
  message.textContent = error.msg;
  item.append(heading, message);
  if (error.line_text) {
    const line = document.createElement("pre");
    line.className = "line-text";
    line.textContent = error.line_text;
    line.setAttribute("aria-label", `Line ${error.line_number}`);
    item.append(line);
  }
  return item;
}

function logLine(line) {
  const span = document.createElement("span");
  span.className = `line level-${line.level}`;
  span.textContent = `${line.text}\n`;
  return span;
}

function appendLog(entry, line) {
  entry.log.push(line);
  const excess = entry.log.length - MAX_LOG_LINES;
  if (excess > 0) {
    entry.log.splice(0, excess);
  }
  if (entry.id !== selected) {
    return;
  }
  const pane = $("log");
  const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 24;
  pane.append(logLine(line));
  while (pane.childElementCount > MAX_LOG_LINES) {
    pane.firstElementChild.remove();
  }
  if (atBottom) {
    pane.scrollTop = pane.scrollHeight;
  }
}

// ---- start -------------------------------------------------------------------------------------------------------

async function refreshAll() {
  for (const entry of simulations.values()) {
    entry.refused = false;
  }
  // Before there is a token, nothing that needs one is asked for (with the Storage Proxy, anyone may list simulations).
  const locked = needsToken && !api.token();
  const experiments = locked ? Promise.resolve() : loadExperiments();
  const listed = locked && tokenKind !== "proxy" ? Promise.resolve() : loadSimulations();
  await Promise.all([experiments, listed]);
}

async function start() {
  api.takeTokenFromAddress();
  try {
    const [version, settings] = await Promise.all([api.version(), api.settings()]);
    $("version").textContent = version.hbp_nrp_backend;
    tokenKind = settings.auth ?? (settings.tokenRequired ? "proxy" : "none");
    if (settings.tokenRequired) {
      const kind = describeToken();
      showTokenForm(api.token() ? "" : `${kind.source} To see and launch experiments, enter your token.`);
    }
  } catch (error) {
    await handleFailure(error, "NrpHost could not be asked for its settings");
  }
  await refreshAll();
  setInterval(() => {
    if (!needsToken || api.token()) {
      loadSimulations();
    }
  }, POLL_MS);
}

start();
