/** The Kellgren-Lawrence scale as the app shows it: names, features, colours and badges. */

import { h } from "./ui.js";

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

/** Below this top probability, or this margin over the runner-up, a split is worth a second look. */
const CONFIDENT = 0.6;
const CLEAR_MARGIN = 0.2;
/** Below this, the model favours no grade clearly, wherever the runner-up is. */
const UNSURE = 0.5;

/**
 * When the two most likely grades are neighbours and the model is not clearly decided, the
 * case sits on a KL boundary (the grades readers disagree on most): suggest a specialist review.
 * A low top probability deserves the same, whichever grades share it.
 * @param {number[]} probabilities five fractions indexed by grade
 * @returns {string|null} the note to show, or null
 */
export function reviewNote(probabilities) {
  const [first, second] = probabilities
    .map((p, grade) => ({ grade, p }))
    .sort((a, b) => b.p - a.p);
  const split = first.p < CONFIDENT || first.p - second.p < CLEAR_MARGIN;
  if (split && Math.abs(first.grade - second.grade) === 1) {
    const [low, high] = [first.grade, second.grade].sort((a, b) => a - b);
    return `Probability split between ${GRADE_NAMES[low]} and ${GRADE_NAMES[high]} — consider specialist review.`;
  }
  if (first.p < UNSURE) {
    return `Low confidence: the model favours no grade clearly (top ${Math.round(first.p * 100)} %) — consider specialist review.`;
  }
  return null;
}
