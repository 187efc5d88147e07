/**
 * Admin, for administrators only: the audit trail (filtered by account, prediction and action, a
 * page at a time), the API keys of machine clients (made, shown once, revoked) and the accounts
 * (listed and made). Three tabs: `#/admin/audit` (the default), `#/admin/keys`, `#/admin/accounts`.
 */

import { api } from "../api.js";
import { navigate } from "../router.js";
import { busy, confirmDialog, emptyState, formatDate, h, icon, loading, notify, pageHeader, showError } from "../ui.js";
import { showFieldErrors } from "./auth-form.js";

const PAGE_SIZE = 50;
const ACTIONS = ["created", "viewed", "downloaded", "deleted", "restored", "purged", "login", "login_failed"];
const SCOPES = [
  ["read", "read: GET (history, results, reports)"],
  ["predict", "predict: POST (grading)"],
  ["delete", "delete: DELETE (predictions)"],
];
const ROLES = ["clinician", "admin"];
const TABS = [
  ["audit", "journal-text", "Audit trail"],
  ["keys", "key", "API keys"],
  ["accounts", "people", "Accounts"],
];

/** "3 Dec 2026, 14:05:09": the audit trail wants the seconds. */
const secondsFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const formatSeconds = (iso) => secondsFormat.format(new Date(iso));

/** What a clinician sees here (the API answers them 403 anyway). */
const adminsOnly = () =>
  h("div", { class: "card", "data-testid": "admins-only" }, h("div", { class: "card-body" },
    emptyState("shield-lock", "Administrators only: this page is for KneeGrade administrators.",
      h("p", { class: "small mb-0", text: "Ask an administrator if you need an account or an API key." }))));

/** A labelled input; its id is `<form>-<name>` and the API's field message goes under it. */
function field(form, { name, label, type = "text", required = true, hint, list, autocomplete = "off", attrs = {} }) {
  const id = `${form}-${name}`;
  return h("div", { class: "col-md" },
    h("label", { class: "form-label", for: id, text: label }),
    h("input", {
      class: "form-control", id, name, type, required, list, autocomplete,
      "aria-describedby": `${id}-feedback${hint ? ` ${id}-hint` : ""}`, ...attrs,
    }),
    hint && h("div", { class: "form-text", id: `${id}-hint`, text: hint }),
    h("div", { class: "invalid-feedback", id: `${id}-feedback` }));
}

/** A labelled select of `options` ([value, label] pairs). */
const select = (form, name, label, options, value = "", cls = "col-md") =>
  h("div", { class: cls },
    h("label", { class: "form-label", for: `${form}-${name}`, text: label }),
    h("select", { class: "form-select", id: `${form}-${name}`, name },
      options.map(([optionValue, text]) => h("option", { value: optionValue, selected: optionValue === value, text }))));

/** The accounts' usernames as suggestions for an input's `list`. */
function usernames(id, users) {
  return h("datalist", { id }, users.map((user) => h("option", { value: user.username, text: user.name })));
}

const card = (title, ...body) =>
  h("div", { class: "card mb-4" },
    title && h("div", { class: "card-header", text: title }),
    h("div", { class: "card-body" }, ...body));

const table = (id, caption, headers, rows) =>
  h("div", { class: "table-responsive" },
    h("table", { class: "table table-hover align-middle mb-0 admin-table", id },
      h("caption", { class: "visually-hidden", text: caption }),
      h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col", text })))),
      h("tbody", {}, rows)));

const muted = (text) => h("span", { class: "text-muted", text });

// ---------------------------------------------------------------------------------------------
// Audit trail

const actionBadge = (action) =>
  h("span", { class: `badge audit-action audit-${action}`, text: action.replace("_", " ") });

