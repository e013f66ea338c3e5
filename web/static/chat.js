// The chat page: sends questions (with the conversation so far) to /ask and renders answers.
// With an answer writer on the server (data-writer="on"), /ask/stream sends the same answer first
// and then the writer's text as it is written, replaced by the checked text when it is done.
// Everything from the API or the user is inserted as text nodes, never as HTML.
"use strict";

(() => {
  const KEY_STORE = "rag-api-key";
  const kb = document.getElementById("main").dataset.kb || "";
  const CHAT_STORE = `rag-conversation:${kb}`; // sessionStorage, per knowledge base: "back" from an article keeps the chat
  const HISTORY_SENT = 10; // earlier turns sent for follow-ups
  const TURNS_KEPT = 20;
  const EXCERPT = 160; // characters of a passage shown before "展开全文"

  const $ = (id) => document.getElementById(id);
  const conversation = $("conversation");
  const askForm = $("ask-form");
  const input = $("question");
  const sendButton = $("send");
  const keyForm = $("key-form");
  const keyInput = $("api-key");
  const keyNote = $("key-note");
  const newChat = $("new-chat");
  const hint = $("hint");
  const writerOn = $("main").dataset.writer === "on";

  let turns = []; // [{question, response}] answered turns, oldest first
  let waitingForKey = null; // {turn, question} to ask again once a key is given
  let busy = false;

  // el("p", {class: "x"}, "text", node…): strings become text nodes, so data is never parsed as HTML.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
    return node;
  }

  const english = (text) => el("span", { lang: "en", class: "en" }, text);

  // Offsets from the API count Unicode code points (Python); JS strings count UTF-16 units.
  function withMark(text, start, end) {
    const chars = Array.from(text);
    return [chars.slice(0, start).join(""), el("mark", {}, chars.slice(start, end).join("")), chars.slice(end).join("")];
  }

  function markValue(text, value) {
    const at = value ? text.indexOf(value) : -1;
    if (at < 0) return [text];
    return [text.slice(0, at), el("mark", {}, value), text.slice(at + value.length)];
  }

  function articleHref(docId, paragraph, highlight) {
    const path = docId.split("/").map(encodeURIComponent).join("/");
    const hl = highlight ? `&hl=${highlight[0]}-${highlight[1]}` : "";
    return `/articles/${path}?p=${paragraph}${hl}&kb=${encodeURIComponent(kb)}#p-${paragraph}`;
  }

  // The passage, cut to a window around its highlight when long; a button shows it whole.
  function passage(citation) {
    const chars = Array.from(citation.text);
    const hl = citation.highlight;
    const quote = el("blockquote", { class: "passage" });
    const full = () => (hl ? withMark(citation.text, hl[0], hl[1]) : [citation.text]);
    if (chars.length <= EXCERPT + 40) {
      quote.append(...full());
      return [quote];
    }
    const from = hl ? Math.max(0, Math.min(hl[0] - 50, chars.length - EXCERPT)) : 0;
    const to = Math.min(chars.length, from + EXCERPT);
    const short = () => {
      const piece = chars.slice(from, to).join("");
      const inner = hl && hl[0] >= from && hl[1] <= to ? withMark(piece, hl[0] - from, hl[1] - from) : [piece];
      return [from > 0 ? "…" : "", ...inner, to < chars.length ? "…" : ""];
    };
    quote.append(...short());
    const toggle = el("button", { type: "button", class: "quiet toggle", "aria-expanded": "false" }, "展开全文");
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      quote.replaceChildren(...(open ? full() : short()));
      toggle.setAttribute("aria-expanded", String(open));
      toggle.textContent = open ? "收起" : "展开全文";
    });
    return [quote, toggle];
  }

  function citationList(citations) {
    const list = el("ol", { class: "citations", "aria-label": "出处 Sources" });
    for (const c of citations) {
      const meta = [c.date, c.source, `第 ${c.paragraph} 段`].filter(Boolean).join(" · ");
      list.append(el("li", { class: "cite" },
        el("p", { class: "cite-title" },
          el("span", { class: "rank" }, `[${c.rank}]`), " ",
          el("a", { href: articleHref(c.doc_id, c.paragraph, c.highlight) }, c.title || c.doc_id)),
        el("p", { class: "cite-meta" }, meta,
          ...(c.ocr ? [" ", el("span", { class: "ocr-label", title: "这段文字由 OCR 从扫描页或图片识别，可能有错字 (OCR text)" }, "识别文本")] : [])),
        ...passage(c)));
    }
    return list;
  }

  function conflictBlock(data) {
    const byPlace = new Map(data.citations.map((c) => [`${c.doc_id}#${c.paragraph}`, c.highlight]));
    const grid = el("ul", { class: "values", "aria-label": "不同来源的数值，从新到旧" });
    // One card per value; the articles giving it listed under it, newest first (entries arrive newest first).
    const byValue = new Map();
    data.conflict.forEach((item) => {
      if (!byValue.has(item.value)) byValue.set(item.value, []);
      byValue.get(item.value).push(item);
    });
    [...byValue.entries()].forEach(([value, items], i) => {
      const sources = items.map((item) => {
        const href = articleHref(item.doc_id, item.paragraph, byPlace.get(`${item.doc_id}#${item.paragraph}`));
        return el("li", {},
          el("p", { class: "value-date" }, el("time", {}, item.date)),
          el("p", { class: "value-source" }, el("a", { href }, item.title), ` 第 ${item.paragraph} 段`));
      });
      grid.append(el("li", { class: i === 0 ? "value newest" : "value" },
        el("p", { class: "value-text" }, el("mark", {}, value), i === 0 ? el("span", { class: "badge" }, "最新") : null),
        el("ul", { class: "value-sources" }, ...sources)));
    });
    return [
      el("p", { class: "verdict" }, "各来源说法不一：不同文章给出了不同的数值，按日期从新到旧列出。",
        english(" Sources differ; newest first.")),
      grid,
    ];
  }

  // Asked of no period: the figure as each dated document states it, newest first, each row cited.
  function timelineBlock(data) {
    const byPlace = new Map(data.citations.map((c) => [`${c.doc_id}#${c.paragraph}`, c.highlight]));
    const kinds = { target: "目标", outcome: "实际" };
    const rows = data.timeline.map((item) => el("tr", {},
      el("td", {}, item.period),
      el("td", {}, el("mark", {}, item.value)),
      el("td", {}, kinds[item.kind] || "—"),
      el("td", {}, el("a", { href: articleHref(item.doc_id, item.paragraph, byPlace.get(`${item.doc_id}#${item.paragraph}`)) },
        item.rank ? `[${item.rank}] ` : "", item.title), ` ${item.date}`)));
    return [
      el("p", { class: "verdict" }, "各文档所载数值，按日期从新到旧：", english(" Values by document, newest first.")),
      el("table", { class: "timeline" },
        el("thead", {}, el("tr", {}, el("th", {}, "时期"), el("th", {}, "数值"), el("th", {}, "类型"), el("th", {}, "出处"))),
        el("tbody", {}, ...rows)),
    ];
  }

  function renderAnswer(box, data) {
    box.className = `answer status-${data.status}`;
    const parts = [];
    if (data.rewritten) parts.push(el("p", { class: "note" }, "理解为：", data.rewritten));
    if (data.status === "not_found") {
      parts.push(
        el("p", { class: "verdict" }, "语料中没有找到答案", english(" No answer in the corpus")),
        el("p", { class: "explain" },
          "检索到的文章里没有能回答这个问题的内容，所以不作猜测。可以换个说法，或询问文章中报道过的事实。"));
      if (data.citations.length) {
        parts.push(el("details", { class: "nearest" },
          el("summary", {}, "最接近的段落（不含答案）"), citationList(data.citations)));
      }
    } else {
      if (data.status === "conflict" && data.conflict.length) parts.push(...conflictBlock(data));
      else if (data.timeline && data.timeline.length) parts.push(...timelineBlock(data));
      else parts.push(el("p", { class: "answer-text" }, ...markValue(data.answer || "", data.value)));
      if (data.citations.length) parts.push(el("h3", { class: "sources" }, "出处 ", english("Sources")), citationList(data.citations));
    }
    parts.push(el("p", { class: "took" }, `${Math.round(data.took_ms)} ms`));
    box.replaceChildren(...parts);
    if (data.written) showWritten(box, data.written);
  }

  // The writer's answer above the extracted one: live while it streams, then checked (or withdrawn, saying why).
  function writtenBlock(box) {
    let block = box.querySelector(".written");
    if (!block) {
      block = el("div", { class: "written streaming" },
        el("p", { class: "written-label" }, "写作模型根据出处撰写", english(" Written from the sources")),
        el("p", { class: "written-text" }));
      box.prepend(block);
    }
    return block;
  }

  function showWritten(box, written) {
    if (written.written) {
      const block = writtenBlock(box);
      block.classList.remove("streaming");
      block.querySelector(".written-text").textContent = written.text;
    } else {
      const old = box.querySelector(".written");
      if (old) old.remove();
      if (written.note) box.prepend(el("p", { class: "note writer-note" }, "摘录答案（写作模型未采用）：", written.note));
    }
  }

  // Server-Sent Events from /ask/stream: "answer" (the /ask body), "delta" (text), "written" (the checked result).
  async function readEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const raw = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const name = (raw.match(/^event: (.*)$/m) || [])[1] || "message";
        const data = raw.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
        if (data) onEvent(name, JSON.parse(data));
      }
      if (done) return;
    }
  }

  function renderError(box, status, message) {
    box.className = "answer status-error";
    box.replaceChildren(el("p", { class: "verdict", role: "alert" },
      "出错了", status ? ` (HTTP ${status})` : "", "：", message));
  }

  function addTurn(question) {
    const box = el("div", { class: "answer" });
    const turn = el("article", { class: "turn" },
      el("div", { class: "question" }, el("span", { class: "visually-hidden" }, "问："), el("p", {}, question)),
      box);
    conversation.append(turn);
    newChat.hidden = false;
    return { turn, box };
  }

  function save() {
    try {
      sessionStorage.setItem(CHAT_STORE, JSON.stringify(turns.slice(-TURNS_KEPT)));
    } catch (err) { /* storage full or disabled: the chat still works, it is just not kept */ }
  }

  async function ask(question) {
    if (busy) return;
    busy = true;
    sendButton.disabled = true;
    conversation.setAttribute("aria-busy", "true");
    const { turn, box } = addTurn(question);
    box.append(el("p", { class: "loading", role: "status" }, "正在检索", el("span", { class: "dots" }), english(" Searching")));
    box.scrollIntoView({ block: "nearest" });
    const history = turns.slice(-HISTORY_SENT).map((t) => ({ question: t.question, answer: t.response.answer }));
    const headers = { "Content-Type": "application/json" };
    const key = localStorage.getItem(KEY_STORE);
    if (key) headers["X-API-Key"] = key;
    try {
      const response = await fetch(writerOn ? "/ask/stream" : "/ask",
        { method: "POST", headers, body: JSON.stringify({ question, history, kb }) });
      if (writerOn && response.ok) {
        let entry = null;
        await readEvents(response, (name, data) => {
          if (name === "answer") {
            entry = { question, response: data };
            turns.push(entry);
            renderAnswer(box, data);
            turn.scrollIntoView({ block: "start" });
          } else if (name === "delta" && entry) {
            writtenBlock(box).querySelector(".written-text").append(data.text);
          } else if (name === "written" && entry) {
            entry.response.written = data;
            showWritten(box, data);
          }
        });
        if (entry) save();
        else renderError(box, response.status, "服务器返回了无法识别的内容");
        return;
      }
      const body = await response.json().catch(() => null);
      if (response.status === 401) {
        box.replaceChildren(el("p", { class: "note" }, "需要 API 密钥：在下方输入后会自动重试。", english(" API key needed.")));
        askForKey(turn, question, key ? "这个密钥无效，请重新输入。(That key was not accepted.)" : "");
      } else if (!response.ok || !body) {
        renderError(box, response.status, (body && body.message) || response.statusText || "服务器返回了无法识别的内容");
      } else {
        turns.push({ question, response: body });
        save();
        renderAnswer(box, body);
        turn.scrollIntoView({ block: "start" });
      }
    } catch (err) {
      renderError(box, 0, "无法连接服务器，请检查网络后重试。(Could not reach the server.)");
    } finally {
      busy = false;
      sendButton.disabled = false;
      conversation.setAttribute("aria-busy", "false");
    }
  }

  function askForKey(turn, question, note) {
    waitingForKey = { turn, question };
    keyNote.textContent = note;
    showKeyForm(true);
    keyInput.focus();
  }

  function showKeyForm(show) {
    keyForm.hidden = !show;
    askForm.hidden = show;
    hint.hidden = show;
  }

  keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = keyInput.value.trim();
    if (!key) return;
    localStorage.setItem(KEY_STORE, key);
    keyInput.value = "";
    showKeyForm(false);
    input.focus();
    if (waitingForKey) {
      waitingForKey.turn.remove(); // asked again below, now with the key
      ask(waitingForKey.question);
    }
    waitingForKey = null;
  });

  askForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question || busy) return;
    input.value = "";
    ask(question);
  });

  // Enter sends, Shift+Enter is a new line; Enter that confirms an IME candidate (拼音) does not send.
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      askForm.requestSubmit();
    }
  });

  for (const button of document.querySelectorAll("button.example")) {
    button.addEventListener("click", () => ask(button.textContent.trim()));
  }

  const kbSelect = $("kb-select");
  if (kbSelect) kbSelect.addEventListener("change", () => kbSelect.form.submit());

  newChat.addEventListener("click", () => {
    turns = [];
    save();
    conversation.replaceChildren();
    newChat.hidden = true;
    input.focus();
  });

  // Restore the conversation of this tab (e.g. after reading a cited article and going back).
  try {
    turns = JSON.parse(sessionStorage.getItem(CHAT_STORE) || "[]");
    for (const t of turns) renderAnswer(addTurn(t.question).box, t.response);
  } catch (err) { // unreadable or from an older page version: start afresh
    turns = [];
    conversation.replaceChildren();
    newChat.hidden = true;
  }
})();
