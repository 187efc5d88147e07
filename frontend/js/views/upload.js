/** Upload: drop or browse an X-ray, check it here, pick a model, grade it, then show the result. */

import { api } from "../api.js";
import { modelFacts, modelOptionLabel } from "../models.js";
import { navigate } from "../router.js";
import { busy, clearMessages, formatBytes, h, icon, loading, notify, pageHeader, showError } from "../ui.js";

const TYPES = ["image/png", "image/jpeg", "image/bmp", "image/tiff", "application/dicom"];
const EXTENSIONS = /\.(png|jpe?g|bmp|tiff?|dcm)$/i;
const ACCEPT = ".png,.jpg,.jpeg,.bmp,.tif,.tiff,.dcm,image/png,image/jpeg,image/bmp,image/tiff,application/dicom";
/** The server's default upload limit (KNEEGRADE_MAX_UPLOAD_BYTES); it checks again itself. */
const MAX_BYTES = 20 * 1024 * 1024;

/** Why the file cannot be graded, or null when it looks fine (the server decides from its bytes). */
function checkFile(file) {
  if (!TYPES.includes(file.type) && !EXTENSIONS.test(file.name)) {
    return `“${file.name}” is not an image KneeGrade accepts: choose a PNG, JPEG, BMP, TIFF or DICOM file.`;
  }
  if (file.size > MAX_BYTES) {
    return `“${file.name}” is ${formatBytes(file.size)}, above the upload limit of ${formatBytes(MAX_BYTES)}.`;
  }
  if (file.size === 0) return `“${file.name}” is empty.`;
  return null;
}

/** A DICOM file, which browsers cannot show (the server reads it by its content either way). */
const isDicom = (file) => file.type === "application/dicom" || /\.dcm$/i.test(file.name);

/** The model picker, each option with its version and data, and below it what the chosen model is. */
function modelPicker(models) {
  const facts = h("div", { class: "mt-2", id: "model-info", "aria-live": "polite" });
  const select = h("select", { class: "form-select", id: "model", name: "model", "aria-describedby": "model-info" },
    models.map((m) => h("option", { value: m.id, selected: m.default, text: modelOptionLabel(m) })));
  const show = () => facts.replaceChildren(modelFacts(models.find((m) => m.id === select.value)));
  select.addEventListener("change", show);
  show();
  return h("div", { class: "mb-3" },
    h("label", { class: "form-label", for: "model", text: "Model" }),
    select,
    facts);
}

