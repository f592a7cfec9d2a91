"""Microsoft Edge's online neural voice: the nicest voice, and the one that fails first when offline.

Offline it fails in a few ms (DNS error) or, behind a black-holing network, only after its 10 s connect
timeout; the fallback chain's per-phrase timeout and cool-down make either case cheap. The MP3 it streams is
decoded with PyAV (already installed for faster-whisper) in a thread.
"""

from __future__ import annotations

import asyncio
import io
from urllib.parse import urlsplit

import numpy as np

from base.audio import to_pcm16
from base.status import ComponentStatus
from realtime.tts.base import TtsError, Voice

EDGE_HOST = "speech.platform.bing.com"


def decode_mp3(data: bytes) -> tuple[np.ndarray, int]:
    """MP3 bytes to (float32 mono, rate) with PyAV's decoder and resampler."""
    import av

    parts: list[np.ndarray] = []
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.audio[0]
        rate = int(stream.rate or 24000)
        mono = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(stream):
            parts.extend(f.to_ndarray().reshape(-1) for f in mono.resample(frame))
        parts.extend(f.to_ndarray().reshape(-1) for f in mono.resample(None))
    if not parts:
        raise TtsError("edge: the MP3 held no audio")
    return np.concatenate(parts).astype(np.float32), rate


class EdgeTTS(Voice):
    name = "edge"
    failure_hint = f"needs internet access to {EDGE_HOST}"

    def __init__(self, voice: str = "en-US-AriaNeural", *, sample_rate: int = 22050,
                 connect_timeout_s: int = 5, proxy: str | None = None) -> None:
        self.voice = voice
        super().__init__(sample_rate=sample_rate)
        self.proxy = proxy  # "http://host:port" when the machine reaches the internet through a proxy
        self.connect_timeout_s = connect_timeout_s

    async def _synthesize_impl(self, text: str) -> np.ndarray:
        try:
            import edge_tts
        except ImportError as exc:
            raise TtsError(f"edge-tts is not installed: {exc} (pip install edge-tts)") from exc
        comm = edge_tts.Communicate(text, self.voice, connect_timeout=self.connect_timeout_s,
                                    receive_timeout=20, proxy=self.proxy)
        mp3 = bytearray()
        async for chunk in comm.stream():
            if chunk.get("type") == "audio":
                mp3 += chunk.get("data", b"")
        if not mp3:
            raise TtsError("edge returned no audio")
        samples, rate = await asyncio.to_thread(decode_mp3, bytes(mp3))
        return await asyncio.to_thread(to_pcm16, samples, rate, self.sample_rate)

    async def probe(self) -> ComponentStatus:
        """Cheap reachability check: resolve and connect to the service (no synthesis)."""
        fix = "connect to the internet, or leave edge out of tts.chain"
        try:
            import edge_tts  # noqa: F401
        except ImportError as exc:
            return ComponentStatus(self.name, False, f"not installed: {exc}", "pip install edge-tts")
        host, port = EDGE_HOST, 443
        if self.proxy:
            parsed = urlsplit(self.proxy)
            host, port = parsed.hostname or "", parsed.port or 8080
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 3.0)
            writer.close()
        except TimeoutError:
            return ComponentStatus(self.name, False, f"{host}:{port} did not answer within 3 s", fix)
        except OSError as exc:
            return ComponentStatus(self.name, False, f"cannot reach {host}:{port}: {exc}", fix)
        return ComponentStatus(self.name, True, f"{EDGE_HOST} reachable, voice {self.voice}", "")

    async def aclose(self) -> None:
        return None
