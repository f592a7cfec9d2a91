// The page's LiveKit mode: "Connection: WebSocket | LiveKit". In LiveKit mode the page joins a room on the
// configured LiveKit server with `livekit-client` (the npm bundle the app serves from .tools/, no CDN) and talks
// to the assistant's agent worker (`python launch.py livekit dev`) there instead of over /ws. It shows the
// agent's state (the `lk.agent.state` attribute), the transcript (the `lk.transcription` text streams), tool
// activity (data messages on `assistant.events`), and offers mute/unmute and disconnect.

const API = "/v1/livekit";
const IDENTITY_KEY = "va-livekit-identity";
const EVENTS_TOPIC = "assistant.events";

let bundle = null; // the LivekitClient global, loaded once on first use

function loadBundle() {
  if (bundle) return bundle;
  bundle = new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = API + "/livekit-client.js";
    s.onload = () => (window.LivekitClient ? resolve(window.LivekitClient) : reject(new Error("bundle loaded without LivekitClient")));
    s.onerror = async () => {
      bundle = null;
      let why = "could not load livekit-client";
      try { why = (await (await fetch(s.src)).json()).detail || why; } catch (e) { /* keep the generic reason */ }
      reject(new Error(why));
    };
    document.head.appendChild(s);
  });
  return bundle;
}

function identity() {
  let id = localStorage.getItem(IDENTITY_KEY);
  if (!id) {
    id = "user-" + Math.random().toString(16).slice(2, 10);
    localStorage.setItem(IDENTITY_KEY, id);
  }
  return id;
}

class LiveKitMode {
  constructor(root) {
    this.root = root;
    this.select = root.querySelector(".va-conn-select");
    this.panel = root.querySelector(".va-lk");
    this.panel.innerHTML = `
      <div class="va-lk-bar">
        <span class="va-lk-state" data-state="offline">LiveKit: not connected</span>
        <button class="va-btn va-lk-mute" type="button" disabled>Mute</button>
        <button class="va-btn va-lk-leave" type="button" disabled>Disconnect</button>
        <span class="va-lk-note"></span>
      </div>
      <div class="va-lk-chat" aria-live="polite"></div>`;
    this.stateEl = this.panel.querySelector(".va-lk-state");
    this.note = this.panel.querySelector(".va-lk-note");
    this.chat = this.panel.querySelector(".va-lk-chat");
    this.muteBtn = this.panel.querySelector(".va-lk-mute");
    this.leaveBtn = this.panel.querySelector(".va-lk-leave");
    this.room = null;
    this.lines = new Map(); // transcription segment id -> its line in the chat
    this.status = { configured: false, message: "" };
    this.select.addEventListener("change", () => this.onSwitch());
    this.muteBtn.addEventListener("click", () => this.toggleMute());
    this.leaveBtn.addEventListener("click", () => this.leave());
    this.refreshStatus();
  }

  async refreshStatus() {
    try {
      this.status = await (await fetch(API + "/status")).json();
    } catch (e) {
      this.status = { configured: false, message: "the assistant's server does not answer: " + e };
    }
    const opt = this.select.querySelector('option[value="livekit"]');
    opt.textContent = this.status.configured ? `LiveKit (${this.status.room})` : "LiveKit (not configured)";
    opt.title = this.status.configured ? this.status.url : this.status.message;
  }

  showMode(livekit) {
    this.root.classList.toggle("va-lk-mode", livekit);
    this.panel.hidden = !livekit;
  }

  async onSwitch() {
    const livekit = this.select.value === "livekit";
    this.showMode(livekit);
    if (!livekit) return this.leave();
    await this.refreshStatus();
    if (!this.status.configured) {
      this.setState("offline", "LiveKit: not configured");
      this.note.textContent = this.status.message;
      return;
    }
    if (window.assistant && window.assistant.mic && window.assistant.toggleMic) window.assistant.toggleMic();
    await this.join();
  }

  setState(state, text) {
    this.stateEl.dataset.state = state;
    this.stateEl.textContent = text;
  }

