/** Small DOM helpers shared by the views: building elements, messages, formatting, dialogs. */

/**
 * Build an element. Children may be nodes, strings (inserted as text, never as HTML) or null.
 * @param {string} tag e.g. "div" or "button"
 * @param {Record<string, unknown>} [attrs] attributes; `class`, `text`, `on<Event>`, `dataset` and `style` (an object of CSS properties) are special
 * @param {...(Node|string|null|undefined|false)} children
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") Object.assign(node.style, value); // CSSOM: allowed by the CSP
    else if (key.startsWith("on")) node.addEventListener(key.slice(2).toLowerCase(), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

/** A Bootstrap icon, hidden from screen readers (the text next to it says the same). */
export const icon = (name, extra = "") => h("i", { class: `bi bi-${name} ${extra}`.trim(), "aria-hidden": "true" });

const messages = () => document.getElementById("messages");
let pending = null;

/** Show a message above the view now; errors are announced assertively. */
export function notify(text, kind = "info") {
  const names = { danger: "exclamation-octagon", warning: "exclamation-triangle", success: "check-circle", info: "info-circle" };
  const alert = h(
    "div",
    { class: `alert alert-${kind} alert-dismissible d-flex align-items-start gap-2 fade show`, role: kind === "danger" ? "alert" : "status" },
    icon(names[kind] ?? names.info, "flex-shrink-0 mt-1"),
    h("div", { class: "flex-grow-1", text }),
    h("button", { type: "button", class: "btn-close", "data-bs-dismiss": "alert", "aria-label": "Dismiss" }),
  );
  messages().replaceChildren(alert);
}

/** Show a message after the next navigation (e.g. "session expired" on the sign-in page). */
export function flash(text, kind = "info") {
  pending = { text, kind };
}

export const clearMessages = () => messages().replaceChildren();

/** Clear old messages when the view changes, then show any message kept for the new view. */
export function showPending() {
  clearMessages();
  if (pending) notify(pending.text, pending.kind);
  pending = null;
}

/** Show an error from the API or the network; ignores cancelled requests and handled 401s. */
export function showError(err) {
  if (err?.name === "AbortError" || err?.handled) return;
  notify(err?.message || "Something went wrong. Please try again.", "danger");
}

/** Put a button into its busy state (spinner, disabled) and return a function that restores it. */
export function busy(button, label) {
  const saved = [...button.childNodes];
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.replaceChildren(h("span", { class: "spinner-border spinner-border-sm me-2", "aria-hidden": "true" }), label);
  return () => {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.replaceChildren(...saved);
  };
}

/** A centred loading placeholder for a view or card. */
export const loading = (label = "Loading…") =>
  h("div", { class: "d-flex align-items-center gap-2 text-muted py-4", role: "status" },
    h("span", { class: "spinner-border spinner-border-sm", "aria-hidden": "true" }), label);

/** A friendly "nothing here yet" block. */
export const emptyState = (iconName, text, ...actions) =>
  h("div", { class: "empty-state" }, icon(iconName), h("p", { class: "mb-1", text }), ...actions);

/** The page heading with an optional subtitle and actions on the right. */
export const pageHeader = (title, subtitle, ...actions) =>
  h("div", { class: "d-flex flex-wrap justify-content-between align-items-end gap-3 mb-4" },
    h("div", {}, h("h1", { class: "page-title mb-1", text: title }), subtitle && h("p", { class: "text-muted mb-0", text: subtitle })),
    actions.length ? h("div", { class: "d-flex flex-wrap gap-2" }, ...actions) : null);

/** A link styled as a button, for quick actions. */
export const linkButton = (href, iconName, label, style = "outline-primary") =>
  h("a", { class: `btn btn-${style}`, href }, icon(iconName, "me-1"), label);

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });

/** "26 Nov 2025, 14:05" in the user's locale and time zone. */
export const formatDate = (iso) => dateTimeFormat.format(new Date(iso));
export const formatDay = (iso) => dayFormat.format(new Date(iso));
export const formatTime = (iso) => timeFormat.format(new Date(iso));

/** 0.8734 -> "87.3 %". */
export const percent = (fraction, digits = 1) => `${(fraction * 100).toFixed(digits)} %`;

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Save `blob` as a file named `filename` (through a temporary `<a download>`). */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // the download has started from the URL by now; give it a moment before freeing it
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Ask before something irreversible; resolves true when the user confirms. */
export function confirmDialog(text, okLabel = "Delete") {
  const element = document.getElementById("confirm-dialog");
  const ok = document.getElementById("confirm-ok");
  document.getElementById("confirm-text").textContent = text;
  ok.textContent = okLabel;
  const modal = window.bootstrap.Modal.getOrCreateInstance(element);
  return new Promise((resolve) => {
    let confirmed = false;
    const onOk = () => {
      confirmed = true;
      modal.hide();
    };
    ok.addEventListener("click", onOk, { once: true });
    element.addEventListener("hidden.bs.modal", () => {
      ok.removeEventListener("click", onOk);
      resolve(confirmed);
    }, { once: true });
    modal.show();
  });
}