/** A deleted prediction's Restore button: back into its owner's history, until it is purged. */
function restoreButton(event, onRestore) {
  const button = h("button", { class: "btn btn-sm btn-outline-light ms-2", type: "button", "aria-label": `Restore prediction ${event.prediction_id}` },
    icon("arrow-counterclockwise", "me-1"), "Restore");
  button.addEventListener("click", () => onRestore(event.prediction_id, button));
  return button;
}

function auditRow(event, onRestore) {
  return h("tr", { dataset: { id: event.id, action: event.action } },
    h("td", { class: "text-nowrap" }, h("time", { datetime: event.at, text: formatSeconds(event.at) })),
    h("td", { class: "text-nowrap", text: event.username }),
    h("td", {}, actionBadge(event.action)),
    h("td", { class: "text-nowrap" }, event.prediction_id
      ? [h("a", { href: `#/result/${event.prediction_id}`, title: "Open the result (it opens for its owner's account only)", text: `#${event.prediction_id}` }),
        h("a", { class: "ms-2 small", href: auditHash({ prediction_id: event.prediction_id }), title: `Every event of prediction ${event.prediction_id}`,
          "aria-label": `Every event of prediction ${event.prediction_id}` }, icon("funnel")),
        event.action === "deleted" ? restoreButton(event, onRestore) : null]
      : muted("—")),
    h("td", {}, event.detail || muted("—")),
    h("td", { class: "text-nowrap" }, event.api_key_id ? `key #${event.api_key_id}` : muted("—")),
    h("td", { class: "text-nowrap" }, event.client || muted("—")));
}

/** `#/admin/audit` with these filters and offset (empty ones left out). */
function auditHash(filters, offset = 0) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) if (value) query.set(name, value);
  if (offset) query.set("offset", offset);
  const search = query.toString();
  return `#/admin/audit${search ? `?${search}` : ""}`;
}

function auditPager(page, filters) {
  const first = page.total ? page.offset + 1 : 0;
  const last = page.offset + page.items.length;
  const go = (offset) => () => navigate(auditHash(filters, Math.max(0, offset)));
  return h("nav", { class: "d-flex flex-wrap justify-content-between align-items-center gap-2 mt-3", "aria-label": "Audit trail pages" },
    h("span", { class: "text-muted small", id: "audit-count", "aria-live": "polite", text: `Events ${first}–${last} of ${page.total}` }),
    h("div", { class: "btn-group" },
      h("button", { class: "btn btn-outline-light btn-sm", type: "button", id: "audit-prev", disabled: page.offset <= 0, onClick: go(page.offset - PAGE_SIZE) },
        icon("chevron-left", "me-1"), "Previous"),
      h("button", { class: "btn btn-outline-light btn-sm", type: "button", id: "audit-next", disabled: last >= page.total, onClick: go(page.offset + PAGE_SIZE) },
        "Next", icon("chevron-right", "ms-1"))));
}

