/** The Kellgren-Lawrence scale as the app shows it: names, features, colours, badges and review flags. */

import { h, icon } from "./ui.js";

export const GRADE_NAMES = ["Normal", "Doubtful", "Mild", "Moderate", "Severe"];

export const GRADE_FEATURES = [
  "No features of osteoarthritis; normal joint space, no osteophytes.",
  "Possible osteophytic lipping; questionable joint-space narrowing.",
  "Definite osteophytes; possible joint-space narrowing.",
  "Multiple osteophytes, definite narrowing, subchondral sclerosis; possible deformity.",
  "Large osteophytes, marked narrowing, severe sclerosis, definite deformity.",
];

/** The grade colours for charts; the same values as --kg-grade-N in app.css. */
export const GRADE_COLOURS = ["#22c55e", "#a3e635", "#facc15", "#fb923c", "#f87171"];

/** A badge that carries the grade's number and name, so colour is never the only cue. */
export const gradeBadge = (grade, large = false) =>
  h("span", { class: `kl-badge kl-${grade}${large ? " kl-badge-lg" : ""}`, dataset: { grade } },
    `KL ${grade} · `, h("span", { class: "fw-normal", text: GRADE_NAMES[grade] }));

/** The grade with the most scans in `/api/stats` grade counts, or null when there are none. */
export const mostFrequentGrade = (grades) =>
  grades.reduce((best, g) => (g.count > (best?.count ?? 0) ? g : best), null);

const DEFAULT_REASON = "Consider specialist review.";

/**
 * The amber note the server attaches to a prediction it recommends for specialist review
 * (`review_recommended`, `review_reason`); null when it recommends none. The rule lives on the server.
 * @param {{review_recommended?: boolean, review_reason?: string|null}} p a prediction
 * @param {string} [id] the alert's id
 */
export const reviewAlert = (p, id) =>
  p.review_recommended
    ? h("div", { class: "alert alert-warning d-flex gap-2 mb-0", role: "note", id },
      icon("exclamation-triangle", "flex-shrink-0"), h("span", { text: p.review_reason || DEFAULT_REASON }))
    : null;

/** A small "Review" flag for lists, the server's reason as its tooltip and its spoken text; null when unflagged. */
export const reviewFlag = (p) =>
  p.review_recommended
    ? h("span", { class: "review-flag", title: p.review_reason || DEFAULT_REASON },
      icon("flag-fill"), h("span", { "aria-hidden": "true", text: "Review" }),
      h("span", { class: "visually-hidden", text: `Review recommended: ${p.review_reason || DEFAULT_REASON}` }))
    : null;
