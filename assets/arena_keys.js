// Keyboard shortcuts of the Compare tab (ui/arena_tab.py): A / B / T / X vote, 1-5 rate the
// queued output, N takes the next comparison. Ignored while typing in a field or when the
// Compare tab is not the one shown.
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  const target = event.target;
  const tag = (target && target.tagName ? target.tagName : "").toLowerCase();
  if (tag === "input" || tag === "textarea" || tag === "select" || (target && target.isContentEditable)) return;
  const panel = document.getElementById("tab-compare");
  if (!panel || panel.offsetParent === null) return;
  const ids = {a: "arena-vote-a", b: "arena-vote-b", t: "arena-vote-tie", x: "arena-vote-bad", n: "arena-next",
               1: "arena-rate-1", 2: "arena-rate-2", 3: "arena-rate-3", 4: "arena-rate-4", 5: "arena-rate-5"};
  const id = ids[String(event.key).toLowerCase()];
  const button = id && document.getElementById(id);
  if (!button || button.disabled) return;
  event.preventDefault();
  button.click();
});
