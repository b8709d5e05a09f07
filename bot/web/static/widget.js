/*
 * Stockout chat widget: the shop's assistant on any page, over Rasa's socket.io channel.
 *
 *   <div id="stockout-chat"></div>
 *   <script src="https://SHOP-SERVER/static/widget.js" data-server="https://RASA-SERVER" defer></script>
 *
 * Optional attributes: data-container (the container's id, default "stockout-chat"),
 * data-title (default "Shop assistant"), data-socket-path (default "/socket.io").
 *
 * - One conversation per browser: its session id and the transcript are kept in
 *   localStorage, so a reload (or another tab) continues it. On every (re)connection the
 *   widget asks Rasa for that session (session_request -> session_confirm) and fetches the
 *   bot messages it missed meanwhile (back-in-stock alerts, staff replies) from
 *   SHOP-SERVER/widget/history.
 * - Text, buttons (their payload is sent, their title shown as the shopper's message),
 *   product cards (picture, title, price, stock badge; a missing picture leaves a placeholder),
 *   images; a typing indicator while the assistant answers.
 * - A dropped connection is retried by socket.io; meanwhile the header says
 *   "Reconnecting…" and what the shopper types waits and is sent once back.
 * - Nothing received is ever parsed as HTML: every text goes in with textContent.
 * - Elements with data-chat-ask="question" on the page open the chat and ask it.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.StockoutChat) return;

  var home = new URL(script.src, location.href).origin; // where the widget's files and history live
  var server = script.getAttribute("data-server") || home; // Rasa (socket.io)
  var socketPath = script.getAttribute("data-socket-path") || "/socket.io";
  var containerId = script.getAttribute("data-container") || "stockout-chat";
  var title = script.getAttribute("data-title") || "Shop assistant";
  var STORE_KEY = "stockout-chat:" + server;
  var MAX_ITEMS = 300;
  var MAX_LENGTH = 1000;
  var TYPING_TIMEOUT = 30000;

  // ------------------------------------------------------------------ state kept across reloads
  var memory = {};
  function readStore() {
    try {
      var raw = window.localStorage.getItem(STORE_KEY);
      return raw ? JSON.parse(raw) : {};
    } catch (e) {
      return memory;
    }
  }
  var state = readStore();
  if (!state || typeof state !== "object") state = {};
  state.items = Array.isArray(state.items) ? state.items : [];
  state.queue = Array.isArray(state.queue) ? state.queue : [];
  state.seen = Array.isArray(state.seen) ? state.seen : []; // outbox ids shown (a re-sent alert shows once)
  state.lastTs = typeof state.lastTs === "number" ? state.lastTs : 0; // newest bot message time (Rasa's clock)
  state.syncedTs = typeof state.syncedTs === "number" ? state.syncedTs : 0; // newest one taken from history

  function save() {
    if (state.items.length > MAX_ITEMS) state.items = state.items.slice(-MAX_ITEMS);
    if (state.seen.length > 200) state.seen = state.seen.slice(-200);
    try {
      window.localStorage.setItem(STORE_KEY, JSON.stringify(state));
    } catch (e) {
      memory = state;
    }
  }

  // ------------------------------------------------------------------ DOM
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function css() {
    if (document.querySelector("link[data-stockout-chat]")) return;
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = home + "/static/widget.css";
    link.setAttribute("data-stockout-chat", "");
    document.head.appendChild(link);
  }

  var root = document.getElementById(containerId);
  if (!root) {
    root = el("div");
    root.id = containerId;
    document.body.appendChild(root);
  }
  root.classList.add("sc-root");
  css();

  var launcher = el("button", "sc-launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-controls", containerId + "-panel");
  launcher.setAttribute("aria-expanded", "false");
  launcher.appendChild(el("span", "sc-launcher-dot")).setAttribute("aria-hidden", "true");
  launcher.appendChild(el("span", "", "Chat with us"));
  var unreadBadge = launcher.appendChild(el("span", "sc-launcher-badge sc-hidden"));
  unreadBadge.setAttribute("aria-label", "unread messages");

  var panel = el("section", "sc-panel sc-hidden");
  panel.id = containerId + "-panel";
  panel.setAttribute("role", "region");
  panel.setAttribute("aria-labelledby", containerId + "-title");

  var header = panel.appendChild(el("div", "sc-header"));
  var heading = header.appendChild(el("h2", "sc-title", title));
  heading.id = containerId + "-title";
  var status = header.appendChild(el("span", "sc-status"));
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  var closeButton = header.appendChild(el("button", "sc-close", "\u00d7"));
  closeButton.type = "button";
  closeButton.setAttribute("aria-label", "Close chat");

  var log = panel.appendChild(el("div", "sc-log"));
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "Conversation with the " + title.toLowerCase());
  log.tabIndex = 0;
  var empty = log.appendChild(el("p", "sc-empty", "Hi! Ask me whether something is in stock, when it will be back, or about an order."));

  var typing = panel.appendChild(el("div", "sc-typing sc-hidden"));
  typing.setAttribute("role", "status");
  typing.setAttribute("aria-label", "The assistant is typing");
  typing.appendChild(el("span"));
  typing.appendChild(el("span"));
  typing.appendChild(el("span"));

  var form = panel.appendChild(el("form", "sc-form"));
  form.setAttribute("aria-label", "Send a message");
  var inputLabel = form.appendChild(el("label", "sc-vh", "Your message"));
  var input = form.appendChild(el("input", "sc-input"));
  input.type = "text";
  input.id = containerId + "-input";
  input.autocomplete = "off";
  input.maxLength = MAX_LENGTH;
  input.placeholder = "Ask about a product…";
  inputLabel.htmlFor = input.id;
  var sendButton = form.appendChild(el("button", "sc-send", "Send"));
  sendButton.type = "submit";
  sendButton.setAttribute("aria-label", "Send message");

  root.appendChild(launcher);
  root.appendChild(panel);

  // ------------------------------------------------------------------ rendering
  function safeUrl(value, base) {
    if (typeof value !== "string" || !value) return null;
    try {
      var url = new URL(value, base || home);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function price(amount, currency) {
    var n = Number(amount);
    if (amount === "" || amount === null || amount === undefined || isNaN(n)) return "";
    try {
      return new Intl.NumberFormat(document.documentElement.lang || undefined, {
        style: "currency", currency: String(currency || "USD")
      }).format(n);
    } catch (e) {
      return n.toFixed(2) + " " + String(currency || "");
    }
  }

  function badgeState(text) {
    var t = String(text || "").toLowerCase();
    if (t.indexOf("out of stock") === 0 || t.indexOf("out") === 0) return "out";
    if (t.indexOf("only") === 0 || t.indexOf("low") === 0) return "low";
    return "in";
  }

  function renderCard(c) {
    var card = el("article", "sc-card");
    var name = String(c.title || c.sku || "Product");
    card.setAttribute("aria-label", "Product: " + name);
    var media = card.appendChild(el("div", "sc-card-media"));
    var placeholder = media.appendChild(el("span", "sc-card-placeholder", "No picture"));
    placeholder.setAttribute("aria-hidden", "true");
    var src = safeUrl(c.image_url);
    if (src) {
      var img = el("img");
      img.alt = name;
      img.loading = "lazy";
      img.addEventListener("error", function () {
        media.classList.add("sc-noimg");
        img.remove();
      });
      img.src = src;
      media.appendChild(img);
    } else {
      media.classList.add("sc-noimg");
    }
    var body = card.appendChild(el("div", "sc-card-body"));
    var link = safeUrl(c.url);
    var heading = body.appendChild(el(link ? "a" : "span", "sc-card-title", name));
    if (link) heading.href = link;
    if (c.brand) body.appendChild(el("span", "sc-card-brand", c.brand));
    var amount = price(c.price, c.currency);
    if (amount) body.appendChild(el("span", "sc-card-price", amount));
    if (c.stock) body.appendChild(el("span", "sc-badge sc-badge-" + badgeState(c.stock), c.stock));
    return card;
  }

  function renderImage(src) {
    var figure = el("figure", "sc-image");
    var url = safeUrl(src);
    if (!url) {
      figure.classList.add("sc-noimg");
      figure.textContent = "Picture unavailable";
      return figure;
    }
    var img = el("img");
    img.alt = "Picture from the assistant";
    img.loading = "lazy";
    img.addEventListener("error", function () {
      figure.classList.add("sc-noimg");
      figure.textContent = "Picture unavailable";
    });
    img.src = url;
    figure.appendChild(img);
    return figure;
  }

  var LABELS = { restock_alert: "Back in stock", delay_notice: "Delivery update", staff_reply: "Our team" };

  function renderItem(item) {
    if (item.from === "user") {
      var mine = el("div", "sc-msg sc-user");
      mine.appendChild(el("p", "", item.text));
      if (item.pending) {
        mine.classList.add("sc-pending");
        mine.appendChild(el("span", "sc-pending-note", "Waiting to send…"));
      }
      return mine;
    }
    if (item.type === "card") return renderCard(item.card || {});
    if (item.type === "image") return renderImage(item.src);
    if (item.type === "buttons") {
      var group = el("div", "sc-buttons");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Suggested replies");
      (item.buttons || []).forEach(function (b) {
        var button = group.appendChild(el("button", "sc-button", b.title || b.payload));
        button.type = "button";
        button.addEventListener("click", function () {
          send(String(b.payload || b.title || ""), String(b.title || b.payload || ""));
        });
      });
      return group;
    }
    var msg = el("div", "sc-msg sc-bot");
    if (item.kind) {
      msg.classList.add("sc-kind-" + String(item.kind).replace(/[^a-z0-9_-]/gi, ""));
      var label = item.author || LABELS[item.kind];
      if (label) msg.appendChild(el("span", "sc-label", label));
    }
    msg.appendChild(el("p", "", item.text));
    return msg;
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  var nodes = new Map(); // item -> its element (to redraw a pending message once sent)
  function append(item) {
    if (empty.parentNode) empty.remove();
    var node = renderItem(item);
    nodes.set(item, node);
    log.appendChild(node);
    scrollDown();
  }

  function add(item) {
    state.items.push(item);
    append(item);
    save();
  }

  function redraw(item) {
    var old = nodes.get(item);
    if (!old) return;
    var node = renderItem(item);
    nodes.set(item, node);
    log.replaceChild(node, old);
  }

  // ------------------------------------------------------------------ opening and closing
  var unread = 0;
  function isOpen() {
    return !panel.classList.contains("sc-hidden");
  }
  function open(focus) {
    panel.classList.remove("sc-hidden");
    launcher.setAttribute("aria-expanded", "true");
    unread = 0;
    unreadBadge.classList.add("sc-hidden");
    state.open = true;
    save();
    scrollDown();
    if (focus !== false) input.focus();
  }
  function close() {
    panel.classList.add("sc-hidden");
    launcher.setAttribute("aria-expanded", "false");
    state.open = false;
    save();
    launcher.focus();
  }
  launcher.addEventListener("click", function () { open(); });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") close();
  });

  // ------------------------------------------------------------------ typing indicator and status
  var typingTimer = null;
  function showTyping() {
    typing.classList.remove("sc-hidden");
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT);
  }
  function hideTyping() {
    clearTimeout(typingTimer);
    typing.classList.add("sc-hidden");
  }
  function setStatus(text) {
    status.textContent = text || "";
    root.setAttribute("data-state", text ? "offline" : "online");
  }

  // ------------------------------------------------------------------ talking to Rasa
  var socket = null;
  var ready = false; // connected and the session confirmed

  function send(text, shown) {
    text = String(text || "").trim().slice(0, MAX_LENGTH);
    if (!text) return;
    var item = { from: "user", text: String(shown || text).slice(0, MAX_LENGTH) };
    if (ready && socket) {
      add(item);
      socket.emit("user_uttered", { message: text, session_id: state.session });
      showTyping();
    } else {
      item.pending = true;
      item.id = "q" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
      add(item);
      state.queue.push({ message: text, id: item.id });
      save();
      setStatus(socket ? "Reconnecting… your message will be sent" : "Connecting…");
    }
  }

  function flushQueue() {
    var queued = state.queue;
    state.queue = [];
    queued.forEach(function (q) {
      var item = state.items.filter(function (i) { return i.id === q.id; })[0];
      if (item && item.pending) {
        delete item.pending;
        redraw(item);
      }
      socket.emit("user_uttered", { message: q.message, session_id: state.session });
    });
    save();
    if (queued.length) showTyping();
  }

  function itemsOf(m) {
    var base = {};
    if (m.kind) base.kind = String(m.kind);
    if (m.author) base.author = String(m.author);
    var out = [];
    function item(fields) {
      var result = { from: "bot" };
      Object.keys(base).forEach(function (k) { result[k] = base[k]; });
      Object.keys(fields).forEach(function (k) { result[k] = fields[k]; });
      return result;
    }
    if (typeof m.text === "string" && m.text.trim()) out.push(item({ type: "text", text: m.text }));
    var buttons = (Array.isArray(m.quick_replies) ? m.quick_replies : Array.isArray(m.buttons) ? m.buttons : [])
      .filter(function (b) { return b && (b.payload || b.title); })
      .map(function (b) { return { title: String(b.title || b.payload), payload: String(b.payload || b.title) }; });
    if (buttons.length) out.push({ from: "bot", type: "buttons", buttons: buttons });
    var custom = m.custom && typeof m.custom === "object" ? m.custom : null;
    if (custom && custom.type === "product") {
      out.push(item({ type: "card", card: {
        sku: custom.sku, title: custom.title, brand: custom.brand, price: custom.price, currency: custom.currency,
        image_url: custom.image_url, stock: custom.stock, url: custom.url
      } }));
    } else if (custom && typeof custom.text === "string") {
      out.push(item({ type: "text", text: custom.text }));
    }
    var attachment = m.attachment && typeof m.attachment === "object" ? m.attachment : null;
    if (attachment && attachment.type === "image" && attachment.payload) {
      out.push(item({ type: "image", src: attachment.payload.src }));
    }
    if (typeof m.image === "string") out.push(item({ type: "image", src: m.image }));
    return out;
  }

  function receive(m, fromHistory) {
    if (!m || typeof m !== "object") return;
    var ts = typeof m.timestamp === "number" ? m.timestamp : null;
    if (m.outbox_id !== undefined && m.outbox_id !== null) {
      if (state.seen.indexOf(m.outbox_id) >= 0) return;
      state.seen.push(m.outbox_id);
    }
    if (fromHistory) {
      if (ts === null) return;
      state.syncedTs = Math.max(state.syncedTs, ts); // (syncHistory passes only what is newer than shown)
    } else if (ts !== null && ts <= state.syncedTs) {
      return; // already taken from the history
    }
    if (ts !== null) state.lastTs = Math.max(state.lastTs, ts);
    hideTyping();
    itemsOf(m).forEach(add);
    if (!isOpen()) {
      unread += 1;
      unreadBadge.textContent = String(unread);
      unreadBadge.classList.remove("sc-hidden");
    }
    save();
  }

  function syncHistory() {
    if (!state.session || !window.fetch) return Promise.resolve();
    var url = home + "/widget/history?session_id=" + encodeURIComponent(state.session) +
      (state.lastTs ? "&since=" + encodeURIComponent(String(state.lastTs)) : "");
    return fetch(url, { credentials: "omit", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : { messages: [] }; })
      .then(function (body) {
        var since = state.lastTs; // as of now: what arrived live during the fetch is not added again
        (body.messages || []).forEach(function (m) {
          if (typeof m.timestamp === "number" && m.timestamp > since) receive(m, true);
        });
      })
      .catch(function () { /* history is a bonus: live messages still arrive */ });
  }

  function connect() {
    socket = window.io(server, {
      path: socketPath,
      transports: ["websocket", "polling"],
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
      timeout: 8000
    });
    socket.on("connect", function () {
      socket.emit("session_request", { session_id: state.session || null });
    });
    socket.on("session_confirm", function (data) {
      var id = typeof data === "string" ? data : data && data.session_id;
      if (!id) return;
      state.session = String(id);
      save();
      syncHistory().then(function () {
        ready = true;
        setStatus("");
        flushQueue();
      });
    });
    socket.on("bot_uttered", function (m) { receive(m, false); });
    socket.on("disconnect", function (reason) {
      ready = false;
      hideTyping();
      setStatus("Reconnecting…");
      if (reason === "io server disconnect") socket.connect(); // the server hung up: not retried by itself
    });
    socket.on("connect_error", function () {
      ready = false;
      setStatus("Reconnecting…");
    });
    // The browser knows before the heartbeat does: drop at once, and try again when back online.
    window.addEventListener("offline", function () {
      if (socket.connected) socket.io.engine.close();
    });
    window.addEventListener("online", function () {
      if (!socket.connected) socket.connect();
    });
  }

  function loadClient() {
    if (window.io) return connect();
    var tag = document.createElement("script");
    tag.src = home + "/widget/socket.io.min.js";
    tag.async = true;
    tag.onload = connect;
    tag.onerror = function () { setStatus("Chat unavailable right now"); };
    document.head.appendChild(tag);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    input.value = "";
    send(text);
    input.focus();
  });

  document.addEventListener("click", function (event) {
    var asker = event.target && event.target.closest ? event.target.closest("[data-chat-ask]") : null;
    if (!asker || root.contains(asker)) return;
    event.preventDefault();
    open();
    send(asker.getAttribute("data-chat-ask"));
  });

  // ------------------------------------------------------------------ start
  state.items.forEach(append);
  if (state.open) open(false);
  setStatus(state.queue.length ? "Connecting…" : "");
  loadClient();

  window.StockoutChat = {
    open: open,
    close: close,
    send: send,
    get socket() { return socket; },
    get sessionId() { return state.session || null; },
    get connected() { return ready; }
  };
})();
