// The page's client: owns the /ws session, so typed and spoken turns share one conversation, renders the chat
// from the server's events, captures the microphone (capture-worklet.js) and plays replies (reply-player.js).
// The Gradio text box and settings call window.assistant.* from their `js` handlers. The "Audio" select picks
// where the session listens and speaks: this browser, or this computer's own mic and speaker (server-side).

import { bindAudioSelect, showAudioMode } from "./audio-mode.js";
import { MicError, openBrowserMic } from "./browser-mic.js";
import { renderLatency } from "./latency.js";
import { ReplyPlayer } from "./reply-player.js";

const BASE = new URL(".", import.meta.url).href; // .../client/
const STATE_LABEL = { listening: "Listening", thinking: "Thinking…", speaking: "Speaking", idle: "Ready" };

class AssistantClient {
  constructor(root) {
    this.root = root;
    this.chat = root.querySelector(".va-chat");
    this.banners = root.querySelector(".va-banners");
    this.pill = root.querySelector(".va-state");
    this.status = root.querySelector(".va-status");
    this.micBtn = root.querySelector(".va-mic");
    this.stopBtn = root.querySelector(".va-stop");
    this.meter = root.querySelector(".va-meter > span");
    this.audioSelect = root.querySelector(".va-audio-select");
    this.audio = "browser"; // what this page asks for; `ready.audio` says what the session really uses
    this.desktop = false; // the session's audio is this computer's mic and speaker
    this.latencyBox = root.querySelector(".va-latency");
    this.latencies = []; // this page's `latency` events, drawn as the latency chart
    if (this.latencyBox) renderLatency(this.latencyBox, this.latencies);
    this.ws = null;
    this.state = "offline";
    this.sessionId = new URLSearchParams(location.search).get("session");
    this.sampleRate = 22050;
    this.player = null; // a ReplyPlayer at the session's sample rate
    this.mic = null; // the browser mic: {ctx, close()}
    this.turns = new Map(); // turn_id -> {user, bot}
    this.settings = {};
    this.pendingSettings = null;
    this.retry = 0;
    this.stats = { playedSamples: 0, audioFrames: 0, audioSamples: 0, micFrames: 0, clears: 0, holds: 0,
                   releases: 0, playedWhileHeld: 0, events: 0 };
    this.events = []; // the last events, for debugging and tests
    this.micBtn.addEventListener("click", () => this.toggleMic());
    this.stopBtn.addEventListener("click", () => this.interrupt());
    bindAudioSelect(this, this.audioSelect);
    const unlock = () => this.player && this.player.ctx.state !== "running" && this.player.ctx.resume();
    document.addEventListener("pointerdown", unlock, true);
    document.addEventListener("keydown", unlock, true);
    this.connect();
  }