async function auditTab(root, ctx) {
  const filters = {
    username: ctx.query.get("username") ?? "",
    prediction_id: ctx.query.get("prediction_id") ?? "",
    action: ctx.query.get("action") ?? "",
  };
  const offset = Math.max(0, Number.parseInt(ctx.query.get("offset") ?? "0", 10) || 0);

  const form = h("form", { class: "row g-3 align-items-end", id: "audit-filters", "aria-label": "Filter the audit trail", novalidate: true },
    field("audit", { name: "username", label: "Account", required: false, list: "audit-usernames", attrs: { placeholder: "username (or the name a failed login tried)" } }),
    field("audit", { name: "prediction_id", label: "Prediction id", type: "number", required: false, attrs: { min: 1, step: 1, inputmode: "numeric" } }),
    select("audit", "action", "Action", [["", "All actions"], ...ACTIONS.map((a) => [a, a.replace("_", " ")])], filters.action),
    h("div", { class: "col-md-auto d-flex gap-2" },
      h("button", { class: "btn btn-primary", type: "submit" }, icon("funnel", "me-1"), "Apply"),
      h("a", { class: "btn btn-outline-light", href: "#/admin/audit", text: "Clear" })));
  form.elements.username.value = filters.username;
  form.elements.prediction_id.value = filters.prediction_id;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const { username, prediction_id: predictionId, action } = form.elements;
    navigate(auditHash({ username: username.value.trim(), prediction_id: predictionId.value.trim(), action: action.value }));
  });
  form.elements.action.addEventListener("change", () => form.requestSubmit());

  const body = loading("Loading the audit trail…");
  root.append(card(null, form), h("div", { class: "card" }, h("div", { class: "card-body" }, body)));
  api.users(ctx.signal).then((users) => form.append(usernames("audit-usernames", users))).catch(() => {});

  const page = await api.audit(filters, PAGE_SIZE, offset, ctx.signal);
  if (!page.items.length && offset > 0 && page.total > 0) {
    navigate(auditHash(filters, Math.floor((page.total - 1) / PAGE_SIZE) * PAGE_SIZE));
    return;
  }
  async function onRestore(predictionId, button) {
    if (!(await confirmDialog(`Restore prediction #${predictionId} to its owner's history?`, "Restore"))) return;
    try {
      await api.restorePrediction(predictionId);
      button.replaceWith(h("span", { class: "badge text-bg-success ms-2", text: "Restored" }));
      notify(`Restored prediction #${predictionId}.`, "success");
    } catch (err) {
      showError(err);
    }
  }

  const filtered = Object.values(filters).some(Boolean);
  body.replaceWith(page.items.length
    ? table("audit-table", "The audit trail, newest first",
      ["Time", "Account", "Action", "Prediction", "Detail", "API key", "Client"], page.items.map((event) => auditRow(event, onRestore)))
    : emptyState("journal-text", filtered ? "No events match these filters." : "No events recorded yet."),
  auditPager(page, filters));
}

// ---------------------------------------------------------------------------------------------
// API keys

/** The new key, shown this once, with a Copy button. */
function newKeyBox(created) {
  const input = h("input", { class: "form-control font-monospace", id: "new-api-key-value", readonly: true, value: created.key, "aria-label": "The new API key" });
  const copy = h("button", { class: "btn btn-primary", type: "button", id: "copy-api-key" }, icon("clipboard", "me-1"), "Copy");
  const status = h("div", { class: "small mt-2", "aria-live": "polite" });
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      copy.replaceChildren(icon("clipboard-check", "me-1"), "Copied");
      status.textContent = "Copied to the clipboard.";
    } catch {
      // no clipboard (plain http on another host, or refused): leave it selected to copy by hand
      input.select();
      status.textContent = "The browser refused to copy: the key is selected, press Ctrl+C (⌘C) to copy it.";
    }
  });
  return h("div", { class: "alert alert-warning new-key", id: "new-api-key", role: "status" },
    h("h2", { class: "h6 d-flex align-items-center gap-2" }, icon("exclamation-triangle"), `New API key “${created.name}” for ${created.user.username}`),
    h("p", { class: "mb-2" }, h("strong", { text: "Copy it now: it will not be shown again." }),
      " Only its hash is kept. Send it as ", h("code", { text: "Authorization: Bearer <key>" }), "."),
    h("div", { class: "input-group" }, input, copy),
    status);
}

