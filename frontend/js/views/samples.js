/** Samples: the synthetic demo X-rays, two per grade, to download or to grade straight away. */

import { api } from "../api.js";
import { gradeBadge } from "../grades.js";
import { navigate } from "../router.js";
import { busy, emptyState, h, icon, loading, pageHeader, showError } from "../ui.js";

function sampleCard(sample) {
  const grade = h("button", { class: "btn btn-primary btn-sm", type: "button", "aria-label": `Grade sample ${sample.name}` },
    icon("clipboard2-pulse", "me-1"), "Grade this");
  grade.addEventListener("click", async () => {
    const restore = busy(grade, "Grading…");
    try {
      const prediction = await api.grade(await api.sampleImage(sample.url), "", sample.name);
      navigate(`#/result/${prediction.id}`);
    } catch (err) {
      restore();
      showError(err);
    }
  });
  return h("div", { class: "col" },
    h("div", { class: "card h-100 sample-card", dataset: { name: sample.name } },
      h("img", { class: "card-img-top sample-img", src: sample.url, loading: "lazy", alt: `Synthetic knee X-ray, KL grade ${sample.grade} (${sample.grade_name})` }),
      h("div", { class: "card-body d-flex flex-column gap-2" },
        h("div", {}, gradeBadge(sample.grade)),
        h("div", { class: "small text-muted text-break", text: sample.name }),
        h("div", { class: "d-grid gap-2 mt-auto" },
          grade,
          h("a", { class: "btn btn-outline-primary btn-sm", href: sample.url, download: sample.name, "aria-label": `Download ${sample.name}` },
            icon("download", "me-1"), "Download")))));
}

/** @type {import("../router.js").View} */
export async function samplesView(root, ctx) {
  root.append(pageHeader("Sample X-rays",
    "Synthetic knee radiographs, two per KL grade: download one to try the upload, or grade it directly with the default model."));
  const body = loading("Loading samples…");
  root.append(body);
  try {
    const samples = await api.samples(ctx.signal);
    body.replaceWith(samples.length
      ? h("div", { class: "row row-cols-2 row-cols-md-3 row-cols-lg-5 g-3", id: "samples" }, samples.map(sampleCard))
      : emptyState("images", "This server has no sample images. Generate them with `kneegrade synth`."));
  } catch (err) {
    body.replaceWith(emptyState("exclamation-octagon", "The samples could not be loaded."));
    showError(err);
  }
}
