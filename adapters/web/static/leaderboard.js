// Live leaderboard by polling: /api/leaderboard every few seconds (served from the 10-second report cache);
// when the ratings change, the server-rendered board and the chart are fetched again. Nothing from the server is
// inserted as markup except that board, which the server has escaped.
"use strict";
const POLL_MS = 3000;
const board = document.getElementById("board");
const chart = document.getElementById("chart");
const liveState = document.getElementById("live-state");
let last = null;

async function poll() {
  try {
    const response = await fetch(board.dataset.api, {cache: "no-store"});
    if (!response.ok) throw new Error(response.status);
    const data = await response.json();
    const key = JSON.stringify([data.battles, data.standings, data.filters]);
    if (last !== null && key !== last) {
      const partial = await fetch(board.dataset.partial, {cache: "no-store"});
      if (partial.ok) board.innerHTML = await partial.text();
      const src = new URL(chart.src);
      src.searchParams.set("v", String(data.battles));
      chart.src = src.toString();
    }
    last = key;
    liveState.textContent = "Checked " + new Date().toLocaleTimeString() + ".";
  } catch (error) {
    liveState.textContent = "Could not reach the server; retrying.";
  }
}
poll();
setInterval(poll, POLL_MS);