function keyRow(key, onRevoke) {
  let state;
  if (key.revoked_at) {
    state = h("span", { class: "badge text-bg-secondary", title: formatDate(key.revoked_at), text: `Revoked ${formatDate(key.revoked_at)}` });
  } else {
    state = h("button", { class: "btn btn-sm btn-outline-danger", type: "button", "aria-label": `Revoke API key ${key.name}` },
      icon("x-octagon", "me-1"), "Revoke");
    state.addEventListener("click", () => onRevoke(key));
  }
  return h("tr", { dataset: { id: key.id }, class: key.revoked_at ? "is-revoked" : null },
    h("td", { text: key.name }),
    h("td", {}, h("code", { text: `kg_${key.prefix}_…` })),
    h("td", {}, h("div", { class: "d-flex flex-wrap gap-1" }, key.scopes.map((scope) => h("span", { class: "badge text-bg-dark border", text: scope })))),
    h("td", { class: "text-nowrap", text: key.user.username }),
    h("td", { class: "text-nowrap", text: formatDate(key.created_at) }),
    h("td", { class: "text-nowrap" }, key.last_used_at ? formatDate(key.last_used_at) : muted("never")),
    h("td", { class: "text-end text-nowrap" }, state));
}

async function keysTab(root, ctx) {
  const scopes = h("fieldset", { class: "col-md" },
    h("legend", { class: "form-label fs-6", text: "Scopes" }),
    h("div", { class: "d-flex flex-wrap gap-3 pt-1" }, SCOPES.map(([scope, label]) =>
      h("div", { class: "form-check" },
        h("input", { class: "form-check-input", type: "checkbox", name: "scopes", value: scope, id: `key-scope-${scope}`, checked: scope !== "delete" }),
        h("label", { class: "form-check-label", for: `key-scope-${scope}`, title: label, text: scope })))),
    h("div", { class: "form-text", text: "read: GET; predict: POST (grading); delete: DELETE" }));
  const submit = h("button", { class: "btn btn-primary", type: "submit" }, icon("key", "me-1"), "Create key");
  const form = h("form", { class: "row g-3 align-items-start", id: "api-key-form", "aria-label": "Create an API key", novalidate: true },
    field("key", { name: "name", label: "Name", hint: "What uses it, e.g. PACS router", attrs: { maxlength: 100 } }),
    scopes,
    field("key", { name: "username", label: "Account (optional)", required: false, list: "key-usernames", hint: "Whose history it reads and writes; empty: yours" }),
    h("div", { class: "col-12" }, submit));
  const newKey = h("div", {});
  const list = h("div", {}, loading("Loading the API keys…"));
  root.append(newKey, card("Create an API key for a machine client", form), card("API keys", list));
  api.users(ctx.signal).then((users) => form.append(usernames("key-usernames", users))).catch(() => {});

  async function refresh() {
    const keys = await api.apiKeys(ctx.signal);
    list.replaceChildren(keys.length
      ? table("api-keys-table", "API keys, revoked ones included",
        ["Name", "Prefix", "Scopes", "Account", "Created", "Last used", "Status"], keys.map((key) => keyRow(key, onRevoke)))
      : emptyState("key", "No API keys yet."));
  }

  async function onRevoke(key) {
    if (!(await confirmDialog(`Revoke the API key “${key.name}” (kg_${key.prefix}_…) of ${key.user.username}? Whatever uses it is refused from now on. This cannot be undone.`, "Revoke"))) return;
    try {
      await api.revokeApiKey(key.id);
      notify(`Revoked the API key “${key.name}”.`, "success");
      await refresh();
    } catch (err) {
      showError(err);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { name, username } = form.elements;
    const chosen = [...form.querySelectorAll("input[name=scopes]:checked")].map((input) => input.value);
    showFieldErrors(form, []);
    if (!chosen.length) {
      notify("Choose at least one scope for the key.", "danger");
      return;
    }
    const restore = busy(submit, "Creating…");
    try {
      const created = await api.createApiKey(name.value.trim(), chosen, username.value.trim());
      restore();
      newKey.replaceChildren(newKeyBox(created));
      form.reset();
      newKey.scrollIntoView({ block: "nearest" });
      document.getElementById("copy-api-key").focus();
      await refresh();
    } catch (err) {
      restore();
      showFieldErrors(form, err.errors ?? []);
      if (err.status === 404) showFieldErrors(form, [{ loc: ["username"], msg: err.message }]);
      showError(err);
    }
  });

  await refresh();
}

