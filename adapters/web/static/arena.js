// The blind arena: POST the prompt, read the server-sent events from the response body as they arrive (fetch,
// since EventSource cannot POST), show both replies growing, then the vote buttons and the reveal.
// Replies are set as text while they stream; the finished ones arrive as HTML the server escaped first.
"use strict";
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const form = document.getElementById("compare-form");
const button = document.getElementById("compare");
const status = document.getElementById("status");
const sides = document.getElementById("sides");
const buttons = document.getElementById("vote-buttons");
const reveal = document.getElementById("reveal");
let comparisonId = null;

function post(url, body) {
  return fetch(url, {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
                     body: JSON.stringify(body), credentials: "same-origin"});
}

function showComparison(c) {
  comparisonId = c.id;
  sides.hidden = false;
  for (const side of ["a", "b"]) {
    const reply = c[side];
    document.getElementById("label-" + side).textContent = reply.label;
    const box = document.getElementById("reply-" + side);
    if (reply.html !== null) box.innerHTML = reply.html;
    else box.textContent = reply.text;
    if (reply.error) {
      const note = document.createElement("p");
      note.className = "refused";
      note.textContent = "⚠ " + reply.error;
      box.appendChild(note);
    }
  }
  if (c.status === "done") {
    status.textContent = "Which reply is better?";
    buttons.hidden = false;
  } else if (c.status !== "running") {
    status.textContent = "Both models failed on this prompt.";
  }
}

function handle(name, data) {
  if (name === "started") status.textContent = "The models are answering…";
  else if (name === "comparison") showComparison(data.comparison);
  else if (name === "refused") status.textContent = data.message;
}

async function compare(prompt) {
  button.disabled = true;
  buttons.hidden = true;
  reveal.hidden = true;
  status.textContent = "Sending…";
  try {
    const response = await post("/arena/compare", {prompt});
    if (!response.headers.get("Content-Type").startsWith("text/event-stream")) {
      const body = await response.json().catch(() => ({}));
      status.textContent = body.refused || "The server refused the prompt.";
      return;
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const name = (frame.match(/^event: (.*)$/m) || [])[1];
        const data = (frame.match(/^data: (.*)$/m) || [])[1];
        if (name && data) handle(name, JSON.parse(data));
      }
    }
  } catch (error) {
    status.textContent = "The connection was lost; please try again.";
  } finally {
    button.disabled = false;
  }
}

async function vote(choice) {
  const response = await post("/arena/vote", {comparison_id: comparisonId, choice});
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    status.textContent = body.refused || "The vote was not recorded; please try again.";
    return;
  }
  const r = body.reveal;
  reveal.replaceChildren();
  const heading = document.createElement("h2");
  heading.textContent = "Your vote: " + r.label + (r.changed_from ? " (changed from " + r.changed_from + ")" : "");
  reveal.appendChild(heading);
  const list = document.createElement("ul");
  for (const side of ["a", "b"]) {
    const item = document.createElement("li");
    item.textContent = side.toUpperCase() + " was " + r.sides[side].model + " (" + r.sides[side].role + ")";
    list.appendChild(item);
  }
  reveal.appendChild(list);
  const counts = document.createElement("p");
  counts.textContent = r.counts.total + " vote(s) so far: A " + r.counts.a + ", B " + r.counts.b + ", tie " + r.counts.tie + ", both bad " + r.counts.both_bad + ".";
  reveal.appendChild(counts);
  reveal.hidden = false;
  status.textContent = "Thanks! Ask another prompt, or change your vote.";
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  compare(document.getElementById("prompt").value);
});
for (const b of buttons.querySelectorAll("button")) b.addEventListener("click", () => vote(b.dataset.choice));
