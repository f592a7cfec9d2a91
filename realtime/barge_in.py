"""What happens when the user speaks while the assistant speaks: one object per session, chosen by the config.

- `headset`: speech that lasts `barge_in.min_speech_ms` *pauses* the reply. Words that are not a backchannel
  ("wait", "stop, I meant...": `barge_in.min_words` of them, or one command word; a partial of one or two words
  only if the next transcript says words too) or speech longer than `barge_in.max_backchannel_ms` cut it, and
  the history keeps
  what was heard; a cough, a noise, "mhm" or "okay" (the listener's way of saying go on) let it resume where
  it stopped, at the latest `barge_in.resume_after_ms` after the speech began. An output that cannot pause
  keeps playing meanwhile, and is still cut only by words. Every decode of speech that began over the reply is
  primed with backchannels (`realtime.stt.OVERLAP_PROMPT`), so a hum is written as one, not as words.
- `ignore_while_speaking`: the microphone is muted while the assistant speaks (open speakers, no canceller);
- `echo_cancel`: the microphone runs through WebRTC's echo canceller fed with what the speaker really played,
  then behaves as `headset`. Where it cannot work it falls back (see `realtime.echo`).

Whatever the policy, speech over the reply whose words are the reply's own (`is_own_words`: "Here is part." over
"Here is part 1 of a long story...") is the assistant hearing itself through open speakers, not the user: it
never cuts the reply nor starts a turn, and the session moves one step to a policy that hears less of itself
(headset -> echo_cancel -> ignore_while_speaking), saying so. With `headset` on open speakers the assistant
otherwise stopped its own reply and then answered its own echo, turn after turn ("I heard you say: I heard you").
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import re
from collections.abc import Awaitable, Callable

import numpy as np

from core.config import Settings
from realtime.audio_out import Pausable
from realtime.echo import attach_echo_canceller
from realtime.listener import Listener
from realtime.speech_text import to_spoken
from realtime.speech_words import BACKCHANNELS
from realtime.turn import OwnedTasks

log = logging.getLogger(__name__)

_BACKCHANNEL_WORDS = {w for phrase in BACKCHANNELS for w in phrase.split()}
_BRACKETED = re.compile(r"[\[(*][^\])*]*[\])*]")  # Whisper's "(coughs)", "[BLANK_AUDIO]", "*sigh*"
POLL_S = 0.03
# A partial with fewer words than this cuts the reply only when the next transcript of the same speech is not a
# backchannel: decoded from its first 0.3 s, Piper's "got it" came out "Sorry." and "That is." (2 of 6 tries) and
# cut the reply, though the final heard "Got it.". Meanwhile the reply stays paused: nothing is heard either way.
SURE_PARTIAL_WORDS = 3
SILENT_S = 0.2  # the user has stopped making sound (the utterance may stay open while its end is judged)


# One of these is enough to cut a reply; any other lone word is more likely a misheard "mhm" ("Momentum.").
COMMANDS = {"stop", "wait", "no", "nope", "pause", "quiet", "enough", "cancel", "hold", "hang", "shush", "hush",
            "sorry", "actually", "hey", "excuse", "listen", "but"}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+(?:[-'][a-z]+)*", _BRACKETED.sub(" ", text.lower()))


def is_backchannel(text: str) -> bool:
    """True for "mhm", "Okay.", "uh-huh, right", a noise Whisper wrote as "(coughs)" or nothing at all."""
    return all(w in _BACKCHANNEL_WORDS for w in _words(text))


def interrupts(text: str, min_words: int = 2) -> bool:
    """Words over a reply that cut it: not a backchannel, and a command or at least `min_words` words.

    LiveKit agents' `min_interruption_words` does the same: a one-word "Momentum." over the reply is Whisper
    mishearing "mhm" far more often than a user meaning to stop the answer with it.
    """
    words = _words(text)
    if is_backchannel(text):
        return False
    return len(words) >= min_words or any(w in COMMANDS for w in words)


# Own words: at least this share of what was heard matches the reply in order, with a run of two words or more.
OWN_SHARE = 0.75
SETTLE_S = 3.0  # after a step to echo_cancel, the canceller converges before its own voice counts against it
NEXT_POLICY = {"headset": "echo_cancel", "echo_cancel": "ignore_while_speaking"}


_CONTRACTED = {"s": "is", "re": "are", "m": "am", "ll": "will", "ve": "have", "d": "would", "t": "not"}


def _spoken_words(text: str) -> list[str]:
    """Words as the voice said them and Whisper may write them: "1" is "one", "here's" is "here is"."""
    out: list[str] = []
    for w in _words(to_spoken(text)):
        base, _, tail = w.partition("'")
        if tail == "t" and base.endswith("n"):  # "don't": "do not"
            base, tail = base[:-1], "t"
        out += [base, _CONTRACTED[tail]] if tail in _CONTRACTED else [base]
    return out


def is_own_words(text: str, reply: str) -> bool:
    """Whether words heard over the reply are the reply's own (its echo through open speakers).

    Two words at least (one could be anyone's), a command word the reply does not hold ("wait") is the user's,
    and most of the rest must match the reply in order, with a run of two or more: common words scattered
    through the reply ("is ... a ... cat") do not make the user's question an echo.
    """
    heard = [w for w in _spoken_words(text) if w not in _BACKCHANNEL_WORDS]
    if text.rstrip().endswith("-"):  # a partial that stops inside a word ("Here is f-"): the word is not heard yet
        heard = heard[:-1]
    said = _spoken_words(reply)
    if len(heard) < 2 or not said or any(w in COMMANDS and w not in said for w in heard):
        return False
    blocks = difflib.SequenceMatcher(None, heard, said, autojunk=False).get_matching_blocks()
    return max(b.size for b in blocks) >= 2 and sum(b.size for b in blocks) >= OWN_SHARE * len(heard)


class BargeInPolicy:
    def __init__(self, settings: Settings, output: object, listener: Listener | None) -> None:
        self.listener = listener
        self.output = output
        self.name, self.echo, self._detach = attach_echo_canceller(
            settings.barge_in.policy if listener is not None else "headset", output)
        cfg = settings.barge_in
        # the overlap that must be heard before a reply is paused, on top of what opened the utterance
        self.confirm_s = max(0.0, (cfg.min_speech_ms - settings.vad.min_speech_ms) / 1000)
        self.resume_after_s = cfg.resume_after_ms / 1000
        self.max_backchannel_s = cfg.max_backchannel_ms / 1000
        self.min_words = cfg.min_words
        self._confirming: asyncio.Task[None] | None = None
        self._over_reply: set[str] = set()  # the user's utterances heard while a reply played
        self._verdict: str | None = None  # "words" or "backchannel" for the utterance being weighed
        self._unsure_words = False  # a short partial said words: the next transcript decides (SURE_PARTIAL_WORDS)
        self.paused = False
        self.reply_text: Callable[[str], str] = lambda turn_id: ""  # the reply under an utterance (agent's)
        self.notice: Callable[[str], None] = lambda message: None  # tells the user (the agent sets it)
        self._stepped_at: float | None = None  # when the policy last moved because it heard itself
        self._speaking = False
        self._own_turn = ""  # the utterance over the reply already heard as the reply's own words

    def clean(self, pcm: np.ndarray) -> np.ndarray:
        """The microphone as the listener should hear it (the assistant's own voice taken out, if it can be)."""
        return self.echo.near(pcm) if self.echo is not None else pcm

    def speaking_started(self) -> None:
        self._speaking = True
        self._mute_while_speaking()

    def speaking_stopped(self) -> None:
        self._speaking = False
        self._resume()
        if self.listener is not None:
            self.listener.unmute()

    def _mute_while_speaking(self) -> None:
        if self.listener is not None and self.name == "ignore_while_speaking" and self._speaking:
            self.listener.mute()

    def heard(self, turn_id: str, text: str, *, final: bool) -> bool:
        """A transcript of the user's speech: True when it is a backchannel over a reply (no turn to start)."""
        if turn_id not in self._over_reply:
            return False
        # its own voice: let the reply go on, and hear less of it. Once a transcript of the utterance is the
        # reply's own, so is the rest of it (Whisper wrote one echo "Here's...", then "Here is what?")
        if turn_id == self._own_turn or is_own_words(text, self.reply_text(turn_id)):
            self._verdict, self._unsure_words, self._own_turn = "backchannel", False, turn_id
            self._heard_itself(text)
            return True
        # after a short partial that said words, a transcript that is no backchannel either confirms them
        # (Piper's "stop": partial "Stop.", final "Star."); a backchannel ("Got it.") clears them
        if interrupts(text, self.min_words) or (self._unsure_words and not is_backchannel(text)):
            if final or self._unsure_words or len(_words(text)) >= SURE_PARTIAL_WORDS:
                self._verdict = "words"
            else:
                self._unsure_words = True
            return False
        self._unsure_words = False
        if final:
            self._verdict = self._verdict or "backchannel"
        return True

    def user_spoke(self, tasks: OwnedTasks, still_speaking: Callable[[], bool],
                   interrupt: Callable[[], Awaitable[None]], turn_id: str = "") -> None:
        """Speech started while the assistant speaks: pause, then cut (words) or resume (a cough, "mhm")."""
        if self.name == "ignore_while_speaking" or self.listener is None:
            return
        self.listener.over_reply(turn_id)
        if self._confirming is not None and not self._confirming.done():
            return
        self._over_reply = {turn_id}
        self._verdict = None
        self._unsure_words = False
        self._confirming = tasks.spawn(self._weigh(self.listener, still_speaking, interrupt), "barge-in")

    async def _weigh(self, listener: Listener, still_speaking: Callable[[], bool],
                     interrupt: Callable[[], Awaitable[None]]) -> None:
        """Hold the reply while the user makes sound over it: cut it on words, let it go on after a cough.

        The utterance can outlive the release (the end of turn waits out an unfinished "Because,"), so sound
        that comes back in it is weighed again as a new overlap; open speakers feeding the reply back into the
        microphone make exactly that, one utterance that never ends.
        """
        await asyncio.sleep(self.confirm_s)
        if not (listener.in_speech and still_speaking()):
            return  # a click: shorter than barge_in.min_speech_ms
        clock = asyncio.get_running_loop().time
        start = 0.0  # where the overlap being weighed began, in seconds of the utterance
        # when the overlap began (the reply is held from then on, by the clock); None while the reply plays on
        held_from: float | None = clock() - self.confirm_s
        self._pause()
        try:
            while still_speaking() and self._verdict != "backchannel":
                span, silence_s = listener.speech_so_far()
                if self._verdict == "words" or (held_from is not None and span - start >= self.max_backchannel_s):
                    await interrupt()
                    return
                if held_from is None:
                    if not listener.in_speech:
                        return  # the utterance is over (its words, if any, start a turn of their own)
                    if span > start and silence_s < SILENT_S:  # sound again in the same utterance
                        start = span
                        await asyncio.sleep(self.confirm_s)
                        if listener.speech_so_far()[0] >= start + self.confirm_s / 2:  # it lasted: weigh it too
                            held_from = clock() - self.confirm_s
                            self._pause()
                        continue
                elif silence_s >= SILENT_S and clock() - held_from >= self.resume_after_s and not self._unsure_words:
                    self._resume()  # no words came: a cough or a noise; the reply goes on, the utterance is watched
                    start, held_from = span, None
                    continue
                await asyncio.sleep(POLL_S)
        finally:
            self._resume()

    def _heard_itself(self, text: str) -> None:
        """One step to a policy that hears less of the speaker, said once per step (see the module docstring)."""
        clock = asyncio.get_running_loop().time
        nxt = NEXT_POLICY.get(self.name)
        if nxt is None or (self._stepped_at is not None and clock() - self._stepped_at < SETTLE_S):
            return
        before, self._stepped_at = self.name, clock()
        if nxt == "echo_cancel":
            self.name, self.echo, self._detach = attach_echo_canceller(nxt, self.output)
        if self.name == before:  # no canceller for this output (see realtime.echo): the mic is muted instead
            self.name = "ignore_while_speaking"
        # muted for the rest of this reply (not inside the listener's own event: it drops the open utterance)
        asyncio.get_running_loop().call_soon(self._mute_while_speaking)
        message = (f"the microphone hears the assistant's own voice ({text.strip()!r} over its reply): speakers "
                   f"without a headset? Barge-in switched from {before} to {self.name} for this session; set "
                   f"barge_in.policy: {self.name} in config/config.yaml to start that way, or use a headset")
        log.warning("%s", message)
        self.notice(message)

    def _pause(self) -> None:
        if isinstance(self.output, Pausable):
            self.paused = self.output.pause()

    def _resume(self) -> None:
        if self.paused and isinstance(self.output, Pausable):
            self.output.resume()
        self.paused = False

    def close(self) -> None:
        if self._detach is not None:
            self._detach()
            self._detach = None
