// The documents page: upload files (each its own request, with progress), follow the indexing job
// until the document is answerable, list and delete documents, edit the page text, create a base.
// Everything from the API or the user is inserted as text nodes, never as HTML.
"use strict";

(() => {
  const KEY_STORE = "rag-api-key";
  const POLL_MS = 500;
  const $ = (id) => document.getElementById(id);
  const main = $("main");
  const kb = main.dataset.kb;
  const maxBytes = Number(main.dataset.maxMb) * 1024 * 1024;
  const base = `/kbs/${encodeURIComponent(kb)}`;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function headers(json) {
    const h = json ? { "Content-Type": "application/json" } : {};
    const key = localStorage.getItem(KEY_STORE);
    if (key) h["X-API-Key"] = key;
    return h;
  }

  // A request that needs the API key (every write, and reading documents and jobs when a key is set)
  // asks for it once (kept in this browser), then is sent again.
  async function send(method, url, body) {
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await fetch(url, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
      if (response.status !== 401 || attempt) return response;
      const key = window.prompt("此服务需要 API 密钥 (API key required)");
      if (!key) return response;
      localStorage.setItem(KEY_STORE, key.trim());
    }
  }

  async function message(response) {
    const body = await response.json().catch(() => null);
    return (body && (body.message || body.detail)) || response.statusText || `HTTP ${response.status}`;
  }

  // --- the list ---------------------------------------------------------------------------------
  async function refresh() {
    const response = await send("GET", `${base}/documents`);
    if (!response.ok) {
      $("list-note").textContent = await message(response);
      return;
    }
    const data = await response.json();
    const rows = data.documents.map((d) => {
      const remove = el("button", { type: "button", class: "quiet delete", "data-doc": d.doc_id }, "删除");
      remove.addEventListener("click", () => removeDocument(d, remove));
      const edit = el("button", { type: "button", class: "quiet edit", "data-doc": d.doc_id }, "编辑");
      edit.addEventListener("click", () => editDocument(d));
      const title = d.indexed
        ? el("a", { href: `/articles/${d.doc_id.split("/").map(encodeURIComponent).join("/")}?kb=${encodeURIComponent(kb)}` }, d.title)
        : el("span", {}, d.title, el("span", { class: "note" }, "（索引中）"));
      return el("tr", { "data-doc": d.doc_id }, el("td", {}, title), el("td", {}, d.date || "—"), el("td", {}, d.filename),
        el("td", { class: "num" }, String(d.paragraphs)), el("td", {}, (d.added || "").replace("T", " ").slice(0, 16)), el("td", {}, edit, remove));
    });
    document.querySelector("#doc-table tbody").replaceChildren(...rows);
    $("doc-count").textContent = `共 ${data.documents.length} 篇文档`;
    $("list-note").textContent = data.documents.length ? "" : "还没有文档：在上面上传。(No documents yet.)";
  }

  const docUrl = (doc) => `${base}/documents/${doc.doc_id.split("/").map(encodeURIComponent).join("/")}`;

  async function editDocument(doc) {
    const title = window.prompt("标题 Title", doc.title);
    if (title === null) return;
    const date = window.prompt("日期 Date (YYYY-MM-DD，可留空)", doc.date || "");
    if (date === null) return;
    const changes = { title: title.trim() || null, date: date.trim() || null };
    const response = await send("PATCH", docUrl(doc), changes);
    if (!response.ok) {
      $("list-note").textContent = await message(response);
      return;
    }
    $("list-note").textContent = "正在更新…";
    const done = await follow((await response.json()).job, () => {});
    await refresh();
    $("list-note").textContent = done.state === "done" ? "已更新。" : `更新失败：${done.error}`;
  }

  async function removeDocument(doc, button) {
    if (!window.confirm(`删除“${doc.title}”？删除后的回答不会再引用它。\nDelete this document?`)) return;
    button.disabled = true;
    const response = await send("DELETE", docUrl(doc));
    if (!response.ok) {
      $("list-note").textContent = await message(response);
      button.disabled = false;
      return;
    }
    $("list-note").textContent = `正在删除“${doc.title}”…`;
    const job = (await response.json()).job;
    const done = await follow(job, () => {});
    await refresh();
    $("list-note").textContent = done.state === "done" ? `已删除“${doc.title}”。` : `删除失败：${done.error}`;
  }

  // --- uploads ----------------------------------------------------------------------------------
  async function follow(job, show) {
    for (;;) {
      const response = await send("GET", `/jobs/${job.id}`);
      const state = response.ok ? await response.json() : { state: "failed", error: await message(response) };
      show(state);
      if (["done", "failed", "cancelled"].includes(state.state)) return state;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  function stageText(job) {
    if (job.state === "failed") return `失败 failed：${job.error}`;
    if (job.state === "cancelled") return "已取消 cancelled";
    if (job.state === "done") return "完成，可以提问 ready";
    if (job.stage === "embedding") return `嵌入 embedding ${job.done}/${job.total}`;
    if (job.stage && job.stage.startsWith("OCR")) return `识别 ${job.stage}`;
    if (job.state === "queued") return "排队中 queued";
    return "读取中 reading";
  }

  function upload(file) {
    const status = el("span", { class: "state" }, "上传中 uploading 0%");
    const row = el("li", { "data-file": file.name }, el("span", { class: "name" }, file.name), status);
    $("uploads").append(row);
    const setState = (text, state) => { status.textContent = text; status.className = `state state-${state}`; };
    if (file.size > maxBytes) {
      setState(`失败：文件超过 ${main.dataset.maxMb} MB`, "failed");
      return;
    }
    const form = new FormData();
    form.append("files", file, file.name);
    const request = new XMLHttpRequest();
    request.open("POST", `${base}/documents`);
    const key = localStorage.getItem(KEY_STORE);
    if (key) request.setRequestHeader("X-API-Key", key);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) setState(`上传中 uploading ${Math.round((100 * event.loaded) / event.total)}%`, "uploading");
    });
    request.addEventListener("error", () => setState("失败：无法连接服务器", "failed"));
    request.addEventListener("load", async () => {
      let body = null;
      try { body = JSON.parse(request.responseText); } catch (err) { /* shown below */ }
      if (request.status === 401) {
        const given = window.prompt("此服务需要 API 密钥 (API key required)");
        row.remove();
        if (given) { localStorage.setItem(KEY_STORE, given.trim()); upload(file); }
        return;
      }
      if (request.status !== 202 || !body) {
        setState(`失败 failed：${(body && body.message) || request.statusText}`, "failed");
        return;
      }
      if (!body.job) {
        setState("已在知识库中 already there", "ready");
        return;
      }
      setState("读取中 reading", "reading");
      const cancel = el("button", { type: "button", class: "quiet cancel" }, "取消");
      cancel.addEventListener("click", async () => {
        cancel.disabled = true;
        const response = await send("DELETE", `/jobs/${body.job.id}`);
        if (!response.ok) setState(await message(response), "failed");
      });
      row.append(cancel);
      const done = await follow(body.job, (job) => setState(stageText(job), job.state === "done" ? "ready" : job.state));
      cancel.remove();
      setState(stageText(done), done.state === "done" ? "ready" : "failed");
      refresh();
    });
    request.send(form);
  }

  const input = $("files");
  const zone = $("dropzone");
  input.addEventListener("change", () => { [...input.files].forEach(upload); input.value = ""; });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    [...event.dataTransfer.files].forEach(upload);
  });

  // --- page text and new bases ------------------------------------------------------------------
  $("page-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    const examples = String(data.get("examples")).split("\n").map((s) => s.trim()).filter(Boolean);
    const response = await send("PATCH", base, { title: data.get("title"), description: data.get("description"), examples });
    $("page-note").textContent = response.ok ? "已保存 saved" : await message(response);
  });

  $("new-kb").addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    const response = await send("POST", "/kbs", { name: data.get("name"), title: data.get("title") || null });
    if (response.ok) window.location.href = `/documents?kb=${encodeURIComponent(data.get("name"))}`;
    else $("new-note").textContent = await message(response);
  });

  const deleteBase = $("delete-kb");
  if (deleteBase) deleteBase.addEventListener("click", async () => {
    if (!window.confirm(`删除知识库“${kb}”及其全部文档？此操作无法撤销。\nDelete this knowledge base and all its documents?`)) return;
    const response = await send("DELETE", base);
    if (response.ok) window.location.href = "/documents";
    else $("delete-note").textContent = await message(response);
  });

  const kbSelect = $("kb-select");
  if (kbSelect) kbSelect.addEventListener("change", () => kbSelect.form.submit());

  refresh();
})();
