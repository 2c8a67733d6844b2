() => {
  // Status lines are live regions (a screen reader hears each step and the end of a run), the
  // page title follows the page's language, and clicking Run brings that tab's status into view.
  const mark = () => {
    document.querySelectorAll(".run-status").forEach((el) => {
      if (!el.hasAttribute("aria-live")) {
        el.setAttribute("role", "status");
        el.setAttribute("aria-live", "polite");
      }
    });
    const title = document.querySelector("#app-title");
    const text = title ? title.textContent.trim() : "";  // textContent: no layout per mutation
    if (text && document.title !== text) document.title = text;
  };
  document.addEventListener("click", (event) => {
    const run = event.target.closest && event.target.closest(".run-button");
    const status = run && run.closest("[role=tabpanel]")?.querySelector(".run-status");
    if (status) setTimeout(() => status.scrollIntoView({ block: "center" }), 50);
  }, true);
  let queued = false;  // streamed text mutates the page many times a second: mark once per frame
  new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; mark(); }); }
  }).observe(document.body, { childList: true, subtree: true });
  mark();
}
