/**
 * History: the user's graded knees, newest first, a page at a time, each with its side (and which of
 * its upload's knees it is), the model and version that graded it (flagged "Demo" when the model
 * cannot grade real X-rays), to preview with its heatmap, open or delete.
 */

import { api, showImage } from "../api.js";
import { gradeBadge, reviewAlert, reviewFlag } from "../grades.js";
import { heatmapViewer } from "../heatmap.js";
import { kneeNote } from "../knees.js";
import { demoFlag, modelWarning, provenance } from "../models.js";
import { reportButton } from "../report.js";
import { navigate } from "../router.js";
import { confirmDialog, emptyState, flash, formatDate, h, icon, linkButton, loading, pageHeader, percent, showError } from "../ui.js";

const PAGE_SIZE = 10;

/** A context for one preview: its requests and object URLs end when the preview closes or the view is left. */
function previewContext(ctx) {
  const controller = new AbortController();
  const cleanups = [];
  const close = () => {
    controller.abort();
    cleanups.splice(0).forEach((cleanup) => cleanup());
  };
  ctx.signal.addEventListener("abort", close, { once: true });
  return { close, ctx: { ...ctx, signal: controller.signal, onLeave: (fn) => cleanups.push(fn) } };
}

/** The scan-preview dialog of index.html, filled for one scan at a time. */
function previewDialog(ctx) {
  const element = document.getElementById("scan-preview");
  const title = document.getElementById("scan-preview-title");
  const body = document.getElementById("scan-preview-body");
  const footer = document.getElementById("scan-preview-footer");
  const modal = window.bootstrap.Modal.getOrCreateInstance(element);
  let current = null;
  let opener = null;

  const clear = () => {
    current?.close();
    current = null;
    body.replaceChildren();
    footer.replaceChildren();
  };
  const onHidden = () => {
    clear();
    opener?.focus();
    opener = null;
  };
  element.addEventListener("hidden.bs.modal", onHidden);
  // leaving the view (back button, a link in the dialog): its ids must not linger in the next view
  ctx.onLeave(() => {
    element.removeEventListener("hidden.bs.modal", onHidden);
    clear();
    modal.hide();
  });

  /** Show `p`: the X-ray with its heatmap, the grade, the model (a demo's warning), the review note, report and open. */
  return (p, trigger) => {
    clear();
    opener = trigger;
    current = previewContext(ctx);
    title.textContent = `Scan #${p.id} · ${p.original_filename}`;
    body.append(h("div", { class: "row g-4", id: "scan-preview-content", dataset: { id: p.id } },
      h("div", { class: "col-md-7" }, heatmapViewer(p, current.ctx, { imageId: "preview-image" })),
      h("div", { class: "col-md-5 d-flex flex-column gap-3" },
        kneeNote(p),
        h("div", { class: "d-flex flex-wrap align-items-center gap-3" },
          gradeBadge(p.grade, true),
          h("div", {},
            h("div", { class: "text-muted small", text: "Confidence" }),
            h("div", { class: "fs-4 fw-semibold lh-1", text: percent(p.confidence) }))),
        modelWarning(p.model_warning, "preview-model-warning"),
        provenance(p),
        reviewAlert(p, "preview-review-note"),
        h("dl", { class: "mb-0 small" },
          h("dt", { class: "text-muted fw-normal", text: "Graded" }), h("dd", { class: "mb-0", text: formatDate(p.created_at) })))));
    footer.append(
      reportButton(p, { id: "preview-report-download" }),
      h("a", { class: "btn btn-primary", href: `#/result/${p.id}` }, icon("box-arrow-up-right", "me-1"), "Open full result"),
      h("button", { class: "btn btn-outline-light", type: "button", "data-bs-dismiss": "modal", text: "Close" }));
    modal.show();
  };
}

