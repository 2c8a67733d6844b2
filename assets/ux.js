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
    const text = title ? title.innerText.trim() : "";
    if (text && document.title !== text) document.title = text;
  };
  window.aigcShowStatus = (id) => {
    const el = document.getElementById(id);
    if (el) el.scrollIntoView({ block: "nearest" });
  };
  new MutationObserver(mark).observe(document.body, { childList: true, subtree: true });
  mark();
}
