/** Analytics: four Chart.js charts from the user's statistics and the models' evaluation metrics, each with its data. */

import { api } from "../api.js";
import { GRADE_COLOURS, GRADE_NAMES, mostFrequentGrade } from "../grades.js";
import { demoFlag, modelShortLabel } from "../models.js";
import { emptyState, h, icon, loading, pageHeader, percent, showError } from "../ui.js";

const { Chart } = window;
const ACCENT = "#14b8a6";
const METRICS = [
  { key: "accuracy", label: "Accuracy", colour: ACCENT },
  { key: "f1_macro", label: "Macro F1", colour: "#818cf8" },
  { key: "qwk", label: "QWK", colour: "#f472b6" },
];

Chart.defaults.color = "#cbd5e1";
Chart.defaults.borderColor = "rgba(255, 255, 255, 0.08)";
Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
Chart.defaults.maintainAspectRatio = false;
if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) Chart.defaults.animation = false;

const countAxis = { beginAtZero: true, ticks: { precision: 0 } };
const dayLabel = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", timeZone: "UTC" });

/**
 * Add a card holding one chart to `grid`, or an empty-state message when there is nothing to draw.
 * @returns {HTMLElement} the card's body, for anything shown below the chart
 */
function chartCard(grid, { id, title, subtitle, summary, config, wide = false }, ctx) {
  const body = h("div", { class: "card-body" });
  grid.append(h("div", { class: wide ? "col-12" : "col-lg-6" },
    h("div", { class: "card h-100", dataset: { chart: id } },
      h("div", { class: "card-header" }, h("h2", { class: "h6 mb-0", text: title }), h("span", { class: "small text-muted", text: subtitle })),
      body)));
  if (!config) {
    body.append(emptyState("bar-chart", summary));
    return body;
  }
  const canvas = h("canvas", { id, role: "img", "aria-label": `${title}: ${summary}` });
  body.append(h("div", { class: "chart-box flex-grow-1" }, canvas));
  const chart = new Chart(canvas, config); // drawn once the canvas is in the page, so it can size itself
  ctx.onLeave(() => chart.destroy());
  return body;
}

function gradeChart(stats) {
  return {
    type: "bar",
    data: {
      labels: stats.grades.map((g) => `${g.grade} ${g.name}`),
      datasets: [{ label: "Scans", data: stats.grades.map((g) => g.count), backgroundColor: GRADE_COLOURS, borderRadius: 4 }],
    },
    options: { plugins: { legend: { display: false } }, scales: { y: countAxis } },
  };
}

function daysChart(stats) {
  return {
    type: "line",
    data: {
      labels: stats.per_day.map((d) => dayLabel.format(new Date(d.date))),
      datasets: [{
        label: "Scans", data: stats.per_day.map((d) => d.count), borderColor: ACCENT,
        backgroundColor: "rgba(20, 184, 166, 0.15)", fill: true, tension: 0.3, pointRadius: 2,
      }],
    },
    options: { plugins: { legend: { display: false } }, scales: { y: countAxis, x: { ticks: { maxTicksLimit: 10 } } } },
  };
}

function confidenceChart(stats) {
  return {
    type: "bar",
    data: {
      labels: stats.confidence_histogram.map((b) => `${Math.round(b.low * 100)}–${Math.round(b.high * 100)} %`),
      datasets: [{ label: "Scans", data: stats.confidence_histogram.map((b) => b.count), backgroundColor: ACCENT, categoryPercentage: 1, barPercentage: 0.95 }],
    },
    options: {
      plugins: { legend: { display: false } },
      scales: { y: countAxis, x: { title: { display: true, text: "confidence of the predicted grade" } } },
    },
  };
}