// ---------------------------------------------------------------------------------------------
// Accounts

const userRow = (user) =>
  h("tr", { dataset: { id: user.id, username: user.username } },
    h("td", { class: "text-nowrap", text: user.username }),
    h("td", { text: user.name }),
    h("td", {}, h("span", { class: `badge ${user.role === "admin" ? "text-bg-primary" : "text-bg-dark border"}`, text: user.role })),
    h("td", { class: "text-nowrap", text: formatDate(user.created_at) }));

async function accountsTab(root, ctx) {
  const submit = h("button", { class: "btn btn-primary", type: "submit" }, icon("person-plus", "me-1"), "Create account");
  const form = h("form", { class: "row g-3 align-items-start", id: "account-form", "aria-label": "Create an account", novalidate: true },
    field("account", { name: "username", label: "Username", hint: "3–50 letters, digits, dots, underscores or hyphens." }),
    field("account", { name: "name", label: "Full name", hint: "e.g. Dr Jane Smith" }),
    field("account", { name: "password", label: "Password", type: "password", autocomplete: "new-password", hint: "At least 8 characters, not easily guessed." }),
    select("account", "role", "Role", ROLES.map((role) => [role, role]), "clinician", "col-md-2"),
    h("div", { class: "col-12" }, submit));
  const list = h("div", {}, loading("Loading the accounts…"));
  root.append(card("Create an account", h("p", { class: "text-muted small", text: "The way in when self-registration is closed. Tell the person their password over a safe channel." }), form),
    card("Accounts", list));

  async function refresh() {
    const users = await api.users(ctx.signal);
    list.replaceChildren(table("accounts-table", "Every account", ["Username", "Name", "Role", "Created"], users.map(userRow)));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { username, name, password, role } = form.elements;
    const account = { username: username.value.trim(), name: name.value.trim(), password: password.value, role: role.value };
    showFieldErrors(form, []);
    const restore = busy(submit, "Creating…");
    try {
      const user = await api.createUser(account);
      restore();
      form.reset();
      notify(`Created the ${user.role} account “${user.username}” (${user.name}).`, "success");
      await refresh();
    } catch (err) {
      restore();
      showFieldErrors(form, err.errors ?? []);
      if (err.status === 409) showFieldErrors(form, [{ loc: ["username"], msg: err.message }]);
      showError(err);
    }
  });

  await refresh();
}

// ---------------------------------------------------------------------------------------------

const tabViews = { audit: auditTab, keys: keysTab, accounts: accountsTab };

/** @type {import("../router.js").View} */
export async function adminView(root, ctx) {
  const tab = ctx.param in tabViews ? ctx.param : "audit";
  root.append(pageHeader("Admin", "The audit trail, API keys for machine clients and accounts"));
  const body = h("div", {}, loading("Checking your role…"));
  root.append(body);
  try {
    const me = await api.me(ctx.signal);
    if (me.role !== "admin") {
      body.replaceChildren(adminsOnly());
      return;
    }
    const content = h("div", { id: `admin-${tab}` });
    body.replaceChildren(
      h("ul", { class: "nav nav-tabs mb-4", role: "list" }, TABS.map(([name, iconName, label]) =>
        h("li", { class: "nav-item" },
          h("a", { class: `nav-link${name === tab ? " active" : ""}`, href: `#/admin/${name}`, "aria-current": name === tab ? "page" : null },
            icon(iconName, "me-1"), label)))),
      content);
    await tabViews[tab](content, ctx);
  } catch (err) {
    if (err?.status === 403) {
      body.replaceChildren(adminsOnly());
      return;
    }
    if (err?.name === "AbortError") return;
    for (const spinner of body.querySelectorAll("[role=status]:has(> .spinner-border)")) {
      spinner.replaceWith(emptyState("exclamation-octagon", "This could not be loaded."));
    }
    showError(err);
  }
}
