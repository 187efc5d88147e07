/** The JSON API: the bearer token, requests, and errors turned into readable messages. */

const TOKEN_KEY = "kneegrade.token";

/** A failed request; `message` is the API's `detail` or a plain explanation, ready to show. */
class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server could not be reached
   * @param {string} message what to tell the user
   * @param {Array<{loc: Array<string|number>, msg: string}>} [errors] per-field validation errors
   */
  constructor(status, message, errors = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.errors = errors;
    /** true once the app has dealt with it (a 401 sends the user to sign in) */
    this.handled = false;
  }
}

export const getToken = () => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (token) => sessionStorage.setItem(TOKEN_KEY, token);
export const clearToken = () => sessionStorage.removeItem(TOKEN_KEY);

let onUnauthorized = () => {};

/** Called once by the app: what to do when the API rejects the stored token. */
export function handleUnauthorized(callback) {
  onUnauthorized = callback;
}

/** Why a response failed, from its JSON `detail` when it has one. */
async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON (a proxy's HTML error page, say): fall back to the status line below
  }
  const detail = body && typeof body.detail === "string" ? body.detail : "";
  const message = detail || `The server answered ${response.status} ${response.statusText}`.trim();
  return new ApiError(response.status, message, Array.isArray(body?.errors) ? body.errors : []);
}

/**
 * Send a request to the API and return the response.
 * @param {string} path e.g. "/api/stats"
 * @param {{method?: string, json?: unknown, body?: BodyInit, auth?: boolean, signal?: AbortSignal}} [options]
 *   `auth` (default true) sends the token, and a 401 then means the session is over.
 * @returns {Promise<Response>}
 */
async function send(path, { method = "GET", json, body, auth = true, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const token = getToken();
  if (auth && token) headers.Authorization = `Bearer ${token}`;

  let response;
  try {
    response = await fetch(path, { method, headers, body, signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "Cannot reach the KneeGrade server. Check the network connection and try again.");
  }
  if (response.ok) return response;

  const error = await errorFrom(response);
  if (response.status === 401 && auth) {
    clearToken();
    onUnauthorized();
    error.handled = true;
  }
  throw error;
}

/** A request whose answer is JSON (or nothing, for 204). */
async function request(path, options) {
  const response = await send(path, options);
  return response.status === 204 ? null : response.json();
}

/**
 * Show an authenticated image in `img` (an `<img src>` cannot send the bearer token) through an
 * object URL that is freed when the view is left.
 * @param {HTMLImageElement} img
 * @param {string} path e.g. a prediction's `thumbnail_url`
 * @param {import("./router.js").ViewContext} ctx
 */
export async function showImage(img, path, ctx) {
  const response = await send(path, { signal: ctx.signal });
  const url = URL.createObjectURL(await response.blob());
  ctx.onLeave(() => URL.revokeObjectURL(url));
  img.src = url;
}

/** `path` with `name=value` added to its query. */
export const withQuery = (path, name, value) =>
  `${path}${path.includes("?") ? "&" : "?"}${encodeURIComponent(name)}=${encodeURIComponent(value)}`;

export const api = {
  register: (username, password, name) =>
    request("/api/auth/register", { method: "POST", json: { username, password, name }, auth: false }),
  login: (username, password) =>
    request("/api/auth/login", {
      method: "POST",
      body: new URLSearchParams({ username, password }),
      auth: false,
    }),
  me: (signal) => request("/api/auth/me", { signal }),
  stats: (signal) => request("/api/stats", { signal }),
  models: (signal) => request("/api/models", { signal }),
  samples: (signal) => request("/api/samples", { signal, auth: false }),
  sampleImage: async (url) => (await send(url, { auth: false })).blob(),
  predictions: (limit, offset, signal) =>
    request(`/api/predictions?limit=${limit}&offset=${offset}`, { signal }),
  prediction: (id, signal) => request(`/api/predictions/${encodeURIComponent(id)}`, { signal }),
  /** Where the prediction's DICOM outputs stand on their way to the PACS (empty without one). */
  deliveries: (id, signal) => request(`/api/predictions/${encodeURIComponent(id)}/deliveries`, { signal }),
  /** A prediction's PDF report (its `report_url`) as a Blob. */
  report: async (url, signal) => (await send(url, { signal })).blob(),
  deletePrediction: (id) => request(`/api/predictions/${encodeURIComponent(id)}`, { method: "DELETE" }),
  /** Grade an X-ray: `file` a File or Blob, `model` a model id or empty for the server's default. */
  grade: (file, model, filename = file.name) => {
    const form = new FormData();
    form.append("file", file, filename);
    if (model) form.append("model", model);
    return request("/api/predictions", { method: "POST", body: form });
  },

  // Administration (an admin signed in with a password; anyone else gets 403)
  /** A page of the audit trail, newest first; `filters` may hold username, prediction_id and action. */
  audit: (filters, limit, offset, signal) => {
    const query = new URLSearchParams({ limit, offset });
    for (const [name, value] of Object.entries(filters)) if (value) query.set(name, value);
    return request(`/api/admin/audit?${query}`, { signal });
  },
  apiKeys: (signal) => request("/api/admin/api-keys", { signal }),
  /** A new API key for `username` (empty: the admin); its answer's `key` is the only time it is shown. */
  createApiKey: (name, scopes, username) =>
    request("/api/admin/api-keys", { method: "POST", json: { name, scopes, ...(username ? { username } : {}) } }),
  restorePrediction: (id) => request(`/api/admin/predictions/${encodeURIComponent(id)}/restore`, { method: "POST" }),
  revokeApiKey: (id) => request(`/api/admin/api-keys/${encodeURIComponent(id)}`, { method: "DELETE" }),
  users: (signal) => request("/api/admin/users", { signal }),
  /** `account`: {username, name, password, role}. */
  createUser: (account) => request("/api/admin/users", { method: "POST", json: account }),
};
