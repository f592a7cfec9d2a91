// The page's latency chart: one stacked bar per turn, drawn from the server's `latency` events (the same marks
// the benchmark reports, computed once in core/metrics.py), so what the user sees is what `bench` measures.

// [label, from mark, to mark, colour]; a voice turn starts at the end of speech, a typed one at the request.
const VOICE = [
  ["endpoint + transcript", "speech_end", "final", "#94a3b8"],
  ["model: first token", "final", "llm_first_token", "#f59e0b"],
  ["first phrase + voice", "llm_first_token", "first_audio", "#10b981"],
  ["to the speaker", "first_audio", "first_played", "#2563eb"],
];
const TYPED = [
  ["model: first token", "turn_start", "llm_first_token", "#f59e0b"],
  ["first phrase + voice", "llm_first_token", "first_audio", "#10b981"],
  ["to the speaker", "first_audio", "first_played", "#2563eb"],
];
const KEEP = 8;

function segments(marks) {
  const plan = marks.speech_end !== undefined ? VOICE : TYPED;
  const start = marks[plan[0][1]];
  const end = marks.first_played;
  if (start === undefined || end === undefined) return null;
  // Preemptive replies ask the model before the final transcript: each segment runs from the later of its own
  // start and the previous segment's end, so the bar always adds up to the whole wait.
  let at = start;
  const out = [];
  for (const [label, , to, colour] of plan) {
    const t = marks[to];
    if (t === undefined) continue;
    const next = Math.max(at, t);
    out.push({ label, colour, s: next - at });
    at = next;
  }
  return { total: end - start, kind: plan === VOICE ? "voice" : "typed", parts: out };
}

export function renderLatency(box, events) {
  const rows = events.map((ev) => ({ ev, seg: segments(ev.marks || {}) })).filter((r) => r.seg).slice(-KEEP);
  box.textContent = "";
  if (!rows.length) {
    box.innerHTML = '<div class="va-lat-empty">Each reply\'s wait shows here: from the end of your speech (or your message) to the first sound.</div>';
    return;
  }
  const scale = Math.max(1.5, ...rows.map((r) => r.seg.total));
  for (const { seg } of rows) {
    const row = document.createElement("div");
    row.className = "va-lat-row";
    const label = document.createElement("span");
    label.className = "va-lat-label";
    label.textContent = `${seg.kind} ${Math.round(seg.total * 1000)} ms`;
    const bar = document.createElement("span");
    bar.className = "va-lat-bar";
    for (const p of seg.parts) {
      const part = document.createElement("span");
      part.style.width = `${(100 * p.s) / scale}%`;
      part.style.background = p.colour;
      part.title = `${p.label}: ${Math.round(p.s * 1000)} ms`;
      bar.appendChild(part);
    }
    row.append(label, bar);
    box.appendChild(row);
  }
  const legend = document.createElement("div");
  legend.className = "va-lat-legend";
  for (const [label, , , colour] of VOICE) {
    const item = document.createElement("span");
    item.innerHTML = `<i style="background:${colour}"></i>${label}`;
    legend.appendChild(item);
  }
  box.appendChild(legend);
}
