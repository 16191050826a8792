// A small classic script (the CSP allows no inline script) that index.html
// runs right after its static shell, before the app's module. On a first visit
// to a session page it puts the tour's first tip into that shell, so the
// page's largest text paints without waiting for the app's JavaScript,
// /api/user and the session. React's first render replaces #root's content
// with the real tip (same text, same place).
// src/playground/OnboardingTip.test.ts keeps the text and key in step.
(function () {
  try {
    if (!/^\/s\/[^/]+\/?$/.test(location.pathname) || localStorage.getItem("codebuddy.onboarded") === "1") return;
    var root = document.getElementById("root");
    // Only into index.html's shell: if React has rendered already, it shows the tip.
    if (!root || !root.querySelector("[data-static-shell]")) return;
    var aside = document.createElement("aside");
    aside.className = "onboarding";
    aside.setAttribute("aria-label", "Welcome tour");
    var p = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = "Tip 1 of 3:";
    p.append(strong, " ", "Everyone here edits the same files live; coloured cursors show who is where.");
    aside.append(p);
    root.append(aside);
  } catch (e) {
    // No storage (private mode): the app shows the tip itself, or not.
  }
})();