  // --- socket ----------------------------------------------------------------------------------------
  connect() {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.setStatus("connecting…");
    ws.onopen = () => {
      this.retry = 0;
      const hello = { type: "hello", listen: true, report_playback: true, audio: this.audio };
      if (this.sessionId) hello.session_id = this.sessionId;
      Object.assign(hello, this.pendingSettings || {});
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (e) => (typeof e.data === "string" ? this.onEvent(JSON.parse(e.data)) : this.onAudio(e.data));
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.setState("offline");
      this.setStatus("disconnected: reconnecting…");
      this.stopMic(false);
      const wait = Math.min(5000, 500 * 2 ** this.retry++);
      setTimeout(() => this.ws === ws && this.connect(), wait);
    };
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(typeof obj === "string" || obj instanceof ArrayBuffer ? obj : JSON.stringify(obj));
      return true;
    }
    return false;
  }

  setAudio(mode) {
    // the devices are chosen at hello: reconnect to the same conversation with the other audio
    this.audio = mode === "desktop" ? "desktop" : "browser";
    this.stopMic(false);
    this.resume(this.sessionId);
  }

  resume(sessionId) {
    // continue a stored conversation: a new connection whose hello names it
    this.sessionId = sessionId || null;
    this.chat.replaceChildren();
    this.turns.clear();
    const old = this.ws;
    this.ws = null;
    if (old) old.close();
    this.connect();
  }

  // --- events ----------------------------------------------------------------------------------------
  onEvent(ev) {
    this.stats.events++;
    this.events.push(ev);
    if (this.events.length > 500) this.events.shift();
    const t = ev.turn_id;
    switch (ev.type) {
      case "ready": {
        this.sessionId = ev.session_id;
        this.sampleRate = ev.sample_rate;
        this.settings = { streaming: ev.streaming, tts_chain: ev.tts_chain, voices: ev.voices };
        const where = showAudioMode(this, ev);
        this.setStatus(`connected · session ${ev.session_id.slice(0, 8)}${ev.listen ? "" : " · mic off on server"}${where}`);
        this.setState(this.state);
        if (!this.desktop) this.ensurePlayer();
        break;
      }
      case "settings":
        this.settings = { streaming: ev.streaming, tts_chain: ev.tts_chain, voices: ev.voices };
        this.pendingSettings = { streaming: ev.streaming, tts_chain: ev.tts_chain };
        break;
      case "state":
        this.setState(ev.state);
        break;
      case "history":
        for (const m of ev.messages) {
          const b = this.bubble(m.role === "user" ? "va-user va-past" : "va-bot va-past", m.content);
          if (m.interrupted) {
            b.classList.add("va-interrupted");
            const n = document.createElement("div");
            n.className = "va-note va-cut";
            n.textContent = `interrupted · you heard: “${m.heard || ""}”`;
            b.appendChild(n);
          }
        }
        this.chat.scrollTop = this.chat.scrollHeight;
        break;
      case "speech_started":
        this.userBubble(t, "…", true);
        break;
      case "partial_transcript":
        this.userBubble(t, ev.text || "…", true);
        break;
      case "final_transcript": {
        const b = this.turn(t).user;
        if (!ev.text.trim()) {
          if (b) b.remove();
          this.turn(t).user = null;
        } else this.userBubble(t, ev.text, false);
        break;
      }
      case "llm_token":
        if (ev.text) this.botText(t).textContent += ev.text;
        break;
      case "tool_call":
        this.note(t, `tool: ${ev.name}(${JSON.stringify(ev.arguments)})`, "va-tool");
        break;
      case "tool_pending":
        this.note(t, `still running ${ev.name}…`, "va-tool");
        break;
      case "tool_result":
        this.note(t, `${ev.ok ? "✓" : "✗"} ${ev.name}`, "va-tool");
        break;
      case "interrupted": {
        this.botBubble(t).classList.add("va-interrupted");
        this.note(t, ev.heard ? `interrupted · you heard: “${ev.heard}”` : "interrupted before any audio played", "va-cut");
        break;
      }
      case "latency": {
        const iv = ev.intervals || {};
        const parts = Object.entries(iv).map(([k, v]) => `${k} ${Math.round(v * 1000)} ms`);
        if (parts.length && this.turn(t).bot) this.botBubble(t).title = parts.join(" · ");
        this.latencies.push(ev);
        if (this.latencyBox) renderLatency(this.latencyBox, this.latencies);
        break;
      }
      case "sentence":
        this.turn(t).spoken = (this.turn(t).spoken || []).concat(ev.text);
        break;
      case "turn_done": {
        const turn = this.turn(t);
        if (!turn.bot && !ev.text && turn.spoken) {
          // no model text (it failed): show what the assistant said instead, e.g. its spoken apology
          this.botBubble(t).classList.add("va-system");
          this.botText(t).textContent = turn.spoken.join(" ");
        } else if (turn.bot || ev.text) {
          const text = this.botText(t);
          if (!text.textContent && ev.text) text.textContent = ev.text;
        }
        if (turn.bot) turn.bot.classList.add("va-done");
        break;
      }
      case "clear":
        this.stats.clears++;
        if (this.player) this.player.post({ type: "clear", epoch: ev.epoch });
        break;
      case "hold": // the user talks over the reply: hold the player until words cut it or a "mhm" lets it go on
        this.stats[ev.held ? "holds" : "releases"]++;
        if (this.player) this.player.post({ type: "hold", held: !!ev.held });
        break;
      case "error":
        this.banner(ev.code, ev.message, ev.recoverable);
        break;
      default:
        break;
    }
  }

  turn(t) {
    if (!this.turns.has(t)) this.turns.set(t, { user: null, bot: null });
    return this.turns.get(t);
  }

  bubble(cls, text) {
    const div = document.createElement("div");
    div.className = `va-msg ${cls}`;
    const body = document.createElement("div");
    body.className = "va-text";
    body.textContent = text;
    div.appendChild(body);
    const stick = this.chat.scrollTop + this.chat.clientHeight >= this.chat.scrollHeight - 30;
    this.chat.appendChild(div);
    if (stick) this.chat.scrollTop = this.chat.scrollHeight;
    return div;
  }

  userBubble(t, text, live) {
    const turn = this.turn(t);
    if (!turn.user) turn.user = this.bubble("va-user va-voice", "");
    turn.user.querySelector(".va-text").textContent = text;
    turn.user.classList.toggle("va-live", live);
    this.chat.scrollTop = this.chat.scrollHeight;
  }

  botBubble(t) {
    const turn = this.turn(t);
    if (!turn.bot) turn.bot = this.bubble("va-bot", "");
    return turn.bot;
  }

  botText(t) {
    const text = this.botBubble(t).querySelector(".va-text");
    this.chat.scrollTop = this.chat.scrollHeight;
    return text;
  }

  note(t, text, cls) {
    const n = document.createElement("div");
    n.className = `va-note ${cls}`;
    n.textContent = text;
    this.botBubble(t).appendChild(n);
  }

  setState(state) {
    this.state = state;
    // the server listens whenever the session does; "Listening" only means something while a mic is on
    const shown = state === "listening" && !this.mic && !this.desktop ? "idle" : state;
    this.pill.dataset.state = shown;
    this.pill.textContent = STATE_LABEL[shown] || shown;
    this.stopBtn.disabled = !(state === "thinking" || state === "speaking");
  }

  setStatus(text) {
    this.status.textContent = text;
  }

  banner(code, message, recoverable = true) {
    const div = document.createElement("div");
    div.className = `va-banner ${recoverable ? "va-warn" : "va-fatal"}`;
    div.innerHTML = `<b></b> <span></span> <button title="dismiss">×</button>`;
    div.querySelector("b").textContent = code;
    div.querySelector("span").textContent = message;
    div.querySelector("button").onclick = () => div.remove();
    this.banners.appendChild(div);
    while (this.banners.children.length > 4) this.banners.firstChild.remove();
  }

  // --- text, interrupt, settings --------------------------------------------------------------------
  sendText(text) {
    text = (text || "").trim();
    if (!text) return;
    this.unlockAudio();
    if (!this.send({ type: "text", text })) {
      this.banner("OFFLINE", "not connected to the assistant: wait for it to reconnect, then send again");
      return;
    }
    this.bubble("va-user", text);
    this.chat.scrollTop = this.chat.scrollHeight;
  }

  interrupt() {
    this.send({ type: "interrupt" });
  }

  setSettings(patch) {
    this.pendingSettings = Object.assign(this.pendingSettings || {}, patch);
    this.send(Object.assign({ type: "settings" }, patch));
  }

  // --- playback --------------------------------------------------------------------------------------
  async ensurePlayer() {
    if (this.player && this.player.ctx.sampleRate === this.sampleRate) return this.player.ready;
    if (this.player) this.player.ctx.close();
    this.player = new ReplyPlayer(BASE + "player-worklet.js", this.sampleRate, (m) => this.onPlayed(m));
    return this.player.ready;
  }

  unlockAudio() {
    if (this.player && this.player.ctx.state !== "running") this.player.ctx.resume();
  }

  onAudio(buf) {
    if (buf.byteLength < 6) return;
    const pcm = new Int16Array(buf, 4, (buf.byteLength - 4) >> 1);
    const samples = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 32768;
    this.stats.audioFrames++;
    this.stats.audioSamples += samples.length;
    if (!this.player) this.ensurePlayer();
    const msg = { type: "audio", samples };
    this.player.post(msg, [samples.buffer]);
    if (this.player.ctx.state !== "running") {
      this.player.ctx.resume().catch(() => {});
      setTimeout(() => {
        if (this.player && this.player.ctx.state !== "running")
          this.banner("AUDIO_OUTPUT", "the browser blocked sound: click anywhere on the page to hear the reply");
      }, 1000);
    }
  }

  onPlayed(m) {
    if (m.type !== "played") return;
    const delta = m.played - (this.lastPlayed && this.lastPlayed.epoch === m.epoch ? this.lastPlayed.played : 0);
    if (delta > 0) this.stats.playedSamples += delta;
    if (m.held && delta > 0) this.stats.playedWhileHeld += delta;
    this.lastPlayed = m;
    this.send({ type: "playback", played_samples: m.played, epoch: m.epoch });
  }

  // --- microphone ------------------------------------------------------------------------------------
  async toggleMic() {
    if (this.desktop) return; // the computer's mic listens by itself while the session is open
    if (this.mic) this.stopMic(true);
    else await this.startMic();
  }

  async startMic() {
    this.unlockAudio();
    try {
      this.mic = await openBrowserMic(BASE, (pcm, rms) => {
        this.stats.micFrames++;
        this.send(pcm);
        this.meter.style.width = `${Math.min(100, Math.round(rms * 400))}%`;
      });
    } catch (err) {
      if (!(err instanceof MicError)) throw err;
      this.banner("AUDIO_INPUT", err.message);
      return;
    }
    this.micBtn.textContent = "Stop microphone";
    this.micBtn.classList.add("va-on");
    this.setState(this.state);
  }

  stopMic(finalize) {
    if (!this.mic) return;
    const mic = this.mic;
    this.mic = null;
    mic.close();
    this.meter.style.width = "0%";
    this.micBtn.textContent = "Start microphone";
    this.micBtn.classList.remove("va-on");
    this.setState(this.state);
    if (finalize) this.send({ type: "end_of_input" });
  }
}

export function mount(element) {
  const root = element.querySelector(".va-root") || element;
  if (root.dataset.mounted) return window.assistant;
  root.dataset.mounted = "1";
  if (!document.querySelector("link[data-va-css]")) {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = BASE + "client.css";
    link.dataset.vaCss = "1";
    document.head.appendChild(link);
  }
  window.assistant = new AssistantClient(root);
  return window.assistant;
}
