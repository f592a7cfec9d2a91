"""livekit-agents plugins over the assistant's own services, so a LiveKit room gets the same ears, mind and voice.

`WhisperSTT` streams through our Listener (VAD, partials, endpointing) on our Whisper; `AssistantLLM` runs our
assistant turn (Ollama, MCP tools, memory, history); `FallbackVoiceTTS` speaks phrase by phrase with our voice
chain. They subclass livekit-agents' own `stt.STT`, `llm.LLM` and `tts.TTS`, so an `AgentSession` drives them
like any other plugin. Import the submodules directly; importing livekit-agents costs about a second.
"""
