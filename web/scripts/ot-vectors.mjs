// Generates cross-implementation test vectors for the Go package ot/ from
// the real CodeMirror change-set implementation.
//
// Generated with @codemirror/state 6.7.6 and @codemirror/collab 6.1.1
// (Node 20), the versions web/package.json pins. The Go tests replay every
// case and must agree byte for byte, so regenerate only when moving to new
// releases on purpose. From web/ with its dependencies installed:
//
//   node scripts/ot-vectors.mjs ../ot/testdata/vectors.json.gz
//
// or from a scratch directory:
//
//   mkdir -p /tmp/otgen && cd /tmp/otgen && npm init -y >/dev/null &&
//   npm install @codemirror/state@6.7.6 @codemirror/collab@6.1.1 &&
//   cp /path/to/web/scripts/ot-vectors.mjs . &&
//   node ot-vectors.mjs /path/to/ot/testdata/vectors.json.gz
//
// Every case is derived from a fixed seed, so the output is reproducible.

import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { ChangeSet, Text } from "@codemirror/state";
import { rebaseUpdates } from "@codemirror/collab";

const STATE_VERSION = "6.7.6";
const COLLAB_VERSION = "6.1.1";
const SEED = 20261128;
const CASES = 2000;
const REBASE_CASES = 300;

// mulberry32: small, deterministic, good enough for test data.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(SEED);
const int = (n) => Math.floor(rand() * n); // 0..n-1
const pick = (xs) => xs[int(xs.length)];

// Text pieces: ASCII, line breaks, CJK, astral emoji (surrogate pairs), a
// ZWJ sequence, a combining mark, and characters JSON must escape.
const PIECES = [
  "a", "b", "c", "x", "Z", "0", " ", "  ", "\n", "\n", "\t", "{", "}",
  "中", "文", "字", "한",
  "😀", "👍🏽", "👩‍💻", "𝒳",
  "e\u0301", "\"", "\\", "\u0001", "\u2028", "/", "<&>",
];

function randomText(maxPieces) {
  let s = "";
  for (let i = 1 + int(maxPieces); i > 0; i--) s += pick(PIECES);
  return s;
}

function randomDoc() {
  const r = rand();
  if (r < 0.08) return "";
  if (r < 0.85) return randomText(25);
  return randomText(120);
}

// UTF-16 offsets of the code point boundaries of s, 0 and s.length included.
function boundaries(s) {
  const out = [0];
  let pos = 0;
  for (const ch of s) {
    pos += ch.length;
    out.push(pos);
  }
  return out;
}

const textOf = (s) => Text.of(s.split("\n"));

// A random change set over s. Positions come from code point boundaries,
// half the time from a small shared "hot" set so that concurrent change
// sets often touch the same points (the tie-breaking cases).
function randomChanges(s, hotCandidates) {
  const bounds = boundaries(s);
  // Hot points of another version of the text may not fit this one.
  const hot = hotCandidates.filter((p) => bounds.includes(p));
  const choose = () => (hot.length && rand() < 0.5 ? pick(hot) : pick(bounds));
  if (rand() < 0.2) return rawChanges(bounds, choose);
  const n = int(5);
  const points = [];
  for (let i = 0; i < 2 * n; i++) points.push(choose());
  points.sort((x, y) => x - y);
  const specs = [];
  for (let i = 0; i < n; i++) {
    const from = points[2 * i];
    const to = rand() < 0.4 ? from : points[2 * i + 1];
    const insert = rand() < 0.3 ? "" : randomText(4);
    specs.push({ from, to, insert });
    // Sometimes a second insertion at the same point.
    if (rand() < 0.15) specs.push({ from: to, to, insert: randomText(2) });
  }
  return ChangeSet.of(specs, s.length);
}

// A change set built from raw JSON, including forms ChangeSet.of never
// produces (adjacent kept runs, adjacent deletions, adjacent insertions).
function rawChanges(bounds, choose) {
  const len = bounds[bounds.length - 1];
  const cuts = new Set([0, len]);
  for (let i = int(5); i > 0; i--) cuts.add(choose());
  const points = [...cuts].sort((x, y) => x - y);
  const json = [];
  for (let i = 0; i < points.length; i++) {
    if (rand() < 0.3) json.push([0, ...randomText(3).split("\n")]);
    if (i + 1 === points.length) break;
    const span = points[i + 1] - points[i];
    const r = rand();
    if (r < 0.45) json.push(span);
    else if (r < 0.65) json.push([span]);
    else json.push([span, ...randomText(3).split("\n")]);
  }
  return ChangeSet.fromJSON(json);
}

