"""The assistant hearing itself: its own words over its reply (open speakers) never cut it nor start a turn.

Under `headset` on open speakers, before this, the reply's echo ("Here is part.") cut the reply and became a
turn, whose reply's echo ("I heard you.") cut that one, turn after turn. Now the echo lets the reply go on, and
the session moves to a policy that hears less of itself, saying so once.
"""

from __future__ import annotations

import pytest

from app.bench_voices import espeak_say
from base.events import ErrorCode, ErrorEvent, TurnDone
from realtime.barge_in import is_own_words
from tests.test_backchannel import THREE, talk_over

LONG = "Here is part 1 of a long story about a lighthouse keeper and her cat. Here is part 2 of a long story."
ECHO = "I heard you say: Here is part. That is all I can tell you for now."


@pytest.mark.parametrize(("heard", "reply"), [
    ("Here is part.", LONG),  # Whisper's reading of the echo, as the desktop loopback test heard it
    ("Here's part one of a long story.", LONG),
    ("Here's part.", LONG),  # the same echo another time
    ("Here is f-", LONG),  # a partial that stops inside a word
    ("It's a story that doesn't end.", "It is a story that does not end, and it goes on."),
    ("a lighthouse keeper and her", LONG),
    ("I heard you.", ECHO),
    ("Sunsets look red for the same reason.", THREE),
    ("the sky is blue because of Raleigh", THREE),  # a misheard word: most of it still matches, in order
])
def test_the_replys_own_words_are_told_apart(heard: str, reply: str) -> None:
    assert is_own_words(heard, reply)


@pytest.mark.parametrize(("heard", "reply"), [
    ("Wait, here is part.", LONG),  # a command the reply does not hold: the user
    ("Stop.", LONG),
    ("Part.", LONG),  # one word could be anyone's
    ("Here f-", LONG),
    ("Tell me about the cat instead.", LONG),  # a few of its words, not in a run
    ("Is it a cat?", LONG),  # common words scattered through the reply
    ("Why are sunsets red?", THREE),
    ("Mhm, okay.", THREE),  # a backchannel is weighed as one, not as an echo
    ("Here is part.", ""),  # no reply
])
def test_the_users_words_are_not_taken_for_an_echo(heard: str, reply: str) -> None:
    assert not is_own_words(heard, reply)


async def test_its_own_words_over_the_reply_let_it_go_on_and_it_hears_less_of_itself() -> None:
    """The speech over the reply is the reply's own first sentence: no cut, no turn, one notice, and the session
    moves on from `headset` (a paced output reports nothing to cancel against, so to muting while it speaks)."""
    events, history, paused, _ = await talk_over("The sky is blue because of Rayleigh scattering.", espeak_say(
        "the sky is blue because of rayleigh scattering"))
    types = [e.type for e in events]
    assert any(paused), "control: the speech was long enough to pause the reply"
    assert "interrupted" not in types, types
    done = [e for e in events if isinstance(e, TurnDone)]
    assert len(done) == 1 and not done[0].interrupted and done[0].text == THREE
    assert [r["role"] for r in history.rows] == ["user", "assistant"]  # its echo started no turn
    notices = [e for e in events if isinstance(e, ErrorEvent)]
    assert len(notices) == 1 and notices[0].code == ErrorCode.AUDIO_INPUT and notices[0].recoverable
    assert "own voice" in notices[0].message and "ignore_while_speaking" in notices[0].message


async def test_the_users_words_still_cut_the_reply_under_the_same_policy() -> None:
    """Control: the same set-up with the user's own words cuts the reply and moves no policy."""
    events, _history, _, _ = await talk_over("Wait, tell me about sunsets instead.", espeak_say(
        "wait tell me about sunsets instead"))
    assert "interrupted" in [e.type for e in events]
    assert not [e for e in events if isinstance(e, ErrorEvent)]
