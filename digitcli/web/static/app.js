"use strict";
// Draw on #pad with Pointer Events (mouse, finger and pen share one path) and show what the model
// sees. The drawing is sent as a PNG to POST /api/predict, where it is prepared exactly as an image
// file is (cropped, scaled, centred by mass): the page never resizes it itself.

const PEN_WIDTH = 18;     // px on the 280-px pad: about MNIST's 2-3 px pen once the digit is 20 px tall
const DEBOUNCE_MS = 50;   // ask once the pen pauses this long...
const MAX_WAIT_MS = 150;  // ...or at least this often while it keeps moving
const API = "/api/predict?top_k=10&show_input=true";
const HINT = "Draw a digit, 0 to 9, with the mouse, a finger or a pen.";

const pad = document.getElementById("pad");
const ink = pad.getContext("2d");
const seen = document.getElementById("seen").getContext("2d");
const prediction = document.getElementById("prediction");
const hint = document.getElementById("hint");
const confidence = document.getElementById("confidence");
const statusLine = document.getElementById("status");
const bars = [];

let pointer = null;   // the one pointer drawing now, and where it last was
let inked = false;    // anything drawn since the last clear
let epoch = 0;        // bumped by clear: answers about an earlier drawing are dropped
let inFlight = false; // at most one request at a time...
let wanted = false;   // ...and, while it runs, whether the drawing changed since it was sent
let timer = null, firstChange = null;

function buildBars() {
  const list = document.getElementById("bars");
  for (let digit = 0; digit < 10; digit++) {
    const item = document.createElement("li");
    item.innerHTML = `<span>${digit}</span><span class="track"><span class="fill"></span></span><span class="p"></span>`;
    list.append(item);
    bars.push(item);
  }
}

function blankPad() {
  ink.fillStyle = "#fff";
  ink.fillRect(0, 0, pad.width, pad.height);
  ink.strokeStyle = "#111";
  ink.lineWidth = PEN_WIDTH;
  ink.lineCap = ink.lineJoin = "round";
}

function where(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
}

function line(from, to) {
  ink.beginPath();
  ink.moveTo(from[0], from[1]);
  ink.lineTo(to[0], to[1]);
  ink.stroke();
}

pad.addEventListener("pointerdown", (event) => {
  if (pointer || (event.pointerType === "mouse" && event.button !== 0)) return;
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  pointer = { id: event.pointerId, at: where(event) };
  line(pointer.at, pointer.at);  // a dot for a tap
  inked = true;
  changed();
});

pad.addEventListener("pointermove", (event) => {
  if (!pointer || event.pointerId !== pointer.id) return;
  const steps = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const step of steps.length ? steps : [event]) {
    const at = where(step);
    line(pointer.at, at);
    pointer.at = at;
  }
  changed();
});

function strokeEnd(event) {
  if (!pointer || event.pointerId !== pointer.id) return;
  pointer = null;
  clearTimeout(timer);
  timer = firstChange = null;
  ask();  // once more with the finished stroke
}
for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) pad.addEventListener(type, strokeEnd);

// Debounced: a pause of DEBOUNCE_MS asks, and so does every MAX_WAIT_MS of steady drawing.
function changed() {
  const now = performance.now();
  if (firstChange === null) firstChange = now;
  clearTimeout(timer);
  timer = setTimeout(() => { timer = firstChange = null; ask(); },
    Math.max(0, Math.min(DEBOUNCE_MS, firstChange + MAX_WAIT_MS - now)));
}

function ask() {
  wanted = true;
  send();
}

async function send() {
  if (inFlight || !wanted || !inked) return;
  wanted = false;
  inFlight = true;
  const sentFor = epoch;
  try {
    const png = padPng();
    const form = new FormData();
    form.append("file", png, "pad.png");
    const response = await fetch(API, { method: "POST", body: form });
    const body = await response.json();
    if (sentFor !== epoch) return;  // cleared while it was on its way
    const result = body.results ? body.results[0] : null;
    if (result && result.prediction !== undefined) show(result);
    else showNothing(result && result.error ? `No digit yet (${result.error}).` : HINT);
    statusLine.textContent = response.ok || result ? "" : body.error || `error ${response.status}`;
  } catch (error) {
    if (sentFor === epoch) statusLine.textContent = `The server did not answer (${error.message}).`;
  } finally {
    inFlight = false;
    send();  // the newest drawing, if it changed meanwhile
  }
}

// toDataURL encodes at once; toBlob waits for the browser to be idle, which a page being drawn on
// may not be for up to a second (Chromium), and the answer after a stroke would wait as long.
function padPng() {
  const text = atob(pad.toDataURL("image/png").split(",")[1]);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return new Blob([bytes], { type: "image/png" });
}

function show(result) {
  prediction.textContent = String(result.prediction);
  hint.textContent = (result.notes || []).join(" ");  // e.g. a second digit beside the one predicted
  confidence.textContent = `${(100 * result.confidence).toFixed(1)} % sure`;
  const p = new Array(10).fill(0);
  for (const [digit, probability] of result.top) p[digit] = probability;
  bars.forEach((item, digit) => {
    item.classList.toggle("top", digit === result.prediction);
    item.querySelector(".fill").style.width = `${(100 * p[digit]).toFixed(1)}%`;
    item.querySelector(".p").textContent = `${(100 * p[digit]).toFixed(1)}%`;
  });
  drawSeen(result.input);
}

function showNothing(message) {
  prediction.textContent = "";  // never a digit for a blank pad
  hint.textContent = message;
  confidence.textContent = "";
  for (const item of bars) {
    item.classList.remove("top");
    item.querySelector(".fill").style.width = "0";
    item.querySelector(".p").textContent = "";
  }
  drawSeen(null);
}

function drawSeen(rows) {
  const image = seen.createImageData(28, 28);
  for (let i = 0; i < 28 * 28; i++) {
    const v = rows ? rows[Math.floor(i / 28)][i % 28] : 0;
    image.data.set([v, v, v, 255], 4 * i);
  }
  seen.putImageData(image, 0, 0);
}

function clearPad() {
  epoch += 1;
  inked = wanted = false;
  pointer = null;
  clearTimeout(timer);
  timer = firstChange = null;
  blankPad();
  showNothing(HINT);
  statusLine.textContent = "";
}

document.getElementById("clear").addEventListener("click", clearPad);
document.addEventListener("keydown", (event) => {
  if (["Escape", "Delete", "Backspace"].includes(event.key) || event.key === "c") {
    event.preventDefault();
    clearPad();
  }
});

buildBars();
clearPad();
