/**
 * Which model graded a scan and what it learned from, as every view shows it: the model's name,
 * version and training data, the red warning of a demo, and the "Demo" flag for lists. The server
 * decides what is a demo (`demo`, `warning`, `model_warning`); the app only shows it.
 */

import { h, icon, percent } from "./ui.js";

/** What a model learned from, in a few words, by its `data_kind`. */
const DATA_LABELS = {
  real: "real radiographs",
  synthetic: "synthetic demo (not for real X-rays)",
  unknown: "unvalidated (training data not recorded)",
};

/** "KneeGrade KL MobileNetV2 v1.0.0". */
export const modelTitle = (name, version) => `${name} v${version}`;

/**
 * An option of the model picker: "KneeGrade KL MobileNetV2 · v1.0.0 · real radiographs", or for a demo
 * "MobileNetV2 · synthetic demo (not for real X-rays) · v…", what it is first, before its (long) version.
 */
export function modelOptionLabel(m) {
  const data = DATA_LABELS[m.data_kind] ?? DATA_LABELS.unknown;
  return (m.demo ? [m.name, data, `v${m.version}`] : [m.name, `v${m.version}`, data]).join(" · ");
}

/** "Random Forest (synthetic demo)" for charts; the plain name for a real-radiograph model. */
export const modelShortLabel = (m) => (m.demo ? `${m.name} (${m.data_kind === "synthetic" ? "synthetic demo" : "unvalidated"})` : m.name);

/**
 * The red note beside a grade, or a model, that must not be read as a validated grade; null without one.
 * @param {string|null|undefined} warning the server's `warning` or `model_warning`
 * @param {string} [id]
 */
export const modelWarning = (warning, id) =>
  warning
    ? h("div", { class: "alert alert-danger d-flex gap-2 mb-0", role: "note", id, "data-testid": "model-warning" },
      icon("exclamation-octagon-fill", "flex-shrink-0 mt-1"), h("strong", { text: warning }))
    : null;

/**
 * A "Demo" (or "Unvalidated") flag for lists, the warning as its tooltip and spoken text; null without a warning.
 * @param {string|null|undefined} warning the server's `warning` or `model_warning`
 * @param {string|null|undefined} dataKind the model's `data_kind`: "synthetic" makes it a demo
 */
export function demoFlag(warning, dataKind) {
  if (!warning) return null;
  const label = dataKind === "synthetic" ? "Demo" : "Unvalidated";
  return h("span", { class: "badge text-bg-warning demo-flag", title: warning, "data-testid": "demo-flag" },
    icon("cone-striped", "me-1"), h("span", { "aria-hidden": "true", text: label }),
    h("span", { class: "visually-hidden", text: `${label}: ${warning}` }));
}

/** "Graded by … v…" and "Trained on: …" for prediction `p`. */
export const provenance = (p) =>
  h("div", { class: "small", "data-testid": "model-provenance" },
    h("div", {}, icon("cpu", "me-1 text-primary"), "Graded by ", h("strong", { text: modelTitle(p.model_name, p.model_version) })),
    h("div", { class: "text-muted", text: `Trained on: ${p.model_trained_on ?? "not recorded"}` }));

/** "accuracy 86 %, QWK 0.91, measured on the val split of …": never a figure without its data. */
export function evaluationLine(m) {
  const { accuracy, qwk } = m.metrics ?? {};
  if (typeof accuracy !== "number") return "none in its model card";
  const figures = [`accuracy ${percent(accuracy, 0)}`, typeof qwk === "number" && `QWK ${qwk.toFixed(2)}`].filter(Boolean);
  const onData = `measured on ${m.metrics_on ?? "data not recorded"}`;
  return `${figures.join(", ")}, ${onData}${m.demo ? ": it says nothing about real X-rays" : ""}`;
}

const fact = (label, text) => h("div", {}, h("span", { class: "text-muted", text: `${label}: ` }), text);

/** A collapsed list under `title`, or nothing when `items` is empty. */
const collapsed = (id, title, items) =>
  items.length > 0 && h("details", { id },
    h("summary", { text: `${title} (${items.length})` }),
    h("ul", { class: "mb-0 mt-1 ps-3" }, items.map((text) => h("li", { text }))));

/** What model `m` is: its warning, version, training data, evaluation, intended use, and collapsed
 * its limitations and which split of its data set did what (so a reader can judge the figures). */
export const modelFacts = (m) =>
  h("div", { class: "model-facts d-grid gap-2 small", dataset: { model: m.id } },
    modelWarning(m.warning, "model-warning"),
    fact("Version", [`v${m.version}`, m.changelog?.[m.version]].filter(Boolean).join(" · ")),
    fact("Trained on", m.trained_on),
    fact("Evaluation", evaluationLine(m)),
    fact("Intended use", m.intended_use ?? "not stated in its model card"),
    collapsed("model-limitations", "Limitations", m.limitations),
    collapsed("model-data-use", "Which images did what",
      Object.entries(m.card?.data_use ?? {}).map(([split, use]) => `${split} split: ${use}`)));
