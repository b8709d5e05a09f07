// Staff console: live queue and transcript. Every value from the server is put on the page
// with textContent, never as markup: customers' words are shown, never run.
"use strict";

(function () {
  const POLL_MS = 2000;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401) {
      window.location.assign("/console/login?next=" + encodeURIComponent(window.location.pathname));
      throw new Error("signed out");
    }
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response.json();
  }

  function poll(url, render, status) {
    let timer = null;
    async function tick() {
      try {
        render(await getJSON(url));
        if (status) {
          status.textContent = "updated " + new Date().toLocaleTimeString();
          status.classList.remove("stale");
        }
      } catch (err) {
        if (status) {
          status.textContent = "not updating (" + err.message + "), retrying";
          status.classList.add("stale");
        }
      }
      timer = window.setTimeout(tick, POLL_MS);
    }
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && timer !== null) { window.clearTimeout(timer); tick(); }
    });
    timer = window.setTimeout(tick, POLL_MS);
  }

  // ---------------------------------------------------------------- the queue
  function queueRow(t) {
    const tr = el("tr", "reason-" + String(t.reason).replace(/[^a-z_]/g, ""));
    tr.dataset.ticket = String(t.id);
    const link = el("a", null, "#" + t.id);
    link.href = "/console/tickets/" + encodeURIComponent(t.id);
    const first = el("td");
    first.appendChild(link);
    tr.appendChild(first);
    tr.appendChild(el("td", null, t.customer));
    tr.appendChild(el("td", null, t.channel));
    tr.appendChild(el("td", "sender", t.sender_id));
    tr.appendChild(el("td", null, t.reason_label));
    tr.appendChild(el("td", "summary", t.summary));
    const waiting = el("td", null, t.waiting);
    waiting.title = "since " + t.created_at;
    tr.appendChild(waiting);
    tr.appendChild(el("td", null, t.assigned_to || ""));
    return tr;
  }

  const queueTable = document.querySelector("table[data-queue]");
  if (queueTable) {
    const body = document.getElementById("queue-rows");
    const empty = document.getElementById("queue-empty");
    const count = document.getElementById("queue-count");
    poll(queueTable.dataset.queue, function (data) {
      const rows = (data.tickets || []).map(queueRow);
      body.replaceChildren.apply(body, rows);
      empty.hidden = rows.length > 0;
      count.textContent = String(rows.length);
    }, document.getElementById("live-status"));
  }

  // ---------------------------------------------------------------- a transcript
  function message(m) {
    const li = el("li", "msg " + String(m.kind).replace(/[^a-z]/g, ""));
    li.appendChild(el("span", "who", m.who));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", "time", m.time || ""));
    li.appendChild(el("p", "text", m.text));
    if (m.buttons && m.buttons.length) {
      const ul = el("ul", "buttons");
      m.buttons.forEach(function (b) { ul.appendChild(el("li", null, b)); });
      li.appendChild(ul);
    }
    return li;
  }

  const list = document.querySelector("ol[data-transcript]");
  if (list) {
    const state = document.getElementById("bot-state");
    const channel = document.getElementById("channel");
    let shown = list.children.length;
    list.lastElementChild && list.lastElementChild.scrollIntoView({ block: "nearest" });
    poll(list.dataset.transcript, function (data) {
      const items = (data.messages || []).map(message);
      list.replaceChildren.apply(list, items);
      if (items.length > shown) items[items.length - 1].scrollIntoView({ block: "nearest" });
      shown = items.length;
      if (channel && data.channel) channel.textContent = data.channel;
      if (state) {
        const paused = Boolean(data.paused);
        if (paused !== state.classList.contains("paused")) {
          state.textContent = paused ? "Assistant paused (reload to reply)." : "The assistant is answering this conversation (reload for the actions).";
          state.className = "state " + (paused ? "paused" : "active");
        }
      }
    }, null);
  }
})();