function row(p, ctx, onDelete, onPreview) {
  const thumb = h("img", { class: "thumb", alt: `Thumbnail of ${p.original_filename}`, width: 56, height: 56 });
  showImage(thumb, p.thumbnail_url, ctx).catch(() => (thumb.alt = "Thumbnail unavailable"));
  const preview = h("button", { class: "btn btn-sm btn-outline-primary me-2", type: "button", "aria-label": `Preview scan of ${p.original_filename} with its heatmap` },
    icon("eye"), h("span", { class: "d-none d-xl-inline ms-1", text: "Preview" }));
  preview.addEventListener("click", () => onPreview(p, preview));
  // the thumbnail opens the same preview for the mouse; the Preview button is the keyboard's way
  const thumbButton = h("button", { class: "thumb-button", type: "button", tabindex: "-1", "aria-hidden": "true", title: "Preview with heatmap" }, thumb);
  thumbButton.addEventListener("click", () => onPreview(p, preview));
  const remove = h("button", { class: "btn btn-sm btn-outline-danger", type: "button", "aria-label": `Delete scan of ${p.original_filename}` },
    icon("trash"), h("span", { class: "d-none d-xl-inline ms-1", text: "Delete" }));
  remove.addEventListener("click", () => onDelete(p));
  return h("tr", { dataset: { id: p.id } },
    h("td", {}, thumbButton),
    h("td", {}, h("div", { class: "d-flex flex-column align-items-start gap-1" }, gradeBadge(p.grade), reviewFlag(p), demoFlag(p.model_warning, p.model_data_kind))),
    h("td", { class: "text-nowrap", text: percent(p.confidence) }),
    h("td", { class: "min-w-0" },
      h("div", { class: "file-name", title: p.original_filename, text: p.original_filename }),
      kneeNote(p),
      h("div", { class: "small text-muted text-nowrap", text: formatDate(p.created_at) })),
    h("td", { class: "d-none d-lg-table-cell" },
      h("div", { class: "text-nowrap", text: p.model_name }),
      h("div", { class: "small text-muted text-nowrap", text: `v${p.model_version}` })),
    h("td", { class: "text-end text-nowrap" },
      preview,
      h("a", { class: "btn btn-sm btn-outline-primary me-2", href: `#/result/${p.id}`, "aria-label": `Open scan of ${p.original_filename}` },
        icon("box-arrow-up-right"), h("span", { class: "d-none d-xl-inline ms-1", text: "Open" })),
      remove));
}

function pager(page, number) {
  const pages = Math.max(1, Math.ceil(page.total / PAGE_SIZE));
  const first = page.offset + 1;
  const last = page.offset + page.items.length;
  const go = (n) => () => navigate(`#/history?page=${n}`);
  return h("nav", { class: "d-flex flex-wrap justify-content-between align-items-center gap-2 mt-3", "aria-label": "History pages" },
    h("span", { class: "text-muted small", "aria-live": "polite", text: `Scans ${first}–${last} of ${page.total} · page ${number} of ${pages}` }),
    h("div", { class: "btn-group" },
      h("button", { class: "btn btn-outline-light btn-sm", type: "button", id: "prev-page", disabled: number <= 1, onClick: go(number - 1) },
        icon("chevron-left", "me-1"), "Previous"),
      h("button", { class: "btn btn-outline-light btn-sm", type: "button", id: "next-page", disabled: number >= pages, onClick: go(number + 1) },
        "Next", icon("chevron-right", "ms-1"))));
}

/** @type {import("../router.js").View} */
export async function historyView(root, ctx) {
  const number = Math.max(1, Number.parseInt(ctx.query.get("page") ?? "1", 10) || 1);
  root.append(pageHeader("History", "Your graded X-rays, newest first",
    linkButton("#/upload", "cloud-arrow-up", "Grade an X-ray", "primary")));
  const body = loading("Loading your scans…");
  root.append(body);

  let page;
  try {
    page = await api.predictions(PAGE_SIZE, (number - 1) * PAGE_SIZE, ctx.signal);
  } catch (err) {
    body.replaceWith(emptyState("exclamation-octagon", "Your history could not be loaded."));
    showError(err);
    return;
  }
  if (!page.items.length && number > 1) {
    navigate(`#/history?page=${Math.max(1, Math.ceil(page.total / PAGE_SIZE))}`);
    return;
  }
  if (!page.items.length) {
    body.replaceWith(h("div", { class: "card" }, h("div", { class: "card-body" },
      emptyState("clock-history", "No scans yet. Graded X-rays appear here.",
        linkButton("#/upload", "cloud-arrow-up", "Grade an X-ray", "primary")))));
    return;
  }

  async function onDelete(p) {
    if (!(await confirmDialog(`Delete the scan of “${p.original_filename}” (KL ${p.grade}, ${formatDate(p.created_at)})? This cannot be undone.`))) return;
    try {
      await api.deletePrediction(p.id);
      flash(`Deleted the scan of “${p.original_filename}”.`, "success");
      navigate(`#/history?page=${number}`);
    } catch (err) {
      showError(err);
    }
  }

  const onPreview = previewDialog(ctx);
  const headers = ["Image", "KL grade", "Confidence", "File, knee and date", "Model", "Actions"];
  body.replaceWith(h("div", { class: "card" }, h("div", { class: "card-body" },
    h("div", { class: "table-responsive" },
      h("table", { class: "table table-hover align-middle mb-0", id: "history-table" },
        h("caption", { class: "visually-hidden", text: "Your graded X-rays" }),
        h("thead", {}, h("tr", {}, headers.map((text, i) =>
          h("th", { scope: "col", class: { 4: "d-none d-lg-table-cell", 5: "text-end" }[i], text })))),
        h("tbody", {}, page.items.map((p) => row(p, ctx, onDelete, onPreview))))),
    pager(page, number))));
}
