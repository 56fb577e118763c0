// Calls to the NrpHost API (same origin). The token, when one is needed (the Storage Proxy's, the API token, or the
// identity provider's), is kept in this tab's sessionStorage and sent as `Authorization: Bearer <token>` on every call.

const TOKEN_KEY = "nrphost.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

/** Takes a token given as `?token=` on the page's address (as NrpHost prints it at start), then removes it from there. */
export function takeTokenFromAddress() {
  const address = new URL(window.location.href);
  const given = address.searchParams.get("token");
  if (given === null) {
    return;
  }
  if (given.trim()) {
    setToken(given.trim());
  }
  address.searchParams.delete("token");
  window.history.replaceState(null, "", address.pathname + address.search + address.hash);
}

export function setToken(value) {
  if (value) {
    sessionStorage.setItem(TOKEN_KEY, value);
  } else {
    sessionStorage.removeItem(TOKEN_KEY);
  }
}

export function headers(extra = {}) {
  const result = { Accept: "application/json", ...extra };
  const current = token();
  if (current) {
    result.Authorization = `Bearer ${current}`;
  }
  return result;
}

/** An answer that is not 2xx; `message` is the NRP error body's message when there is one. */
export class ApiError extends Error {
  constructor(status, message, data) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.data = data;
  }
}

/** Sends a request and returns the parsed JSON body; throws ApiError for an error status. */
export async function call(method, path, body) {
  const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, `NrpHost cannot be reached (${error.message})`);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const message = json && typeof json.message === "string" ? json.message : `${response.status} ${response.statusText}`;
    const data = json && typeof json.data === "string" ? json.data : null;
    throw new ApiError(response.status, message, data);
  }
  return json;
}

export const listExperiments = () => call("GET", "experiments");
export const listSimulations = () => call("GET", "simulation");
export const version = () => call("GET", "version");
export const settings = () => call("GET", "dashboard/settings.json");

export function launch(experimentID, experimentConfiguration) {
  return call("POST", "simulation", { experimentID, experimentConfiguration });
}

export function requestState(id, state) {
  return call("PUT", `simulation/${encodeURIComponent(id)}/state`, { state });
}
