// A small classic script (the CSP allows no inline script) that index.html
// runs right after its static shell, before the app's module. On a session
// page it
// - asks for the playground's JavaScript right after the first paint (the
//   files index.html's codebuddy-playground meta tag lists;
//   src/app/loadPlayground.ts evaluates them later, one library per task):
//   fetched while the app's entry loads rather than after it has run, and at
//   low priority, so they do not hold up the app's entry and API calls;
// - on a first visit puts the tour's first tip into that shell, so the page's
//   largest text paints without waiting for the app's JavaScript, /api/user
//   and the session. React's first render replaces #root's content with the
//   real tip (same text, same place).
// src/playground/OnboardingTip.test.ts keeps the text and key in step.
(function () {
  if (!/^\/s\/[^/]+\/?$/.test(location.pathname)) return;
  // After the first paint: requests still under way then do not count as
  // part of what that paint needed (in Lighthouse's model of a slow network).
  requestAnimationFrame(function () {
    setTimeout(preloadPlayground);
  });
  try {
    if (localStorage.getItem("codebuddy.onboarded") === "1") return;
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

  function preloadPlayground() {
    var meta = document.querySelector('meta[name="codebuddy-playground"]');
    var files = meta ? meta.getAttribute("content").split(" ") : [];
    for (var i = 0; i < files.length; i++) {
      if (!files[i] || document.querySelector('link[href="' + files[i] + '"]')) continue;
      var link = document.createElement("link");
      link.rel = "modulepreload";
      link.fetchPriority = "low";
      // As Vite's own preloads do, so the browser reuses these fetches for its imports.
      link.crossOrigin = "";
      link.href = files[i];
      document.head.append(link);
    }
  }
})();
