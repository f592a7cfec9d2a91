"""End to end through `launch.py converse`: real VAD, Whisper, fake-but-faithful Ollama, real voices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from app.ollama_sim import OllamaSim
from tests.netutil import free_port

ROOT = Path(__file__).resolve().parent.parent
EVENT_TYPES = {"state", "speech_started", "speech_ended", "partial_transcript", "final_transcript", "llm_token",
               "tool_call", "tool_pending", "tool_result", "sentence", "tts_audio", "playback", "interrupted",
               "latency", "turn_done", "error"}


def converse(args: list[str], tmp: Path, ollama_url: str, **env: str) -> tuple[int, list[dict[str, Any]], str]:
    environ = {
        **os.environ,
        "ASSISTANT_OLLAMA__HOST": ollama_url,
        "ASSISTANT_MEMORY__DB_PATH": str(tmp / "assistant.db"),
        "ASSISTANT_MEMORY__CHROMA_PATH": str(tmp / "chroma"),
        "ASSISTANT_MCP__ENABLED": "false",
        **env,
    }
    proc = subprocess.run([sys.executable, "launch.py", "converse", *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=600)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return proc.returncode, events, proc.stderr


@pytest.mark.slow
def test_converse_audio_jfk(jfk_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "reply.wav"
    with OllamaSim(first_token_s=0.05, tokens_per_s=200) as sim:
        # Kennedy pauses 1.1 s twice mid-sentence: a patient endpoint keeps the sentence in one turn.
        code, events, err = converse(["--audio", str(jfk_path), "--out", str(out), "--speed", "0"], tmp_path,
                                     sim.url, ASSISTANT_VAD__SILENCE_MS="1500")
        requests = sim.chat_requests()
    assert code == 0, err
    for e in events:
        assert e["type"] in EVENT_TYPES and isinstance(e["turn_id"], str) and isinstance(e["t"], float)
    kinds = [e["type"] for e in events]
    finals = [e for e in events if e["type"] == "final_transcript"]
    assert len(finals) == 1 and finals[0]["id"]
    assert "ask not what your country can do for you" in finals[0]["text"].lower()
    assert kinds.index("speech_started") < kinds.index("final_transcript") < kinds.index("llm_token")
    assert kinds[-1] == "state" or "turn_done" in kinds
    # the fake Ollama got the transcript as the user message
    assert "ask not what your country can do for you" in requests[0]["messages"][-1]["content"].lower()
    # the reply was spoken by hibari (Edge fails offline, Coqui is not installed), sentence by sentence
    sentences = [e for e in events if e["type"] == "sentence"]
    audio = [e for e in events if e["type"] == "tts_audio"]
    assert len(sentences) >= 2 and len(audio) == len(sentences)
    assert {a["provider"] for a in audio} == {"hibari"}  # the first offline voice of the default chain
    pcm, rate = sf.read(out, dtype="int16")
    seconds = len(pcm) / rate
    assert abs(seconds - sum(a["duration_s"] for a in audio)) < 0.05
    words = sum(len(s["text"].split()) for s in sentences)
    assert words / 4.5 < seconds < words / 1.0  # a plausible speaking rate
    assert np.sqrt(np.mean(pcm.astype(np.float64) ** 2)) > 300  # not silence
    latency = next(e for e in events if e["type"] == "latency")
    assert {"eos_to_final", "voice_to_voice"} <= set(latency["intervals"])


@pytest.mark.slow
def test_converse_text_with_ollama_down_still_speaks(tmp_path: Path) -> None:
    out = tmp_path / "reply.wav"
    code, events, err = converse(["--text", "hello", "--out", str(out)], tmp_path, f"http://127.0.0.1:{free_port()}")
    assert code == 3, err  # the apology was spoken, but the answer is missing: a script must be able to tell
    assert "the turn failed: LLM_UNAVAILABLE" in err
    errors = [e for e in events if e["type"] == "error"]
    assert errors[0]["code"] == "LLM_UNAVAILABLE" and "ollama serve" in errors[0]["message"]
    assert errors[0]["recoverable"] is True
    # speech output keeps working: the problem is said aloud
    assert any(e["type"] == "tts_audio" for e in events) and out.exists()
    assert events[-1]["type"] in ("state", "turn_done")


@pytest.mark.slow
def test_check_names_the_fix_when_ollama_is_down(tmp_path: Path) -> None:
    env = {**os.environ, "ASSISTANT_OLLAMA__HOST": f"http://127.0.0.1:{free_port()}",
           "ASSISTANT_MEMORY__DB_PATH": str(tmp_path / "a.db"), "ASSISTANT_MEMORY__CHROMA_PATH": str(tmp_path / "c"),
           "ASSISTANT_MCP__ENABLED": "false"}
    proc = subprocess.run([sys.executable, "launch.py", "check"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    i = next(i for i, line in enumerate(lines) if "ollama" in line and "[FAIL]" in line)
    assert "not reachable" in lines[i] and lines[i + 1].strip() == "fix: ollama serve"
    assert any("[ ok ]" in line and "speech-to-text" in line for line in lines)
    assert any("[ ok ]" in line and "voice: piper" in line for line in lines)
    assert any("voice: edge" in line and "[warn]" in line for line in lines)


@pytest.mark.slow
def test_check_reports_a_missing_model(tmp_path: Path) -> None:
    with OllamaSim(models=("llama3:latest",)) as sim:
        env = {**os.environ, "ASSISTANT_OLLAMA__HOST": sim.url, "ASSISTANT_MCP__ENABLED": "false",
               "ASSISTANT_MEMORY__DB_PATH": str(tmp_path / "a.db")}
        proc = subprocess.run([sys.executable, "launch.py", "check"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)
    assert proc.returncode == 1
    assert "fix: ollama pull mistral" in proc.stdout
