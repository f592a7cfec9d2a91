"""The benchmark's arithmetic and its three outputs: results.json, results.md and latency.png.

Kept apart from the runner so the statistics (percentiles, ratios, word error rate, targets) can be tested
in milliseconds, and so the report is rendered from the JSON alone: the table says exactly what was saved.
"""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from base.marks import percentile

# (key, label): per-turn stages, in pipeline order. All but the overhead are base.marks intervals.
STAGES: list[tuple[str, str]] = [
    ("onset_to_first_partial", "speech onset → first partial"),
    ("eos_to_final", "end of speech → final transcript"),
    ("eos_to_first_token", "end of speech → first LLM token"),
    ("eos_to_first_audio", "end of speech → first synthesized audio"),
    ("voice_to_voice", "voice-to-voice (end of speech → first audible sample)"),
    ("request_to_first_phrase", "LLM request → first phrase (the LLM's own time)"),
    ("pipeline_overhead", "pipeline overhead (voice-to-voice − end of turn − LLM time)"),
]
# Where voice-to-voice goes, step by step (their p50s add up to about the voice-to-voice p50).
BREAKDOWN: list[tuple[str, str]] = [
    ("eos_to_decision", "end of turn judged (the pause decode, then the audio model if the words leave it open)"),
    ("eos_to_request", "end of speech → LLM request (the reply starts once the words let the turn end)"),
    ("decision_to_request", "decision → LLM request (negative: the reply started before the audio's verdict)"),
    ("final_lag", "final transcript after the endpoint (decoding the silence did not hide)"),
    ("final_to_request", "final transcript → LLM request"),
    ("request_to_first_token", "LLM request → first token"),
    ("first_token_to_first_phrase", "first token → first phrase"),
    ("first_phrase_to_audio", "first phrase → its audio (text to speech)"),
    ("audio_to_first_played", "its audio → first audible sample (classic: the rest of the reply's speech)"),
]
# The same in both modes, so every utterance counts (reply stages count replies played to the end).
LISTENING_STAGES = {"onset_to_first_partial", "eos_to_final", "final_lag", "eos_to_decision", "eos_to_request"}
MODES = ("streaming", "classic")

# (name, label, summary path, limit, "max" = value must be <= limit / "lt" = value must be < limit)
TARGETS: list[tuple[str, str, tuple[str, ...], float, str]] = [
    ("voice_to_voice_p50", "voice-to-voice p50 ≤ 0.7 s", ("summary", "streaming", "voice_to_voice", "p50"),
     0.7, "max"),
    ("voice_to_voice_p95", "voice-to-voice p95 ≤ 1.0 s", ("summary", "streaming", "voice_to_voice", "p95"),
     1.0, "max"),
    ("pipeline_overhead_p50", "pipeline overhead p50 ≤ 250 ms",
     ("summary", "streaming", "pipeline_overhead", "p50"), 0.25, "max"),
    ("first_partial_p50", "first partial ≤ 0.6 s after speech onset",
     ("summary", "streaming", "onset_to_first_partial", "p50"), 0.6, "max"),
    ("streaming_over_classic", "streaming / classic voice-to-voice ≤ 0.35",
     ("ratio_streaming_over_classic",), 0.35, "max"),
    ("idle_cpu", "CPU while listening to silence < 5 % of a core", ("idle", "cpu_percent_of_one_core"),
     5.0, "lt"),
    ("rss", "peak resident memory < 1.2 GB", ("memory", "rss_peak_mb"), 1200.0, "lt"),
]


def summarize(values: list[float]) -> dict[str, float | int | None]:
    """n, p50, p95, mean of a list of seconds (None when there is nothing to summarize)."""
    vals = [float(v) for v in values]
    return {"n": len(vals), "p50": percentile(vals, 50), "p95": percentile(vals, 95),
            "mean": round(sum(vals) / len(vals), 3) if vals else None}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator rounded to 3 places; None if either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return round(numerator / denominator, 3)


def _words(text: str) -> list[str]:
    """Lower-case words without punctuation, so "Ask not!" and "ask not" compare equal."""
    return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Substitutions + deletions + insertions between two word lists (Levenshtein)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference word count), punctuation and case ignored."""
    ref = _words(reference)
    return edit_distance(ref, _words(hypothesis)), len(ref)


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of one transcript (0.0 = perfect; can exceed 1.0 with many insertions)."""
    errors, n = word_errors(reference, hypothesis)
    return round(errors / n, 3) if n else float(bool(_words(hypothesis)))


def machine_info() -> dict[str, Any]:
    """Cores, CPU model, RAM and Python: figures mean little without the machine they came from."""
    cpu = platform.processor() or platform.machine()
    ram_gb: float | None = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "ram_gb": ram_gb, "python": platform.python_version(),
            "os": f"{platform.system()} {platform.release()}"}


