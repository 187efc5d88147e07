/** Entry point: wires the API's session handling, the navbar and the router together. */

import { api, clearToken, getToken, handleUnauthorized } from "./api.js";
import { navigate, parseHash, startRouter } from "./router.js";
import { flash, notify, showError, showPending } from "./ui.js";
import { adminView } from "./views/admin.js";
import { analyticsView } from "./views/analytics.js";
import { historyView } from "./views/history.js";
import { homeView } from "./views/home.js";
import { loginView } from "./views/login.js";
import { registerView } from "./views/register.js";
import { resultView } from "./views/result.js";
import { samplesView } from "./views/samples.js";
import { uploadView } from "./views/upload.js";

const PUBLIC = new Set(["login", "register"]);

const views = {
  login: loginView,
  register: registerView,
  home: homeView,
  upload: uploadView,
  result: resultView,
  history: historyView,
  analytics: analyticsView,
  samples: samplesView,
  admin: adminView,
};

const navbar = document.getElementById("navbar");
let shownUser = null;

const adminLink = document.getElementById("nav-admin");

/** Show the signed-in user's name (and Admin to an admin); asked once per token, and a stale token ends up at sign-in. */
async function showUser() {
  const token = getToken();
  if (shownUser === token) return;
  shownUser = token;
  try {
    const user = await api.me();
    document.querySelector("#user-name span").textContent = user.name;
    adminLink.hidden = user.role !== "admin";
  } catch (err) {
    shownUser = null;
    showError(err);
  }
}

/** Before each view: the navbar for signed-in views with the current one marked, and messages. */
function prepareView(name) {
  const signedIn = !PUBLIC.has(name);
  navbar.hidden = !signedIn;
  document.body.classList.toggle("signed-out", !signedIn);
  const section = name === "result" ? "upload" : name;
  for (const link of navbar.querySelectorAll("[data-route]")) {
    const active = link.dataset.route === section;
    link.classList.toggle("active", active);
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  window.bootstrap.Collapse.getInstance("#nav-links")?.hide();
  showPending();
  if (signedIn) showUser();
}

function guard(name) {
  const signedIn = Boolean(getToken());
  if (!name) return signedIn ? "#/home" : "#/login";
  if (PUBLIC.has(name)) return signedIn ? "#/home" : null;
  return signedIn ? null : "#/login";
}

function forgetUser() {
  shownUser = null;
  document.querySelector("#user-name span").textContent = "";
  adminLink.hidden = true;
}

handleUnauthorized(() => {
  forgetUser();
  // a view's requests fail together: the first 401 already sent the user to sign in
  if (parseHash(location.hash).name === "login") return;
  flash("Your session has expired, please sign in again.", "warning");
  navigate("#/login");
});

document.getElementById("sign-out").addEventListener("click", () => {
  clearToken();
  forgetUser();
  flash("You have signed out.", "success");
  navigate("#/login");
});

// Nothing may fail silently: whatever slips past a view's own handling is shown to the user.
window.addEventListener("unhandledrejection", (event) => showError(event.reason));
window.addEventListener("error", (event) => notify(`Unexpected error: ${event.message}`, "danger"));

startRouter({ views, guard, beforeRender: prepareView });
