// The browser's microphone as /ws input: getUserMedia -> capture worklet (capture-worklet.js) -> 16 kHz PCM16
// frames handed to `onFrame(pcm, rms)`. Kept apart from client.js, which also drives sessions whose audio is
// this computer's own microphone and speaker (and then never opens this one).

export class MicError extends Error {}

export async function openBrowserMic(base, onFrame) {
  let stream;
  try {
    // echo cancellation keeps the assistant from hearing itself on speakers; Chrome's noise suppression and
    // gain control are off because Whisper copes with noise better than with their artefacts
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false, autoGainControl: false },
    });
  } catch (err) {
    throw new MicError(`the microphone could not be opened (${err.name}): allow microphone access ` +
      "for this page in the browser's site settings, and check that a microphone is connected");
  }
  const ctx = new AudioContext({ latencyHint: "interactive" });
  await ctx.audioWorklet.addModule(base + "capture-worklet.js");
  const src = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, "va-capture", { processorOptions: { outRate: 16000, frameMs: 40 } });
  const sink = ctx.createGain();
  sink.gain.value = 0; // keeps the worklet pulled by the graph without playing the mic back
  src.connect(node).connect(sink).connect(ctx.destination);
  node.port.onmessage = (e) => onFrame(e.data.pcm, e.data.rms);
  return {
    ctx,
    close() {
      node.port.onmessage = null;
      stream.getTracks().forEach((tr) => tr.stop());
      ctx.close();
    },
  };
}
