/**
 * One graded knee: the X-ray with its heatmap and the frames of the knees found in it, the knee's
 * side, KL badge, confidence, the model that graded it and what it learned from (a demo's warning
 * in red), probabilities, review note, PDF report. An upload of two knees shows both side by side;
 * choosing one (its card or its frame) opens its own result.
 */

import { api } from "../api.js";
import { GRADE_FEATURES, GRADE_NAMES, gradeBadge, reviewAlert } from "../grades.js";
import { heatmapViewer } from "../heatmap.js";
import { kneePicker, sideLabel } from "../knees.js";
import { modelWarning, provenance } from "../models.js";
import { reportButton } from "../report.js";
import { emptyState, formatDate, h, linkButton, loading, pageHeader, percent, showError } from "../ui.js";

/** Five labelled bars, one per grade, the predicted one in bold. */
const probabilityBars = (probabilities, predicted) =>
  h("div", { class: "d-grid gap-2", id: "probabilities" },
    probabilities.map((p, grade) =>
      h("div", { class: `prob-row${grade === predicted ? " is-top" : ""}`, dataset: { grade } },
        h("span", { class: "prob-label", id: `prob-label-${grade}`, text: `${grade} · ${GRADE_NAMES[grade]}` }),
        h("div", {
          class: "progress", role: "progressbar", "aria-labelledby": `prob-label-${grade}`,
          "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": (p * 100).toFixed(1),
        }, h("div", { class: `progress-bar kl-bar-${grade}`, style: { width: `${(p * 100).toFixed(1)}%` } })),
        h("span", { class: "text-end font-monospace small", text: percent(p) }))));

const detail = (label, value) =>
  h("div", { class: "col-sm-4" },
    h("dt", { class: "text-muted small fw-normal", text: label }),
    h("dd", { class: "mb-0 text-break", text: value }));

const LATERALITY = { R: "Right", L: "Left", B: "Both", U: "Unpaired" };

/**
 * The DICOM study the upload came from (null for other images): what links this grade to the
 * study in a PACS. KneeGrade keeps no patient identity, so there is none to show.
 */
const studyDetails = (study) => study && h("section", { id: "dicom-study", class: "border-top pt-2" },
  h("h2", { class: "h6 text-muted", text: "DICOM study" }),
  h("dl", { class: "row g-2 mb-0 small" },
    [
      ["Study UID", study.study_instance_uid, "study-uid"],
      ["Series UID", study.series_instance_uid, "series-uid"],
      ["SOP instance UID", study.sop_instance_uid, "sop-uid"],
      ["Accession", study.accession_number, "accession"],
      ["Modality", study.modality, "modality"],
      ["Laterality", study.laterality && (LATERALITY[study.laterality] ?? study.laterality), "laterality"],
      ["Body part", study.body_part_examined, "body-part"],
      ["View", study.view_position, "view"],
      ["Pixel spacing", study.pixel_spacing && `${study.pixel_spacing.join(" × ")} mm (${study.pixel_spacing_attribute})`, "pixel-spacing"],
    ].filter(([, value]) => value).map(([label, value, key]) =>
      h("div", { class: "col-sm-6", dataset: { field: key } },
        h("dt", { class: "text-muted fw-normal", text: label }),
        h("dd", { class: "mb-0 text-break font-monospace", text: value })))));

const OUTPUT_NAMES = { sr: "Structured report (SR)", sc: "Heatmap image (SC)", pdf: "PDF report" };
const STATUS_NAMES = { pending: "waiting to be sent", retrying: "PACS not reached, retrying", sent: "in the PACS", cancelled: "cancelled" };

/** One DICOM output's way to the PACS: its status, attempts and last error. */
const deliveryItem = (d) =>
  h("li", { dataset: { kind: d.kind, status: d.status } },
    h("span", { class: "fw-semibold", text: `${OUTPUT_NAMES[d.kind] ?? d.kind}: ` }),
    d.status === "sent" ? `${STATUS_NAMES.sent} since ${formatDate(d.sent_at)}` : STATUS_NAMES[d.status] ?? d.status,
    d.attempts > 0 && d.status !== "sent" && h("span", { class: "text-muted", text: ` (${d.attempts} attempt${d.attempts === 1 ? "" : "s"})` }),
    d.last_error && h("div", { class: "text-muted text-break", text: d.last_error }));

/** The outputs sent to the hospital's PACS, when the server sends them; nothing otherwise. */
async function showDeliveries(p, signal) {
  let deliveries;
  try {
    deliveries = await api.deliveries(p.id, signal);
  } catch {
    return; // a detail: the result stands without it
  }
  if (!deliveries.length) return;
  document.getElementById("dicom-study")?.append(
    h("div", { id: "pacs-deliveries", class: "mt-2 small" },
      h("h3", { class: "h6 text-muted", text: "Sent to the PACS" }),
      h("ul", { class: "list-unstyled mb-0" }, deliveries.map(deliveryItem))));
}

/** @type {import("../router.js").View} */
export async function resultView(root, ctx) {
  root.append(pageHeader("Grading result", null,
    linkButton("#/upload", "cloud-arrow-up", "Grade another", "primary"),
    linkButton("#/history", "clock-history", "History")));
  const body = loading("Loading the result…");
  root.append(body);

  let p;
  try {
    p = await api.prediction(ctx.param, ctx.signal);
  } catch (err) {
    body.replaceWith(emptyState("exclamation-octagon", "This result could not be shown.", linkButton("#/history", "clock-history", "Back to history")));
    showError(err);
    return;
  }

  body.replaceWith(h("div", { class: "row g-4", id: "result", dataset: { id: p.id } },
    h("div", { class: "col-lg-5" }, h("div", { class: "card h-100" }, h("div", { class: "card-body" },
      heatmapViewer(p, ctx, { imageId: "result-image", tall: true })))),
    h("div", { class: "col-lg-7" },
      h("div", { class: "card h-100" },
        h("div", { class: "card-body d-flex flex-column gap-3" },
          kneePicker(p),
          h("h2", { class: "h5 mb-0", id: "knee-side" }, sideLabel(p)),
          h("div", { class: "d-flex flex-wrap align-items-center gap-3" },
            gradeBadge(p.grade, true),
            h("div", {},
              h("div", { class: "text-muted small", text: "Confidence" }),
              h("div", { class: "fs-3 fw-semibold lh-1", id: "confidence", text: percent(p.confidence) }))),
          modelWarning(p.model_warning, "model-warning"),
          provenance(p),
          h("p", { class: "mb-0" }, h("strong", { text: `${p.name}: ` }), GRADE_FEATURES[p.grade]),
          reviewAlert(p, "review-note"),
          h("div", {}, h("h2", { class: "h6 text-muted", text: "Probability per KL grade" }), probabilityBars(p.probabilities, p.grade)),
          h("dl", { class: "row g-3 mb-0 mt-auto pt-2 border-top" },
            detail("Graded", formatDate(p.created_at)),
            detail("File", p.original_filename),
            detail("Scan id", `#${p.id}`)),
          studyDetails(p.study),
          h("div", { class: "d-flex flex-wrap gap-2" }, reportButton(p)))))));
  if (p.study) showDeliveries(p, ctx.signal);
}
