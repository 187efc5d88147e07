/** One graded X-ray: the KL badge, confidence, the five probabilities and a review note. */

import { api, showImage } from "../api.js";
import { GRADE_FEATURES, GRADE_NAMES, gradeBadge, reviewNote } from "../grades.js";
import { emptyState, formatDate, h, icon, linkButton, loading, pageHeader, percent, showError } from "../ui.js";

/** Five labelled bars, one per grade, the predicted one in bold. */
const probabilityBars = (probabilities, predicted) =>
  h("div", { class: "d-grid gap-2", id: "probabilities" },
    probabilities.map((p, grade) =>
      h("div", { class: `prob-row${grade === predicted ? " is-top" : ""}`, dataset: { grade } },
        h("span", { class: "prob-label", id: `prob-label-${grade}`, text: `${grade} · ${GRADE_NAMES[grade]}` }),
        h("div", {
          class: "progress", role: "progressbar", "aria-labelledby": `prob-label-${grade}`,
          "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": (p * 100).toFixed(1),
        }, h("div", { class: `progress-bar kl-bar-${grade}`, style: `width: ${(p * 100).toFixed(1)}%` })),
        h("span", { class: "text-end font-monospace small", text: percent(p) }))));

const detail = (label, value, note) =>
  h("div", { class: "col-sm-6" },
    h("dt", { class: "text-muted small fw-normal", text: label }),
    h("dd", { class: "mb-0 text-break" }, value, note && h("div", { class: "small text-muted", text: note })));

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

  const image = h("img", { class: "img-fluid", id: "result-image", alt: `Knee X-ray ${p.original_filename}, graded KL ${p.grade} ${p.name}` });
  const frame = h("div", { class: "preview-frame result-frame" }, image);
  const note = reviewNote(p.probabilities);

  body.replaceWith(h("div", { class: "row g-4", id: "result", dataset: { id: p.id } },
    h("div", { class: "col-lg-5" }, h("div", { class: "card h-100" }, h("div", { class: "card-body" }, frame))),
    h("div", { class: "col-lg-7" },
      h("div", { class: "card h-100" },
        h("div", { class: "card-body d-flex flex-column gap-3" },
          h("div", { class: "d-flex flex-wrap align-items-center gap-3" },
            gradeBadge(p.grade, true),
            h("div", {},
              h("div", { class: "text-muted small", text: "Confidence" }),
              h("div", { class: "fs-3 fw-semibold lh-1", id: "confidence", text: percent(p.confidence) }))),
          h("p", { class: "mb-0" }, h("strong", { text: `${p.name}: ` }), GRADE_FEATURES[p.grade]),
          note && h("div", { class: "alert alert-warning d-flex gap-2 mb-0", role: "note", id: "review-note" },
            icon("exclamation-triangle", "flex-shrink-0"), h("span", { text: note })),
          h("div", {}, h("h2", { class: "h6 text-muted", text: "Probability per KL grade" }), probabilityBars(p.probabilities, p.grade)),
          h("dl", { class: "row g-3 mb-0 mt-auto pt-2 border-top" },
            detail("Model", p.model_name, `version ${p.model_version}`),
            detail("Graded", formatDate(p.created_at)),
            detail("File", p.original_filename),
            detail("Scan id", `#${p.id}`)))))));

  // a TIFF upload is stored as sent, which browsers cannot show: fall back to the PNG thumbnail
  image.onerror = () => {
    image.onerror = null;
    showImage(image, p.thumbnail_url, ctx).catch(() => frame.replaceChildren(emptyState("image", "The image cannot be shown.")));
  };
  try {
    await showImage(image, p.image_url, ctx);
  } catch (err) {
    frame.replaceChildren(emptyState("image", "The image could not be loaded."));
    showError(err);
  }
}