def _get(results: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = results
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured value and met / not met (None when it could not be measured)."""
    out = []
    for name, label, path, limit, how in TARGETS:
        value = _get(results, path)
        met = None if value is None else (value <= limit if how == "max" else value < limit)
        out.append({"name": name, "label": label, "value": value, "limit": limit, "met": met})
    return out


def summarize_runs(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """p50/p95 per stage and mode: listening stages over every utterance, reply stages over replies heard
    to the end (a reply cut by the user's next utterance has no comparable classic counterpart)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for mode in MODES:
        turns = [t for r in runs if r["mode"] == mode for t in r["turns"]]
        out[mode] = {}
        for key, _ in STAGES + BREAKDOWN:
            pool = turns if key in LISTENING_STAGES else [t for t in turns if not t["interrupted"]]
            out[mode][key] = summarize([t["intervals"][key] for t in pool if key in t["intervals"]])
    return out


def _ms(v: float | None) -> float | None:
    return None if v is None else round(v * 1000, 2)


def judge_cost(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]] | None:
    """What the end-of-turn models cost: each call (wall and CPU time) and each turn (all its pauses' calls,
    over the runs' utterances); None when no judge ran (`turn.detector: off`)."""
    if not any(r.get("judge_calls") for r in runs):
        return None
    out: dict[str, dict[str, Any]] = {}
    heard = [(r, len(r["turns"])) for r in runs if r["turns"]]
    for kind in ("audio", "words"):
        calls = [c for r in runs for c in r.get("judge_calls", []) if c["kind"] == kind]
        mine = [[c for c in r.get("judge_calls", []) if c["kind"] == kind] for r, _ in heard]
        out[kind] = {
            "calls": len(calls),
            "ms_p50": _ms(percentile([c["wall_s"] for c in calls], 50)),
            "ms_p95": _ms(percentile([c["wall_s"] for c in calls], 95)),
            "cpu_ms_p50": _ms(percentile([c["cpu_s"] for c in calls], 50)),
            "calls_per_turn_p50": percentile([len(m) / n for m, (_, n) in zip(mine, heard, strict=True)], 50),
            "cpu_ms_per_turn_p50": _ms(percentile([sum(c["cpu_s"] for c in m) / n
                                                   for m, (_, n) in zip(mine, heard, strict=True)], 50)),
        }
    return out


def assemble(runs: list[dict[str, Any]], clips: list[dict[str, Any]], config: dict[str, Any],
             idle: dict[str, Any], memory: dict[str, Any]) -> dict[str, Any]:
    """Everything results.json holds, targets included."""
    summary = summarize_runs(runs)
    decodes = [d for r in runs for d in r["decodes"] if d["audio_s"] > 0]
    rtf_final = [d["decode_s"] / d["audio_s"] for d in decodes if d["final"]]
    rtf_all = [d["decode_s"] / d["audio_s"] for d in decodes]
    errors = sum(r["word_errors"] for r in runs)
    ref_words = sum(r["reference_words"] for r in runs)
    results: dict[str, Any] = {
        "version": 1,
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "config": config,
        "clips": clips,
        "runs": [{k: v for k, v in r.items() if k not in ("turns", "decodes", "judge_calls")} for r in runs],
        "turns": [t for r in runs for t in r["turns"]],
        "voices_used": sorted({t["voice"] for r in runs for t in r["turns"] if t["voice"]}),
        "interrupted_turns": sum(t["interrupted"] for r in runs for t in r["turns"]),
        "summary": summary,
        "ratio_streaming_over_classic": ratio(summary["streaming"]["voice_to_voice"]["p50"],
                                              summary["classic"]["voice_to_voice"]["p50"]),
        "stt": {"decodes": len(decodes),
                "rtf_final_p50": None if not rtf_final else round(percentile(rtf_final, 50) or 0.0, 3),
                "rtf_all_p50": None if not rtf_all else round(percentile(rtf_all, 50) or 0.0, 3),
                "wer": round(errors / ref_words, 3) if ref_words else None, "reference_words": ref_words},
        "end_of_turn_cost": judge_cost(runs),
        "idle": idle,
        "memory": memory,
    }
    results["targets"] = evaluate_targets(results)
    return results


def _fmt(v: Any, unit: str = "s") -> str:
    if v is None:
        return "–"
    if unit == "ms":
        return f"{v * 1000:.0f} ms"
    return f"{v:.3f}"


def render_markdown(results: dict[str, Any]) -> str:
    """The human report: machine, set-up, per-stage p50/p95 for both modes, targets, per-turn figures."""
    m, cfg = results["machine"], results["config"]
    llm = cfg["llm"]
    llm_desc = (f"OllamaSim, first token {llm['first_token_ms']} ms, {llm['tokens_per_s']} tokens/s"
                if llm["kind"] == "sim" else f"Ollama at {llm['host']}, model {llm['model']}")
    lines = [
        "# Latency benchmark", "",
        f"Run {results['created']} on {m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, "
        f"Python {m['python']}, {m['os']}.", "",
        f"- Speech fed in real time as 30 ms microphone frames: {len(results['clips'])} clip(s), "
        f"{cfg['turns_per_mode']} turn(s) per mode, modes interleaved.",
        f"- VAD {cfg['vad_engine']}, "
        + (f"end of turn {cfg['end_of_turn']}" if cfg.get("end_of_turn") else
           f"endpoint silence {cfg['silence_ms']} ms") + f"; STT {cfg['stt_model']} "
        f"(beam {cfg['stt_beams']}); voices {', '.join(cfg['tts_chain'])} (spoke: "
        f"{', '.join(results['voices_used']) or 'none'}); output {cfg['output']}.",
        f"- LLM: {llm_desc}; scripted reply of {llm['reply_sentences']} sentences.",
        "- Reply stages count replies that were played to the end; listening stages count every utterance "
        f"({results['interrupted_turns']} reply(ies) were cut by the speaker's next utterance).", "",
        "| stage | streaming p50 | streaming p95 | classic p50 | classic p95 | n |",
        "|---|---|---|---|---|---|",
    ]
    summ = results["summary"]
    for key, label in STAGES:
        s, c = summ["streaming"].get(key, {}), summ["classic"].get(key, {})
        n = f"{s.get('n', 0)}/{c.get('n', 0)}"
        lines.append(f"| {label} | {_fmt(s.get('p50'))} | {_fmt(s.get('p95'))} | {_fmt(c.get('p50'))} | "
                     f"{_fmt(c.get('p95'))} | {n} |")
    lines += ["", "Times in seconds.", "", "### Where voice-to-voice goes (p50)", "",
              "| step | streaming | classic |", "|---|---|---|"]
    if not cfg.get("end_of_turn"):
        lines.append(f"| endpoint silence (vad.silence_ms) | {cfg['silence_ms'] / 1000:.3f} | "
                     f"{cfg['silence_ms'] / 1000:.3f} |")
    for key, label in BREAKDOWN:
        if all(summ[m].get(key, {}).get("p50") is None for m in MODES):
            continue  # a step of the other end-of-turn mode
        lines.append(f"| {label} | {_fmt(summ['streaming'].get(key, {}).get('p50'))} | "
                     f"{_fmt(summ['classic'].get(key, {}).get('p50'))} |")
    lines += _by_speaker(results["turns"])
    stt, idle, mem = results["stt"], results["idle"], results["memory"]
    lines += [
        "",
        f"- Streaming / classic voice-to-voice (p50): **{_fmt(results['ratio_streaming_over_classic'])}**",
        f"- STT real-time factor (decode time / audio length): final decodes p50 "
        f"{_fmt(stt['rtf_final_p50'])}, all decodes p50 {_fmt(stt['rtf_all_p50'])} "
        f"({stt['decodes']} decodes); "
        f"WER {_fmt(stt['wer'])} "
        f"over {stt['reference_words']} reference words",
        *_cost_line(results.get("end_of_turn_cost")),
        f"- CPU while listening to {idle['seconds']:.0f} s of silence: "
        f"{idle['cpu_percent_of_one_core']:.1f} % of one core "
        f"(utterances opened by it: {idle['false_starts']})",
        f"- Peak resident memory: {_fmt_mb(mem['rss_peak_mb'])} with {', '.join(mem['loaded'])} "
        f"(Whisper + voices only: {_fmt_mb(mem['rss_peak_mb_without_embedder'])})",
        "", "## Targets", "", "| target | measured | met |", "|---|---|---|",
    ]
    for t in results["targets"]:
        v = t["value"]
        formats = {"idle_cpu": "{:.1f} %", "rss": "{:.0f} MB", "streaming_over_classic": "{:.3f}"}
        value = "–" if v is None else formats.get(t["name"], "{:.3f} s").format(v)
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        lines.append(f"| {t['label']} | {value} | {met} |")
    lines += ["", "## Turns", "", "One row per utterance that got a reply; *cut* = interrupted by the next "
              "utterance; gaps = times playback ran dry mid-reply.", "",
              "| mode | clip | heard | first partial | eos→final | v2v | overhead | gaps |",
              "|---|---|---|---|---|---|---|---|"]
    for t in results["turns"]:
        iv = t["intervals"]
        heard = t["transcript"][:60] + ("…" if len(t["transcript"]) > 60 else "")
        cut = " (*cut*)" if t["interrupted"] else ""
        lines.append(f"| {t['mode']} | {t['clip']} | {heard}{cut} | "
                     f"{_fmt(iv.get('onset_to_first_partial'))} | "
                     f"{_fmt(iv.get('eos_to_final'))} | {_fmt(iv.get('voice_to_voice'))} | "
                     f"{_fmt(iv.get('pipeline_overhead'))} | {t['gaps']} |")
    lines += ["", "## Transcripts", "", "| mode | clip | transcript | reference | WER |",
              "|---|---|---|---|---|"]
    for r in results["runs"]:
        lines.append(f"| {r['mode']} | {r['clip']} | {r['transcript']} | {r['reference'] or '–'} | "
                     f"{_fmt(r['wer'])} |")
    return "\n".join(lines) + "\n"


def speaker_of(clip: str) -> str:
    """Who spoke a clip: the default set's synthetic voices by file name, anything else is a recording."""
    if clip.startswith("piper_question_"):
        return "Piper (neural)"
    return "espeak-ng" if clip.startswith("question_") else "recorded"


def _by_speaker(turns: list[dict[str, Any]]) -> list[str]:
    """Streaming end of turn and voice-to-voice per speaker: the end-of-turn model hears voices differently."""
    lines = ["", "### Streaming, by speaker", "", "| speaker | turns | end of turn judged p50 / max | "
             "LLM request p50 / max | voice-to-voice p50 / max |", "|---|---|---|---|---|"]
    played = [t for t in turns if t["mode"] == "streaming" and not t["interrupted"]]
    for who in sorted({speaker_of(t["clip"]) for t in played}):
        mine = [t["intervals"] for t in played if speaker_of(t["clip"]) == who]
        cells = []
        for key in ("eos_to_decision", "eos_to_request", "voice_to_voice"):
            vals = [iv[key] for iv in mine if key in iv]
            cells.append(f"{_fmt(percentile(vals, 50))} / {_fmt(max(vals))}" if vals else "–")
        lines.append(f"| {who} | {len(mine)} | {' | '.join(cells)} |")
    return lines


def _cost_line(cost: dict[str, dict[str, Any]] | None) -> list[str]:
    if not cost:
        return []

    def f(v: float | None, spec: str = ".0f", unit: str = " ms") -> str:
        return "–" if v is None else f"{v:{spec}}{unit}"

    a, w = cost["audio"], cost["words"]
    return [f"- End-of-turn models per turn (p50): Smart Turn {f(a['calls_per_turn_p50'], '.1f', '')} call(s), "
            f"{f(a['cpu_ms_per_turn_p50'])} of CPU ({f(a['ms_p50'])} a call p50, {f(a['ms_p95'])} p95, "
            f"{a['calls']} calls); the words' rules and model {f(w['cpu_ms_per_turn_p50'], '.1f')} "
            f"({f(w['ms_p50'], '.2f')} a call, {w['calls']} calls)"]


def _fmt_mb(v: float | None) -> str:
    return "–" if v is None else f"{v:.0f} MB"


def plot(results: dict[str, Any], path: Path) -> None:
    """Grouped bars (p50, with a p95 whisker) per stage, streaming against classic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k, _ in STAGES]
    labels = [lbl.split(" (")[0] for _, lbl in STAGES]
    fig, ax = plt.subplots(figsize=(11, 5.5))
    width = 0.38
    for i, (mode, color) in enumerate((("streaming", "#2a7ab0"), ("classic", "#c8702a"))):
        summ = results["summary"][mode]
        p50 = [summ.get(k, {}).get("p50") or 0.0 for k in keys]
        p95 = [summ.get(k, {}).get("p95") or 0.0 for k in keys]
        xs = [x + (i - 0.5) * width for x in range(len(keys))]
        ax.bar(xs, p50, width, label=f"{mode} p50", color=color)
        up = [max(0.0, b - a) for a, b in zip(p50, p95, strict=True)]
        ax.errorbar(xs, p50, yerr=[[0.0] * len(keys), up], fmt="none", ecolor="#333333", capsize=3,
                    label="p95" if i == 0 else None)
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("seconds")
    ax.axhline(0.7, color="#888888", linestyle="--", linewidth=0.8)
    ax.text(len(keys) - 0.5, 0.72, "voice-to-voice target 0.7 s", ha="right", fontsize=7, color="#555555")
    ratio_txt = results.get("ratio_streaming_over_classic")
    ax.set_title(f"Latency per stage, streaming vs classic (v2v ratio {ratio_txt})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
