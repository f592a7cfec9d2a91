"""Config: one validated model from YAML + environment; a bad value stops the program with exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(text)
    return p


def test_shipped_config_loads_with_seed_defaults() -> None:
    s = load_settings(ROOT / "config" / "config.yaml")
    assert s.streaming is True
    assert s.ollama.host == "http://localhost:11434" and s.ollama.model == "mistral"
    assert s.vad.silence_ms == 700 and s.stt.partial_interval_ms == 500 and s.vad.max_utterance_s == 30
    assert s.stt.model == "embedded"
    assert s.tts.chain == ["edge", "coqui", "hibari", "piper", "pyttsx3"]


def test_environment_overrides_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(tmp_path, "ollama:\n  host: http://a:1\n  model: llama3\nstreaming: true\n")
    monkeypatch.setenv("ASSISTANT_OLLAMA__HOST", "http://127.0.0.1:9999")
    monkeypatch.setenv("ASSISTANT_STREAMING", "false")
    s = load_settings(cfg)
    assert s.ollama.host == "http://127.0.0.1:9999"
    assert s.ollama.model == "llama3"  # the rest of the section still comes from the file
    assert s.streaming is False


@pytest.mark.parametrize(
    ("yaml_text", "must_contain"),
    [
        ("vad:\n  silence_ms: 5000\n", ["vad.silence_ms", "5000", "less than or equal to 2000"]),
        ("vad:\n  silence_ms: 100\n", ["vad.silence_ms", "100", "greater than or equal to 300"]),
        ("stt:\n  partial_interval_ms: 20\n", ["stt.partial_interval_ms", "20"]),
        ("vad:\n  max_utterance_s: 45\n", ["vad.max_utterance_s", "45", "30"]),
        ("ollama:\n  first_token_timeout_s: 0\n", ["ollama.first_token_timeout_s", "0", "greater than 0"]),
        ("tts:\n  timeout_s: -1\n", ["tts.timeout_s", "-1"]),
        ("streaming: maybe\n", ["streaming", "maybe", "boolean"]),
        ("vad:\n  engine: magic\n", ["vad.engine", "magic", "'webrtc' or 'silero'"]),
        ("tts:\n  chain: [edge, festival]\n", ["tts.chain.1", "festival", "'piper'"]),
        ("ollama:\n  host: localhost:11434\n", ["ollama.host", "localhost:11434", "http://"]),
        ("vad:\n  silense_ms: 700\n", ["vad.silense_ms", "unknown key"]),
        ("gui:\n  port: 70000\n", ["gui.port", "70000"]),
        ("vad:\n  silence_ms: 300\n  preemptive_ms: 400\n", ["vad.preemptive_ms (400)", "below vad.silence_ms"]),
        ("gui:\n  host: 0.0.0.0\n", ["gui.host = '0.0.0.0'", "ASSISTANT_GUI__AUTH_TOKEN", "127.0.0.1"]),
        ("gui:\n  host: mybox.lan\n", ["gui.host = 'mybox.lan'", "access token"]),
        ("gui:\n  auth_token: hunter2\n", ["gui.auth_token = '***'", "at least 16"]),
        ("gui:\n  allowed_origins: ['*']\n", ["gui.allowed_origins", "scheme://host[:port]"]),
        ("gui:\n  allowed_hosts: [http://mybox.lan]\n", ["gui.allowed_hosts", "without scheme or port"]),
        ("gui:\n  max_text_chars: 10\n", ["gui.max_text_chars", "100"]),
    ],
)
def test_bad_value_names_key_value_and_what_is_allowed(tmp_path: Path, yaml_text: str, must_contain: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, yaml_text))
    text = str(err.value)
    assert len(text.splitlines()) == 1 and "hunter2" not in text  # a secret is never echoed
    for piece in must_contain:
        assert piece in text


def test_bad_environment_value_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSISTANT_VAD__SILENCE_MS", "lots")
    with pytest.raises(ConfigError, match=r"vad\.silence_ms = 'lots'"):
        load_settings(write(tmp_path, ""))


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(write(tmp_path, "vad: [unclosed\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(write(tmp_path, "- a\n- b\n"))


def test_program_exits_2_with_one_line_before_loading_anything(tmp_path: Path) -> None:
    cfg = write(tmp_path, "vad:\n  silence_ms: 5000\n")
    for command in (["check"], ["converse", "--text", "hi"], []):
        proc = subprocess.run(
            [sys.executable, "launch.py", "--config", str(cfg), *command],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().count("\n") == 0
        assert "vad.silence_ms = 5000" in proc.stderr and "2000" in proc.stderr
        assert proc.stdout == ""


def test_desktop_without_the_named_speaker_says_so_in_one_line() -> None:
    env = {**os.environ, "ASSISTANT_AUDIO__OUTPUT_DEVICE": "no-such-speaker", "ASSISTANT_MCP__ENABLED": "false"}
    proc = subprocess.run([sys.executable, "launch.py", "desktop"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("desktop audio unavailable:") and "no-such-speaker" in last
    assert "launch.py devices" in last
