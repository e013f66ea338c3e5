// A page that needs the API key (an article, when RAG_API_KEY is set): fetch it again with the key
// this browser keeps (the chat page stores it), or ask for the key first; then show what came back.
"use strict";

(() => {
  const KEY_STORE = "rag-api-key";
  const form = document.getElementById("key-form");
  const note = document.getElementById("key-note");

  async function open(key) {
    const response = await fetch(window.location.href, { headers: { "X-API-Key": key, Accept: "text/html" } });
    if (response.status === 401) {
      note.textContent = "这个密钥无效，请重新输入。(That key was not accepted.)";
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    document.title = page.title;
    document.body.replaceWith(document.adoptNode(page.body));
    const cited = document.querySelector(".para.cited");
    if (cited) {
      cited.scrollIntoView({ block: "center" });
      cited.focus({ preventScroll: true });
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = document.getElementById("api-key").value.trim();
    if (!key) return;
    localStorage.setItem(KEY_STORE, key);
    open(key);
  });
  const kept = localStorage.getItem(KEY_STORE);
  if (kept) open(kept);
})();