/** @type {import("../router.js").View} */
export async function uploadView(root, ctx) {
  const input = h("input", { type: "file", id: "file-input", class: "visually-hidden", tabindex: "-1", accept: ACCEPT, "aria-hidden": "true" });
  const zone = h("div", {
    class: "drop-zone", id: "drop-zone", role: "button", tabindex: "0",
    "aria-describedby": "drop-hint", "aria-label": "Choose an X-ray: drop a file here or press Enter to browse",
  },
  icon("cloud-arrow-up", "drop-icon"),
  h("p", { class: "fs-5 mb-1" }, "Drag and drop a knee X-ray here"),
  h("p", { class: "mb-3 text-muted" }, "or"),
  h("span", { class: "btn btn-outline-primary", "aria-hidden": "true" }, icon("folder2-open", "me-1"), "Browse files"),
  h("p", { class: "small text-muted mt-3 mb-0", id: "drop-hint", text: "PNG, JPEG, BMP, TIFF or DICOM (.dcm), up to 20 MiB. Any framing works: one knee or both (a bilateral standing view), a crop or a wider view; each knee is found and graded separately." }));

  const previewImg = h("img", { id: "preview", alt: "" });
  const frame = h("div", { class: "preview-frame" },
    h("span", { class: "text-muted p-4 text-center" }, icon("image", "d-block fs-1 mb-2"), "No image chosen yet"));
  const fileInfo = h("p", { class: "small text-muted mt-2 mb-0", id: "file-info", "aria-live": "polite" });
  const gradeButton = h("button", { class: "btn btn-primary btn-lg w-100", type: "submit", id: "grade", disabled: true },
    icon("clipboard2-pulse", "me-2"), "Grade X-ray");
  const models = h("div", {}, loading("Loading models…"));
  const form = h("form", { "aria-label": "Grade an X-ray" }, models, gradeButton);

  let chosen = null;
  let previewUrl = null;
  ctx.onLeave(() => previewUrl && URL.revokeObjectURL(previewUrl));

  function choose(file) {
    if (!file) return;
    const problem = checkFile(file);
    if (problem) {
      notify(problem, "danger");
      return;
    }
    clearMessages();
    chosen = file;
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = null;
    fileInfo.textContent = `${file.name} · ${formatBytes(file.size)}`;
    gradeButton.disabled = !form.elements.model;
    if (isDicom(file)) {
      frame.replaceChildren(h("span", { class: "text-muted p-4 text-center dicom-placeholder", id: "dicom-placeholder" },
        icon("file-earmark-medical", "d-block fs-1 mb-2"), "DICOM file: preview after grading"));
      return;
    }
    previewUrl = URL.createObjectURL(file);
    previewImg.alt = `Preview of ${file.name}`;
    previewImg.onerror = () => frame.replaceChildren(
      h("span", { class: "text-muted p-4 text-center" }, icon("file-earmark-image", "d-block fs-1 mb-2"),
        "This browser cannot preview the file, but it can still be graded."));
    previewImg.src = previewUrl;
    frame.replaceChildren(previewImg);
  }

  const setDisabled = (disabled) => {
    zone.setAttribute("aria-disabled", String(disabled));
    zone.tabIndex = disabled ? -1 : 0;
  };
  const isDisabled = () => zone.getAttribute("aria-disabled") === "true";
  const browse = () => !isDisabled() && input.click();

  zone.addEventListener("click", browse);
  // like a native button: Enter acts on keydown, Space on keyup (Chromium opens no file picker
  // from a Space keydown)
  zone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") event.preventDefault();
    if (event.key === "Enter") browse();
  });
  zone.addEventListener("keyup", (event) => {
    if (event.key === " ") browse();
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    if (!isDisabled()) zone.classList.add("is-dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("is-dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("is-dragging");
    if (!isDisabled()) choose(event.dataTransfer?.files?.[0]);
  });
  input.addEventListener("change", () => {
    choose(input.files[0]);
    input.value = ""; // choosing the same file again still fires "change"
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!chosen) return;
    const restore = busy(gradeButton, "Grading…");
    setDisabled(true);
    try {
      const prediction = await api.grade(chosen, form.elements.model.value);
      navigate(`#/result/${prediction.id}`);
    } catch (err) {
      restore();
      setDisabled(false);
      showError(err);
    }
  });

  root.append(
    pageHeader("Grade an X-ray", "Upload a knee radiograph to grade it on the Kellgren-Lawrence scale"),
    h("div", { class: "row g-4" },
      h("div", { class: "col-lg-6" }, h("div", { class: "card h-100" }, h("div", { class: "card-body d-flex" }, zone, input))),
      h("div", { class: "col-lg-6" },
        h("div", { class: "card h-100" },
          h("div", { class: "card-body d-flex flex-column gap-3" },
            h("div", {}, frame, fileInfo),
            form)))));

  try {
    const served = await api.models(ctx.signal);
    if (!served.length) {
      models.replaceChildren(h("div", { class: "alert alert-warning mb-3", text: "No models are loaded on this server, so nothing can be graded. Ask an administrator to train or install one." }));
      return;
    }
    models.replaceChildren(modelPicker(served));
    gradeButton.disabled = !chosen;
  } catch (err) {
    models.replaceChildren(h("p", { class: "text-danger", text: "The list of models could not be loaded." }));
    showError(err);
  }
}
