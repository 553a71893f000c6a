// threadlock's live status page. No libraries: the coordinator serves this file itself.
// The event stream is read with fetch() rather than EventSource because EventSource cannot send
// an Authorization header, and a credential must never travel in a URL (logs, history).
"use strict";

const TOKEN_KEY = "threadlock-status-token"; // sessionStorage: gone when the tab closes
const RETRY_MS = [500, 1000, 2000, 5000];
const $ = (id) => document.getElementById(id);

const view = {
  locks: new Map(), // key -> {key, lock, history}
  offset: 0, // server clock minus this browser's, in seconds
  abort: null,
  retries: 0,
};

function serverNow() {
  return Date.now() / 1000 + view.offset;
}

function duration(seconds) {
  if (!Number.isFinite(seconds)) return "–";
  const s = Math.max(0, seconds);
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${Math.floor(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} m`;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

// A bar chart of recent values (seconds), newest right, scaled to the largest shown.
function chart(values, kind) {
  const NS = "http://www.w3.org/2000/svg";
  const width = 120, height = 28, bars = 30;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("class", `chart ${kind}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("data-count", values.length);
  const base = document.createElementNS(NS, "line");
  for (const [k, v] of [["x1", 0], ["x2", width], ["y1", height - 0.5], ["y2", height - 0.5]]) {
    base.setAttribute(k, v);
  }
  svg.append(base);
  const shown = values.slice(-bars);
  const max = Math.max(...shown, 0.001);
  const step = width / bars;
  shown.forEach((value, i) => {
    const rect = document.createElementNS(NS, "rect");
    const h = Math.max(1, (value / max) * (height - 2));
    rect.setAttribute("class", kind);
    rect.setAttribute("x", (i * step + 0.5).toFixed(2));
    rect.setAttribute("y", (height - h).toFixed(2));
    rect.setAttribute("width", Math.max(1, step - 1).toFixed(2));
    rect.setAttribute("height", h.toFixed(2));
    const title = document.createElementNS(NS, "title");
    title.textContent = duration(value);
    rect.append(title);
    svg.append(rect);
  });
  const last = shown.length ? duration(shown[shown.length - 1]) : "no data";
  const label = el("div", { class: "chart-label" },
    shown.length ? `last ${last}, max ${duration(Math.max(...shown))}` : last);
  const cell = el("div");
  cell.append(svg, label);
  return cell;
}

function row(entry) {
  const { key, lock, history } = entry;
  const tr = el("tr", { "data-key": key });
  const waiters = el("ol", { class: "waiters" });
  for (const w of lock.waiters) {
    waiters.append(el("li", { "data-owner": w.owner, "data-position": w.position },
      w.owner, el("small", { class: "waited", "data-since": w.queued_at })));
  }
  tr.append(
    el("td", { class: "key" }, key),
    el("td", { class: "holder", "data-owner": lock.owner },
      lock.owner, el("small", {}, `fencing token ${lock.fencing_token}`)),
    el("td", { class: "held-for", "data-since": lock.acquired_at }),
    el("td", { class: "time-left", "data-until": lock.expires_at }),
    el("td", { class: "queue" }, waiters),
    el("td", { class: "waits" }, chart(history.waits, "wait")),
    el("td", { class: "holds" }, chart(history.holds, "hold")),
  );
  return tr;
}

function render() {
  const body = document.querySelector("#locks tbody");
  const keys = [...view.locks.keys()].sort();
  body.replaceChildren(...keys.map((k) => row(view.locks.get(k))));
  let waiting = 0;
  for (const entry of view.locks.values()) waiting += entry.lock.waiters.length;
  $("held-count").textContent = String(view.locks.size);
  $("waiter-count").textContent = String(waiting);
  $("empty").hidden = view.locks.size > 0;
  tick();
}

// Held-for, time-left and waited-for move every tick between server events.
function tick() {
  const now = serverNow();
  for (const td of document.querySelectorAll("td.held-for")) {
    const seconds = now - Number(td.dataset.since);
    td.textContent = duration(seconds);
    td.dataset.seconds = seconds.toFixed(2);
  }
  for (const td of document.querySelectorAll("td.time-left")) {
    const until = Number(td.dataset.until);
    const left = until > 0 ? until - now : NaN;
    td.textContent = until > 0 ? duration(left) : "unknown";
    td.dataset.seconds = until > 0 ? left.toFixed(2) : "";
    td.classList.toggle("low", until > 0 && left < 5);
  }
  for (const small of document.querySelectorAll("small.waited")) {
    small.textContent = `waiting ${duration(now - Number(small.dataset.since))}`;
  }
}

function setConn(state, text) {
  const conn = $("conn");
  conn.dataset.state = state;
  conn.textContent = text;
}

function onEvent(name, data) {
  view.offset = data.now - Date.now() / 1000;
  if (name === "snapshot") {
    view.locks = new Map(data.locks.filter((e) => e.lock).map((e) => [e.key, e]));
    $("problem").hidden = !data.error;
    $("problem").textContent = data.error ? `The coordinator cannot read the locks: ${data.error}` : "";
  } else if (name === "lock") {
    if (data.lock) view.locks.set(data.key, data);
    else view.locks.delete(data.key);
  }
  render();
}

// Minimal SSE parsing (https://html.spec.whatwg.org/#event-stream-interpretation): events
// end with a blank line; lines are `event: x` / `data: y`; lines starting with ':' are comments.
function* parseEvents(buffer) {
  let start = 0;
  for (;;) {
    const end = buffer.text.indexOf("\n\n", start);
    if (end < 0) break;
    let name = "message";
    const data = [];
    for (const line of buffer.text.slice(start, end).split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    start = end + 2;
    if (data.length) yield [name, JSON.parse(data.join("\n"))];
  }
  buffer.text = buffer.text.slice(start);
}

async function stream(signal) {
  const prefix = $("filter").value;
  const headers = { Accept: "text/event-stream" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`/status/events?prefix=${encodeURIComponent(prefix)}`,
    { headers, signal, cache: "no-store" });
  if (response.status === 401 || response.status === 403) {
    const why = await response.json().catch(() => ({}));
    $("login").hidden = false;
    $("login-why").textContent = why.message || "This coordinator needs a credential.";
    setConn("denied", "credential needed");
    return "denied";
  }
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  $("login").hidden = true;
  setConn("live", "live");
  view.retries = 0;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const buffer = { text: "" };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return "ended";
    buffer.text += value.replace(/\r\n?/g, "\n");
    for (const [name, data] of parseEvents(buffer)) onEvent(name, data);
  }
}

async function connect() {
  if (view.abort) view.abort.abort();
  const abort = new AbortController();
  view.abort = abort;
  setConn("connecting", "connecting");
  while (!abort.signal.aborted) {
    let outcome;
    try {
      outcome = await stream(abort.signal);
    } catch (err) {
      if (abort.signal.aborted) return;
      setConn("error", `disconnected: ${err.message}`);
    }
    if (outcome === "denied") return; // wait for a credential
    const delay = RETRY_MS[Math.min(view.retries++, RETRY_MS.length - 1)];
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function start() {
  const params = new URLSearchParams(location.search);
  $("filter").value = params.get("prefix") || "";
  let timer = 0;
  $("filter").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const url = new URL(location.href);
      if ($("filter").value) url.searchParams.set("prefix", $("filter").value);
      else url.searchParams.delete("prefix");
      history.replaceState(null, "", url);
      connect();
    }, 200);
  });
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    connect();
  });
  setInterval(tick, 250);
  connect();
}

start();