  async join() {
    this.setState("connecting", "LiveKit: connecting…");
    this.note.textContent = "";
    try {
      const LK = await loadBundle();
      const resp = await fetch(API + "/token", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ identity: identity() }),
      });
      const grant = await resp.json();
      if (!resp.ok) throw new Error(grant.detail || `token request failed (${resp.status})`);
      const room = new LK.Room({ adaptiveStream: true, dynacast: true });
      this.room = room;
      this.bind(LK, room);
      await room.connect(grant.url, grant.token);
      // pre-connect buffer: what is said while the agent joins is sent once it is there
      await room.localParticipant.setMicrophoneEnabled(true, undefined, { preConnectBuffer: true });
      this.setState("listening", `LiveKit: in room ${grant.room}, waiting for the agent`);
      this.muteBtn.disabled = false;
      this.leaveBtn.disabled = false;
    } catch (e) {
      this.setState("offline", "LiveKit: not connected");
      this.note.textContent = String(e.message || e);
      await this.leave();
    }
  }

  bind(LK, room) {
    const E = LK.RoomEvent;
    room.on(E.TrackSubscribed, (track) => {
      if (track.kind !== "audio") return;
      const el = track.attach();
      el.hidden = true;
      this.panel.appendChild(el);
    });
    room.on(E.TrackUnsubscribed, (track) => track.detach().forEach((el) => el.remove()));
    room.on(E.ParticipantAttributesChanged, (changed, participant) => {
      const state = changed["lk.agent.state"];
      if (state && participant !== room.localParticipant) this.setState(state, `agent: ${state}`);
    });
    room.on(E.DataReceived, (payload, _participant, _kind, topic) => {
      if (topic !== EVENTS_TOPIC) return;
      try { this.toolLine(JSON.parse(new TextDecoder().decode(payload))); } catch (e) { /* not ours */ }
    });
    room.on(E.Disconnected, () => this.leave());
    room.registerTextStreamHandler("lk.transcription", async (reader, participant) => {
      const segment = reader.info.attributes["lk.segment_id"] || reader.info.id;
      const who = participant.identity === room.localParticipant.identity ? "user" : "assistant";
      for await (const chunk of reader) this.appendText(segment, who, chunk, reader.info.attributes);
    });
  }

  line(segment, who) {
    let el = this.lines.get(segment);
    if (!el) {
      el = document.createElement("div");
      el.className = `va-msg va-${who}`;
      this.lines.set(segment, el);
      this.chat.appendChild(el);
    }
    return el;
  }

  appendText(segment, who, chunk, attrs) {
    const el = this.line(segment, who);
    // the user's segments resend the whole hypothesis; the agent's stream word by word
    el.textContent = who === "user" ? chunk : el.textContent + chunk;
    el.classList.toggle("va-partial", who === "user" && attrs["lk.transcription_final"] !== "true");
    this.chat.scrollTop = this.chat.scrollHeight;
  }

  toolLine(ev) {
    const el = document.createElement("div");
    el.className = "va-msg va-tool";
    if (ev.type === "tool_call") el.textContent = `🔧 ${ev.name}(${JSON.stringify(ev.arguments)})`;
    else if (ev.type === "tool_pending") el.textContent = `… ${ev.name} is taking a while`;
    else el.textContent = `${ev.ok ? "✓" : "✗"} ${ev.name}: ${String(ev.content || "").slice(0, 200)}`;
    this.chat.appendChild(el);
  }

  async toggleMute() {
    if (!this.room) return;
    const on = this.room.localParticipant.isMicrophoneEnabled;
    await this.room.localParticipant.setMicrophoneEnabled(!on);
    this.muteBtn.textContent = on ? "Unmute" : "Mute";
  }

  async leave() {
    const room = this.room;
    this.room = null;
    this.muteBtn.disabled = true;
    this.leaveBtn.disabled = true;
    this.muteBtn.textContent = "Mute";
    if (room) {
      await room.disconnect();
      this.setState("offline", "LiveKit: disconnected");
    }
  }
}

export function mountLiveKit(element) {
  const root = element.querySelector(".va-root") || element;
  if (!root.querySelector(".va-conn-select") || root.dataset.lkMounted) return null;
  root.dataset.lkMounted = "1";
  window.assistantLiveKit = new LiveKitMode(root);
  return window.assistantLiveKit;
}
