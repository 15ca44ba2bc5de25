// common.js: helpers shared by the bench pages (served by bench/ under
// /bench/page/, with the cross-origin isolation headers).
"use strict";

// timeRuns runs step once per warm-up, then reps times, and returns the
// times in ms (performance.now: 5 us resolution in an isolated page).
async function timeRuns(step, warmup, reps) {
  for (let i = 0; i < warmup; i++) {
    await step();
  }
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await step();
    ms.push(performance.now() - t0);
  }
  return ms;
}

function errorText(err) {
  return String((err && err.message) || err).split("\n")[0];
}
