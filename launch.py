"""Entry point: `python launch.py [app|converse|check|devices|bench|livekit] ...`.

The configuration is validated before anything heavy is imported, so a typo in config.yaml costs a second and
one clear line, not a model load and a stack trace.
"""

from __future__ import annotations

import argparse
import sys

from app.logs import configure_logging
from core.config import load_or_exit


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="launch.py", description="A local-first voice assistant.")
    p.add_argument("--config", help="YAML config file (default: config/config.yaml)")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("app", help="run the Gradio app on localhost (the default)")
    c = sub.add_parser("converse", help="one turn from an audio file or text; JSON events on stdout")
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--audio", help="a speech file (WAV, FLAC, MP3), fed through the listener like a mic")
    src.add_argument("--text", help="a typed message")
    c.add_argument("--out", default="data/reply.wav", help="where to write the reply audio (WAV)")
    c.add_argument("--speed", type=float, default=1.0,
                   help="feed speed for --audio: 1 = real time (default), 0 = as fast as possible")
    c.add_argument("--no-tools", action="store_true", help="do not start the MCP tools")
    sub.add_parser("check", help="show the state of every component and how to fix what is missing")
    sub.add_parser("devices", help="list audio input and output devices")
    sub.add_parser("desktop", help="talk through this computer's microphone and speaker (no GUI)")
    b = sub.add_parser("bench", help="latency benchmark (see README)")
    b.add_argument("rest", nargs=argparse.REMAINDER)
    lk = sub.add_parser("livekit", help="run as a LiveKit agent worker: livekit dev|start|console (see README)")
    lk.add_argument("rest", nargs=argparse.REMAINDER)
    return p


def _split_bench(argv: list[str]) -> tuple[list[str], list[str]]:
    """Everything after `bench` or `livekit` goes to that command untouched (argparse REMAINDER would reorder
    options)."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] == "--config" else 1
    if i < len(argv) and argv[i] in ("bench", "livekit"):
        return argv[:i + 1], argv[i + 1:]
    return argv, []


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    argv, bench_argv = _split_bench(argv)
    args = build_parser().parse_args(argv)
    settings = load_or_exit(args.config)
    configure_logging(settings.log_level, settings.log_format)
    command = args.command or "app"
    if command == "converse":
        from app.cli import converse

        return converse(settings, audio=args.audio, text=args.text, out=args.out, speed=args.speed,
                        tools=not args.no_tools)
    if command == "check":
        from app.check import run_check

        return run_check(settings)
    if command == "devices":
        from realtime.audio_in import list_devices

        print(list_devices())
        return 0
    if command == "desktop":
        from app.cli import desktop

        return desktop(settings)
    if command == "bench":
        from app.bench import main as bench_main

        return bench_main(settings, bench_argv or args.rest)
    if command == "livekit":
        from app.livekit_agent import run as livekit_run

        return livekit_run(settings, bench_argv or args.rest, config=args.config)
    from gui.app import serve

    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
