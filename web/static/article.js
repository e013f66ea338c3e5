// The article page: bring the cited paragraph to the middle of the screen and give it focus,
// so keyboard and screen-reader users land on it too.
"use strict";

(() => {
  const cited = document.querySelector(".para.cited");
  if (!cited) return;
  cited.scrollIntoView({ block: "center" });
  cited.focus({ preventScroll: true });
})();