function modelsChart(models) {
  return {
    type: "bar",
    data: {
      labels: models.map(modelShortLabel),
      datasets: METRICS.map(({ key, label, colour }) => ({
        label, data: models.map((m) => m.metrics[key] ?? 0), backgroundColor: colour, borderRadius: 4,
      })),
    },
    options: {
      scales: { y: { beginAtZero: true, max: 1, title: { display: true, text: "score (0–1)" } } },
      plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${item.parsed.y.toFixed(3)}` } } },
    },
  };
}

const fixed = (value, digits = 3) => (typeof value === "number" ? value.toFixed(digits) : "–");

/** The same metrics as a table: exact figures, each model's data under its name, readable without the chart. */
const metricsTable = (models) =>
  h("div", { class: "table-responsive mt-3" },
    h("table", { class: "table table-sm mb-0 small", id: "metrics-table" },
      h("caption", { class: "text-muted", text: "Each model measured on its own data, named under it: figures on different data are not comparable. n: images; MAE: mean error in KL grades." }),
      h("thead", {}, h("tr", {}, ["Model", "n", "Accuracy", "Macro F1", "QWK", "MAE"].map((text) => h("th", { scope: "col", text })))),
      h("tbody", {}, models.map((m) =>
        h("tr", { dataset: { model: m.id } },
          h("th", { scope: "row", class: "fw-normal" },
            h("div", { class: "d-flex flex-wrap align-items-center gap-2" },
              h("span", { class: "fw-semibold", text: m.name }), h("span", { class: "text-muted", text: `v${m.version}` }),
              demoFlag(m.warning, m.data_kind)),
            h("div", { class: "text-muted", text: `measured on ${m.metrics_on ?? "data not recorded"}` })),
          h("td", { text: String(m.metrics.n ?? "–") }),
          h("td", { text: fixed(m.metrics.accuracy) }),
          h("td", { text: fixed(m.metrics.f1_macro) }),
          h("td", { text: fixed(m.metrics.qwk) }),
          h("td", { text: fixed(m.metrics.mae) }))))));

/** Said under the comparison when a demo is in it: its scores are no promise about real X-rays. */
const DEMO_NOTE = "Demo models were measured on synthetic images: their scores say nothing about how they would grade real X-rays.";

/** @type {import("../router.js").View} */
export async function analyticsView(root, ctx) {
  root.append(pageHeader("Analytics", "Your scans over time, and each model's evaluation on the data it was measured on"));
  const body = loading("Loading statistics…");
  root.append(body);

  let stats, models;
  try {
    [stats, models] = await Promise.all([api.stats(ctx.signal), api.models(ctx.signal)]);
  } catch (err) {
    body.replaceWith(emptyState("exclamation-octagon", "The statistics could not be loaded."));
    showError(err);
    return;
  }

  const grid = h("div", { class: "row g-4" });
  body.replaceWith(grid);
  const none = "No scans yet: grade an X-ray and its figures appear here.";
  const has = stats.total > 0;
  const evaluated = models.filter((m) => m.metrics);
  const top = mostFrequentGrade(stats.grades);

  chartCard(grid, {
    id: "chart-grades", title: "Grade distribution", subtitle: "scans per KL grade",
    summary: has ? `${stats.total} scans, most often ${GRADE_NAMES[top.grade]} (${top.count})` : none,
    config: has && gradeChart(stats),
  }, ctx);
  chartCard(grid, {
    id: "chart-confidence", title: "Confidence distribution", subtitle: "scans per 10 % confidence bin",
    summary: has ? `mean confidence ${percent(stats.mean_confidence)}` : none,
    config: has && confidenceChart(stats),
  }, ctx);
  chartCard(grid, {
    id: "chart-days", title: "Scans over time", subtitle: "per day, last 30 days (UTC)",
    summary: has ? `${stats.per_day.reduce((n, d) => n + d.count, 0)} scans in the last 30 days` : none,
    config: has && daysChart(stats),
    wide: true,
  }, ctx);
  const modelsBody = chartCard(grid, {
    id: "chart-models", title: "Model evaluation", subtitle: "from each model card, each on its own held-out data (see the table)",
    summary: evaluated.length ? evaluated.map((m) => `${modelShortLabel(m)} accuracy ${fixed(m.metrics.accuracy)} on ${m.metrics_on ?? "data not recorded"}`).join("; ")
      : "No model card on this server carries evaluation metrics.",
    config: evaluated.length > 0 && modelsChart(evaluated),
    wide: true,
  }, ctx);
  if (evaluated.length) modelsBody.append(metricsTable(evaluated));
  if (evaluated.some((m) => m.demo)) {
    modelsBody.after(h("div", { class: "card-footer small text-warning", id: "metrics-demo-note" }, icon("cone-striped", "me-1"), DEMO_NOTE));
  }
}
