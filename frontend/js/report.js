/** A prediction's one-page PDF report: fetched with the token, saved under its usual name. */

import { api } from "./api.js";
import { busy, h, icon, notify, saveBlob, showError } from "./ui.js";

/** "kneegrade-report-7.pdf", the name the server gives it too. */
export const reportFilename = (id) => `kneegrade-report-${id}.pdf`;

/**
 * A "Download report (PDF)" button for prediction `p`.
 * @param {{id: number, report_url?: string}} p a prediction
 * @param {{id?: string, style?: string}} [options] the button's id and Bootstrap style
 */
export function reportButton(p, { id = "report-download", style = "outline-primary" } = {}) {
  const button = h("button", { class: `btn btn-${style}`, type: "button", id },
    icon("file-earmark-pdf", "me-1"), "Download report (PDF)");
  button.addEventListener("click", async () => {
    const restore = busy(button, "Preparing report…");
    try {
      saveBlob(await api.report(p.report_url ?? `/api/predictions/${p.id}/report`), reportFilename(p.id));
      notify(`Report for scan #${p.id} saved as ${reportFilename(p.id)}.`, "success");
    } catch (err) {
      showError(err);
    } finally {
      restore();
    }
  });
  return button;
}
