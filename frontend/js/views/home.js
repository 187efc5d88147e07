/** Home: the user's figures at a glance, the latest scans and quick actions. */

import { api, showImage } from "../api.js";
import { GRADE_NAMES, gradeBadge, mostFrequentGrade, reviewFlag } from "../grades.js";
import { demoFlag, modelTitle } from "../models.js";
import { emptyState, formatDate, formatDay, formatTime, h, icon, linkButton, loading, pageHeader, percent, showError } from "../ui.js";

const RECENT = 5;

const statCard = (iconName, label, value, note, small = false) =>
  h("div", { class: "col-md-4" },
    h("div", { class: "card stat-card h-100" },
      h("div", { class: "card-body d-flex gap-3 align-items-start" },
        icon(iconName, "stat-icon"),
        h("div", {},
          h("div", { class: "text-muted small", text: label }),
          h("div", { class: `stat-value${small ? " stat-value-sm" : ""}`, text: value }),
          note && h("div", { class: "text-muted small", text: note })))));

function gradeCounts(grades, total) {
  return h("div", { class: "card h-100" },
    h("div", { class: "card-header", text: "Scans per KL grade" }),
    h("ul", { class: "list-group list-group-flush" },
      grades.map(({ grade, count }) =>
        h("li", { class: "list-group-item d-flex justify-content-between align-items-center bg-transparent" },
          gradeBadge(grade),
          h("span", {},
            h("strong", { text: String(count) }),
            h("span", { class: "text-muted ms-2 small", text: total ? percent(count / total, 0) : "" }))))));
}

function recentScans(page, ctx) {
  const body = h("div", { class: "card-body" });
  if (!page.items.length) {
    body.append(emptyState("cloud-arrow-up", "No scans yet. Grade your first X-ray to see it here.",
      linkButton("#/upload", "cloud-arrow-up", "Grade an X-ray", "primary")));
  } else {
    body.append(h("ul", { class: "list-unstyled mb-0 d-grid gap-2" }, page.items.map((p) => {
      const thumb = h("img", { class: "thumb", alt: `Thumbnail of ${p.original_filename}`, width: 56, height: 56 });
      showImage(thumb, p.thumbnail_url, ctx).catch(() => (thumb.alt = "Thumbnail unavailable"));
      return h("li", {},
        h("a", { class: "d-flex align-items-center gap-3 text-reset text-decoration-none", href: `#/result/${p.id}` },
          thumb,
          h("div", { class: "flex-grow-1 min-w-0" },
            h("div", { class: "file-name", text: p.original_filename }),
            h("div", { class: "text-muted small", text: `${formatDate(p.created_at)} · ${modelTitle(p.model_name, p.model_version)}` })),
          reviewFlag(p),
          demoFlag(p.model_warning, p.model_data_kind),
          gradeBadge(p.grade),
          h("span", { class: "text-muted small text-nowrap", text: percent(p.confidence) })));
    })));
  }
  return h("div", { class: "card h-100" },
    h("div", { class: "card-header d-flex justify-content-between" },
      h("span", { text: "Latest scans" }), h("a", { href: "#/history", text: "All history" })),
    body);
}

/** @type {import("../router.js").View} */
export async function homeView(root, ctx) {
  root.append(pageHeader("Dashboard", "Your knee X-ray grading at a glance",
    linkButton("#/upload", "cloud-arrow-up", "Grade an X-ray", "primary"),
    linkButton("#/samples", "images", "Try a sample"),
    linkButton("#/analytics", "bar-chart-line", "Analytics")));
  const body = loading();
  root.append(body);
  try {
    const [stats, page] = await Promise.all([api.stats(ctx.signal), api.predictions(RECENT, 0, ctx.signal)]);
    const top = mostFrequentGrade(stats.grades);
    body.replaceWith(
      h("div", { class: "row g-3 mb-4" },
        statCard("clipboard2-pulse", "Total scans", String(stats.total)),
        statCard("speedometer2", "Mean confidence", stats.mean_confidence === null ? "–" : percent(stats.mean_confidence),
          top && `Most frequent grade: ${GRADE_NAMES[top.grade]}`),
        stats.last_scan_at
          ? statCard("calendar-check", "Last scan", formatDay(stats.last_scan_at), `at ${formatTime(stats.last_scan_at)}`, true)
          : statCard("calendar-check", "Last scan", "None yet", null, true)),
      h("div", { class: "row g-3" },
        h("div", { class: "col-lg-5" }, gradeCounts(stats.grades, stats.total)),
        h("div", { class: "col-lg-7" }, recentScans(page, ctx))));
  } catch (err) {
    body.replaceWith(emptyState("exclamation-octagon", "The dashboard could not be loaded."));
    showError(err);
  }
}