function hotPoints(s) {
  const bounds = boundaries(s);
  const hot = [];
  for (let i = 1 + int(3); i > 0; i--) hot.push(pick(bounds));
  return hot;
}

const cases = [];
for (let i = 0; i < CASES; i++) {
  const docStr = randomDoc();
  const doc = textOf(docStr);
  const hot = hotPoints(docStr);
  const a = randomChanges(docStr, hot);
  const b = randomChanges(docStr, hot);
  const docA = a.apply(doc);
  const c = randomChanges(docA.toString(), hotPoints(docA.toString()));
  const positions = [];
  for (let k = Math.min(6, doc.length + 1); k > 0; k--) {
    // Any offset, including ones inside a surrogate pair: mapPos is pure
    // arithmetic.
    const pos = int(doc.length + 1);
    positions.push([pos, a.mapPos(pos, -1), a.mapPos(pos, 1)]);
  }
  cases.push({
    doc: docStr,
    a: a.toJSON(),
    b: b.toJSON(),
    c: c.toJSON(),
    applyA: docA.toString(),
    applyB: b.apply(doc).toString(),
    composeAC: a.compose(c).toJSON(),
    applyAC: c.apply(docA).toString(),
    mapAB: a.map(b).toJSON(),
    mapABBefore: a.map(b, true).toJSON(),
    mapBA: b.map(a).toJSON(),
    mapBABefore: b.map(a, true).toJSON(),
    mapPosA: positions,
  });
}

// Server-side rebase of a client's pushed updates over what was accepted
// since their base version, as the server must do it: collab's
// rebaseUpdates called once per accepted update, so nothing is composed
// and already accepted updates of the client (same clientID, in order) are
// dropped.
function serverRebase(pushed, accepted) {
  let ups = pushed;
  for (const a of accepted) ups = rebaseUpdates(ups, [a]);
  return ups;
}

const wire = (u) => ({ clientID: u.clientID, changes: u.changes.toJSON() });

// A client "me" made one to three updates from doc; meanwhile the server
// accepted foreign updates and possibly some of "me"'s (as after a lost
// acknowledgement). The case records what the server must do with the
// whole pushed list.
const rebaseCases = [];
for (let i = 0; i < REBASE_CASES; i++) {
  const docStr = randomDoc();
  const hot = hotPoints(docStr);
  const pushed = [];
  let clientDoc = textOf(docStr);
  for (let n = 1 + int(3); n > 0; n--) {
    const changes = randomChanges(clientDoc.toString(), hot);
    pushed.push({ clientID: "me", changes });
    clientDoc = changes.apply(clientDoc);
  }
  const accepted = [];
  let serverDoc = textOf(docStr);
  let own = 0;
  for (let n = int(6); n > 0; n--) {
    let update;
    if (own < pushed.length && rand() < 0.3) {
      // Accept the next own update the way the server would.
      update = serverRebase(pushed.slice(0, own + 1), accepted)[0];
      own++;
    } else {
      const s = serverDoc.toString();
      update = { clientID: pick(["o1", "o2"]), changes: randomChanges(s, hot) };
    }
    accepted.push(update);
    serverDoc = update.changes.apply(serverDoc);
  }
  const result = serverRebase(pushed, accepted);
  let finalDoc = serverDoc;
  for (const u of result) finalDoc = u.changes.apply(finalDoc);
  rebaseCases.push({
    doc: docStr,
    pushed: pushed.map(wire),
    accepted: accepted.map(wire),
    result: result.map(wire),
    final: finalDoc.toString(),
  });
}

// One case per line: each nested value is then exactly the bytes
// JSON.stringify(changeSet.toJSON()) gives, which the Go side compares.
const out =
  `{"generator":"web/scripts/ot-vectors.mjs","codemirrorState":"${STATE_VERSION}",` +
  `"codemirrorCollab":"${COLLAB_VERSION}","seed":${SEED},"cases":[\n` +
  cases.map((c) => JSON.stringify(c)).join(",\n") +
  '\n],"rebaseCases":[\n' +
  rebaseCases.map((c) => JSON.stringify(c)).join(",\n") +
  "\n]}\n";
const path = process.argv[2];
if (!path) {
  process.stderr.write("usage: node ot-vectors.mjs OUTPUT.json.gz\n");
  process.exit(2);
}
// Stored gzip-compressed (1.4 MB of JSON is 0.3 MB): no timestamp or name in
// the header, so the same vectors give the same bytes.
writeFileSync(path, gzipSync(out, { level: 9 }));
process.stderr.write(`wrote ${cases.length} + ${rebaseCases.length} cases, ${out.length} bytes to ${path}\n`);
