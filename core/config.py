"""One validated configuration, loaded from `config/config.yaml` with environment overrides.

Environment variables win over the file: `ASSISTANT_OLLAMA__HOST=http://box:11434` sets `ollama.host`.
A bad value stops the program before any model loads (exit code 2) with one line per problem naming the key,
the value and what is allowed, because a voice assistant that fails ten seconds later, mid-sentence, over a typo
in a YAML file is much harder to understand.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from core.config_base import ENV_PREFIX as ENV_PREFIX
from core.config_base import Section
from core.config_net import LIVEKIT_ENV as LIVEKIT_ENV
from core.config_net import GuiConfig as GuiConfig
from core.config_net import LiveKitConfig as LiveKitConfig
from core.config_net import is_loopback as is_loopback

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "config.yaml"


class AudioConfig(Section):
    input_device: str | int | None = Field(None, description="sounddevice input name or index; None = default")
    output_device: str | int | None = None
    input_rate: int | None = Field(None, ge=8000, le=192000, description="device rate; None = its default")
    blocksize_ms: int = Field(30, ge=10, le=200)
    output_latency_ms: int = Field(
        60, ge=10, le=500, description="audio held in the speaker's buffer: what still plays after a barge-in, "
                                       "and the stall it survives; raise it on a busy machine that stutters")


class VadConfig(Section):
    engine: Literal["webrtc", "silero"] = "webrtc"
    mode: int = Field(3, ge=0, le=3, description="webrtcvad aggressiveness")
    silero_threshold: float = Field(0.5, gt=0.0, lt=1.0)
    frame_ms: Literal[10, 20, 30] = 30
    silence_ms: int = Field(700, ge=300, le=2000, description="silence that ends a turn")
    preroll_ms: int = Field(300, ge=0, le=1000)
    min_speech_ms: int = Field(150, ge=30, le=2000, description="speech needed to open a turn")
    max_utterance_s: float = Field(30.0, ge=1.0, le=30.0)
    preemptive_ms: int = Field(
        200, ge=0, le=2000,
        description="silence after which the reply is prepared (not played) before the turn ends; 0 = off")

    @model_validator(mode="after")
    def _preempt_before_endpoint(self) -> VadConfig:
        if self.preemptive_ms >= self.silence_ms:
            raise ValueError(f"vad.preemptive_ms ({self.preemptive_ms}) must be below vad.silence_ms "
                             f"({self.silence_ms}), or 0 to switch preemptive replies off")
        return self


class TurnConfig(Section):
    """Semantic end of turn: a pause judged finished ends the turn soon, an unfinished one is waited out."""

    detector: Literal["smart_turn", "words", "off"] = Field(
        "smart_turn", description="smart_turn: audio model + words; words: the transcript alone; "
                                  "off: a fixed vad.silence_ms endpoint")
    model_path: str = Field(".tools/models/smart-turn-v3.2-cpu.onnx",
                            description="Smart Turn v3.2 ONNX (`make turn-model`); relative to the project")
    threshold: float = Field(0.5, gt=0.0, lt=1.0, description="P(finished) the audio model must reach")
    judge_after_ms: int = Field(90, ge=30, le=1000,
                                description="silence after which a pause is judged (pause decode + audio model)")
    finished_silence_ms: int = Field(
        450, ge=100, le=2000, description="silence that ends a finished turn; the reply is prepared from the "
                                          "decision on, so holding its release past sentence gaps costs nothing")
    unfinished_silence_ms: int = Field(1800, ge=300, le=2000,
                                       description="the longest pause waited out inside an unfinished turn")
    text_model_path: str = Field(".tools/models/text-turn-v1.npz",
                                 description="the words' end-of-turn model (`make text-turn-model`); relative to "
                                             "the project; without it the audio alone can end a statement")
    text_sure: float = Field(0.85, gt=0.0, lt=1.0,
                             description="P(complete) at which the words' model ends a statement the audio holds")
    text_sure_silence_ms: int = Field(800, ge=100, le=2000,
                                      description="silence that ends such a turn: later than a finished one, so "
                                                  "a short pause after a whole sentence still goes on")
    doubt_silence_ms: int = Field(
        1500, ge=300, le=2000, description="silence that ends a turn whose ending Whisper may have made up "
                                           "from a fragment ('about the' written 'about that?'): longer than a "
                                           "finished one, shorter than the unfinished limit")
    second_look_ms: int = Field(
        300, ge=0, le=1500, description="when the words end the turn and the audio model did not agree at "
                                        "judge_after_ms, it hears the pause again at this much silence (it was "
                                        "trained on ~200 ms of it); 0 = one look")


class SttConfig(Section):
    model: str = Field("embedded", description="'embedded' (tiny.en shipped in a package), a size, or a path")
    language: str | None = "en"
    beam_size: int = Field(1, ge=1, le=10)
    final_beam_size: int = Field(2, ge=1, le=10, description="beam of the pause and final decodes: 2 decodes "
                                 "a pause a third faster than 5 with a WER within a point")
    compute_type: str = "int8"
    cpu_threads: int = Field(1, ge=1, le=64, description="threads of one decode: on 2 cores one thread decodes "
                             "a pause in 0.17 s where two took 0.25 s, and leaves a core to the rest")
    partial_interval_ms: int = Field(500, ge=100, le=5000)
    first_partial_ms: int = Field(300, ge=100, le=5000, description="speech before the first partial is decoded")
    encoder_window_s: int = Field(
        10, ge=10, le=30, description="the shortest audio window Whisper's encoder hears (30 = always the full "
                                      "window); 10 decodes a pause in a third of the full window's time; a "
                                      "short clip that loops there is undone, below 10 loops are too many")
    partial_window_s: int = Field(
        10, ge=10, le=30, description="the same for partials (beam 1, no prompt): 10 s decodes a partial a "
                                      "quarter faster than 15 with the same words; below 10 it loops")


class OllamaConfig(Section):
    host: str = "http://localhost:11434"
    model: str = "mistral"
    system_prompt: str = (
        "You are a helpful local voice assistant. Your replies are spoken aloud: answer in plain, short "
        "sentences without markdown, lists or emoji unless asked."
    )
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    context_tokens: int = Field(4096, ge=256, le=262144)
    connect_timeout_s: float = Field(3.0, gt=0, le=60)
    first_token_timeout_s: float = Field(30.0, gt=0, le=600, description="a cold model loads before its first token")
    between_token_timeout_s: float = Field(
        15.0, gt=0, le=600, description="silence allowed between two chunks once the reply flows; Ollama sends a "
                                        "tool call as one chunk after generating all of it, so keep room for that")
    total_timeout_s: float = Field(120.0, gt=0, le=3600)
    max_tool_rounds: int = Field(4, ge=0, le=20)
    embed_model: str | None = Field(None, description="use Ollama /api/embed for memory when set")

    @field_validator("host")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")


TtsName = Literal["edge", "coqui", "hibari", "piper", "pyttsx3"]


def _default_chain() -> list[TtsName]:
    """The user's chain: the cloud neural voice, then the local neural ones, then the last resort.

    hibari comes before Piper offline: as intelligible on the speech benchmark, 5-10x faster to first audio.
    """
    return ["edge", "coqui", "hibari", "piper", "pyttsx3"]


class TtsConfig(Section):
    chain: list[TtsName] = Field(default_factory=lambda: _default_chain(), min_length=1)
    timeout_s: float = Field(8.0, gt=0, le=120, description="per-phrase synthesis timeout")
    cooldown_s: float = Field(60.0, ge=0, le=3600, description="how long a failed voice is skipped")
    edge_voice: str = "en-US-AriaNeural"
    piper_model: str | None = Field(None, description="path of a .onnx voice; None = the shipped joe voice")
    coqui_model: str = "tts_models/en/ljspeech/vits"
    pyttsx3_rate: int = Field(175, ge=50, le=400)
    hibari_voice: str = Field("heart", pattern=r"^[a-z_]+$",
                              description="a hibari voice; 'heart' ships in the package, others download")
    sample_rate: int = Field(22050, ge=8000, le=48000, description="the one PCM rate every voice is made to")
    phrase_gap_ms: int = Field(
        180, ge=0, le=1000, description="silence left after a spoken sentence (half after a clause): each "
                                        "voice's own padding is trimmed to it so phrases join like one utterance")
    max_phrase_chars: int = Field(
        200, ge=20, le=1000, description="a phrase longer than this is cut (at a clause if it can) before speaking")
    max_pending_phrases: int = Field(16, ge=1, le=256, description="phrases cut but not yet spoken, per reply")
    workers: int = Field(1, ge=1, le=8, description="phrases synthesized at once (for voices that run in parallel)")


class BargeInConfig(Section):
    policy: Literal["headset", "ignore_while_speaking", "echo_cancel"] = "headset"
    min_speech_ms: int = Field(300, ge=50, le=3000, description="speech that pauses the reply")
    resume_after_ms: int = Field(
        1500, ge=300, le=5000, description="a paused reply resumes if no words (only a cough, 'mhm') came by then")
    max_backchannel_ms: int = Field(
        1000, ge=200, le=5000, description="speech longer than this interrupts even before its words are in")
    min_words: int = Field(
        2, ge=1, le=5, description="words that cut a reply; one word cuts it only if it is a command ('stop', "
                                   "'wait', 'no'): a lone misheard 'mhm' ('Momentum.') must not")


class MemoryConfig(Section):
    db_path: str = "data/assistant.db"
    chroma_path: str = "data/chroma"
    embedder: Literal["minilm", "ollama", "none"] = "minilm"
    recall_k: int = Field(3, ge=0, le=20)
    recall_budget_ms: int = Field(300, ge=10, le=10000)
    history_turns: int = Field(20, ge=0, le=500)


class McpServerConfig(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    command: str
    args: list[str] = Field(default_factory=list)


class McpConfig(Section):
    enabled: bool = True
    extra_servers: list[McpServerConfig] = Field(default_factory=list)
    call_timeout_s: float = Field(20.0, gt=0, le=600)


class Settings(BaseSettings):
    """The whole configuration. Paths are relative to the project root unless absolute."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", nested_model_default_partial_update=True
    )

    streaming: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    audio: AudioConfig = Field(default_factory=AudioConfig)
    vad: VadConfig = Field(default_factory=VadConfig)
    stt: SttConfig = Field(default_factory=SttConfig)
    turn: TurnConfig = Field(default_factory=TurnConfig)
    ollama: OllamaConfig = Field(default_factory=OllamaConfig)
    tts: TtsConfig = Field(default_factory=TtsConfig)
    barge_in: BargeInConfig = Field(default_factory=BargeInConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    mcp: McpConfig = Field(default_factory=McpConfig)
    gui: GuiConfig = Field(default_factory=GuiConfig)
    livekit: LiveKitConfig = Field(default_factory=LiveKitConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first so it overrides what the YAML file (passed as init kwargs) says.
        return (env_settings, init_settings)

    def path(self, relative: str) -> Path:
        """Resolve a configured path against the project root."""
        p = Path(relative)
        return p if p.is_absolute() else PROJECT_ROOT / p


# The seed protocol's environment names, accepted as aliases (`ASSISTANT_*` names win when both are set).
# name -> (section, key, factor applied to the value: the seed counts some things in ms, the config in s)
STREAM_ALIASES: dict[str, tuple[str, str, float]] = {
    "STREAM_VAD_SILENCE_MS": ("vad", "silence_ms", 1),
    "STREAM_MAX_UTTERANCE_MS": ("vad", "max_utterance_s", 0.001),
    "STREAM_PARTIAL_INTERVAL_MS": ("stt", "partial_interval_ms", 1),
    "STREAM_MODEL_WHISPER": ("stt", "model", 0),
    "STREAM_LLM_TIMEOUT_S": ("ollama", "total_timeout_s", 1),
    "STREAM_LLM_TOKEN_TIMEOUT_S": ("ollama", "between_token_timeout_s", 1),
    "STREAM_TTS_TIMEOUT_S": ("tts", "timeout_s", 1),
    "STREAM_TTS_MAX_PHRASE_LENGTH": ("tts", "max_phrase_chars", 1),
    "STREAM_MAX_PENDING_PHRASES": ("tts", "max_pending_phrases", 1),
    "STREAM_TTS_THREAD_WORKERS": ("tts", "workers", 1),
    "STREAM_BACKPRESSURE_THRESHOLD": ("gui", "backpressure_frames", 1),
}


def stream_aliases(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The `STREAM_*` variables that are set, as config sections (a number that does not parse is kept as
    text so validation names the variable's key); an `ASSISTANT_<SECTION>__<KEY>` of the same key wins."""
    out: dict[str, dict[str, Any]] = {}
    for name, (section, key, factor) in STREAM_ALIASES.items():
        raw = env.get(name)
        if raw is None or f"{ENV_PREFIX}{section}__{key}".upper() in env:
            continue
        value: Any = raw
        if factor:
            try:
                number = float(raw) * factor
                value = int(number) if factor == 1 and number.is_integer() else number
            except ValueError:
                value = raw
        out.setdefault(section, {})[key] = value
    model = out.get("stt", {}).get("model")
    if isinstance(model, str) and model.endswith("-int8"):  # the seed's "small-int8": a size and a compute type
        out["stt"].update(model=model.removesuffix("-int8"), compute_type="int8")
    return out


def _merge(data: dict[str, Any], extra: dict[str, dict[str, Any]]) -> None:
    for section, values in extra.items():
        current = data.get(section)
        data[section] = {**current, **values} if isinstance(current, dict) else values


class ConfigError(Exception):
    """A configuration problem, already worded for the user (one line per problem)."""


def _describe(err: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in err["loc"])
    value = "***" if "auth_token" in key else err.get("input")  # a secret is never echoed
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return f"config error: {key} = {value!r}: unknown key (check its spelling against config/config.yaml)"
    if err["type"] == "literal_error":
        allowed = err.get("ctx", {}).get("expected", "")
        return f"config error: {key} = {value!r}: allowed values are {allowed}"
    if err["type"] == "value_error" and isinstance(value, dict):  # a rule across keys of one section
        return f"config error: {msg.removeprefix('Value error, ')}"
    msg = msg.removeprefix("Value error, ")
    env = ENV_PREFIX + "__".join(str(p).upper() for p in err["loc"])
    return f"config error: {key} = {value!r}: {msg} (fix it in the YAML file or in ${env})"


def load_settings(path: Path | str | None = None, **overrides: Any) -> Settings:
    """Read the YAML file and the environment into one `Settings`; raise ConfigError with readable lines."""
    cfg_path = Path(path) if path else DEFAULT_CONFIG
    data: dict[str, Any] = {}
    if cfg_path.exists():
        try:
            loaded = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"config error: {cfg_path} is not valid YAML: {exc}".replace("\n", " ")) from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config error: {cfg_path} must hold a mapping of sections, not {type(loaded).__name__}")
        data = loaded or {}
    elif path is not None:
        raise ConfigError(f"config error: file {cfg_path} does not exist (pass an existing --config file)")
    _merge(data, stream_aliases(os.environ))
    data.update(overrides)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(dict(e)) for e in exc.errors())) from exc


def load_or_exit(path: Path | str | None = None) -> Settings:
    """Entry-point helper: print the config problem and exit with code 2, before anything heavy loads."""
    try:
        return load_settings(path)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(2) from exc
