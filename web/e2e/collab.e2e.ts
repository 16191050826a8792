import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startServer, type RunningServer } from "./server";

// End-to-end: real server, Debian's chromium, two (then three) people in
// separate browser contexts. Screenshots go to web/test-results/.
const SHOTS = join(import.meta.dirname, "..", "test-results");
// A missing browser is a failure, never a skip: CI sets CODEBUDDY_TEST_CHROMIUM.
const CHROMIUM = process.env.CODEBUDDY_TEST_CHROMIUM || "/usr/bin/chromium";
const CHROME_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let server: RunningServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const consoleErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM} (set CODEBUDDY_TEST_CHROMIUM)`);
  server = await startServer();
  // launch() gives chromium a fresh temporary profile of its own each run.
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROME_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 800 } };
// iPhone 12-14 class screen: 390x844 CSS pixels, touch, mobile layout viewport.
const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true };

async function signUp(name: string, options = DESKTOP): Promise<Page> {
  const context = await browser.newContext(options);
  contexts.push(context);
  const page = await context.newPage();
  page.on("pageerror", (e) => consoleErrors.push(`${name}: ${e.message}`));
  await page.goto(`${server.url}/signup`);
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Your sessions" }).waitFor();
  await page.evaluate(() => localStorage.setItem("codebuddy.onboarded", "1"));
  return page;
}

/** The document text as CodeMirror holds it (cursor labels are widgets, not text). */
function docText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const content = document.querySelector(".cm-content")!.cloneNode(true) as HTMLElement;
    content.querySelectorAll(".cm-remoteCaret").forEach((e) => e.remove());
    return [...content.querySelectorAll(".cm-line")].map((l) => l.textContent).join("\n");
  });
}

async function invite(owner: Page, sessionId: string, role: "editor" | "viewer"): Promise<string> {
  const body = await owner.evaluate(
    async ([id, r]) => {
      const res = await fetch(`/api/sessions/${id}/invites`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ role: r }) });
      return (await res.json()) as { token: string };
    },
    [sessionId, role] as const,
  );
  return body.token;
}

/** The session's one file as the server stores it (GET /api/files/{id}), fetched with page's cookie. */
function serverText(page: Page, sessionId: string): Promise<string> {
  return page.evaluate(async (id) => {
    type Entry = { id: string; isFolder: boolean };
    const body = (await (await fetch(`/api/sessions/${id}/files`)).json()) as Entry[] | Record<string, Entry[]>;
    const files = Array.isArray(body) ? body : (Object.values(body).find(Array.isArray) ?? []);
    const file = files.find((f) => !f.isFolder);
    if (!file) throw new Error("session has no file");
    return ((await (await fetch(`/api/files/${file.id}`)).json()) as { content: string }).content;
  }, sessionId);
}

/** page's People list shows name as connected now. */
async function seesOnline(page: Page, name: string) {
  await expect
    .poll(() => page.locator(".participants li").filter({ hasText: name }).innerText(), { timeout: 15_000 })
    .toMatch(/· online$/);
}

async function saved(page: Page) {
  await page.waitForFunction(() => document.querySelector(".connection")?.textContent === "All changes saved", null, { timeout: 20_000 });
}

describe("two people in one session", () => {
  const suffix = Math.random().toString(36).slice(2, 7);
  let ann: Page;
  let bob: Page;
  let sessionId = "";

  test("ann creates a Python session and shares it; bob joins through the link", async () => {
    ann = await signUp(`ann_${suffix}`);
    await ann.getByRole("button", { name: "New session" }).click();
    await ann.getByLabel("Name").fill("Pairing");
    await ann.getByLabel("Language").selectOption("python");
    await ann.getByRole("button", { name: "Create session" }).click();
    await ann.locator(".cm-content").waitFor();
    sessionId = new URL(ann.url()).pathname.split("/").pop()!;

    bob = await signUp(`bob_${suffix}`);
    await bob.goto(`${server.url}/invite/${await invite(ann, sessionId, "editor")}`);
    await bob.locator(".cm-content").waitFor();
    expect(new URL(bob.url()).pathname).toBe(`/s/${sessionId}`);
  });

  test("typing at the same time, emoji included, converges", async () => {
    await ann.locator(".cm-content").click();
    await ann.keyboard.press("Control+End");
    await bob.locator(".cm-content").click();
    await bob.keyboard.press("Control+Home");
    await Promise.all([ann.keyboard.type("\nprint('ann 😀 says hi')"), bob.keyboard.type("# bob 🌍 was here\n")]);
    await saved(ann);
    await saved(bob);
    await expect.poll(() => docText(ann)).toBe(await docText(bob));
    const text = await docText(ann);
    expect(text).toContain("print('ann 😀 says hi')");
    expect(text).toContain("# bob 🌍 was here");
    await expect.poll(() => serverText(bob, sessionId)).toBe(text);
  });

  test("each sees the other online in the People list", async () => {
    await seesOnline(ann, `bob_${suffix}`);
    await seesOnline(bob, `ann_${suffix}`);
  });

  test("each sees the other's cursor labelled with their name", async () => {
    await expect.poll(() => ann.locator(".cm-remoteCaretLabel").allInnerTexts()).toEqual([`bob_${suffix}`]);
    await bob.keyboard.press("ArrowRight");
    await ann.keyboard.press("ArrowLeft");
    await expect.poll(() => bob.locator(".cm-remoteCaretLabel").allInnerTexts()).toEqual([`ann_${suffix}`]);
  });

  test("chat reaches the other side", async () => {
    await bob.getByLabel("Message", { exact: true }).fill("ready when you are");
    await bob.getByLabel("Message", { exact: true }).press("Enter");
    await ann.getByRole("log", { name: "Chat messages" }).getByText("ready when you are").waitFor();
  });

  test("Ctrl+Enter in the editor runs the program (and inserts nothing); both see the output", async () => {
    const before = await docText(ann);
    await ann.locator(".cm-content").click();
    await ann.keyboard.press("Control+Enter");
    for (const page of [ann, bob]) {
      await page.locator(".output").getByText("ann 😀 says hi").waitFor({ timeout: 60_000 });
    }
    await expect.poll(() => ann.locator(".run-status").innerText()).toMatch(/^Success/);
    expect(await docText(ann)).toBe(before);
    await ann.screenshot({ path: join(SHOTS, "ann-after-run.png") });
    await bob.screenshot({ path: join(SHOTS, "bob-after-run.png") });
  });

  test("bob goes offline mid-edit, comes back, and nothing is lost", async () => {
    await bob.context().setOffline(true);
    await expect.poll(() => bob.locator(".connection").innerText()).toMatch(/^Offline/);
    await bob.locator(".cm-content").click();
    await bob.keyboard.press("Control+End");
    await bob.keyboard.type("\n# written on the train ✈️");
    await ann.locator(".cm-content").click();
    await ann.keyboard.press("Control+Home");
    await ann.keyboard.type("# meanwhile at home\n");
    await bob.screenshot({ path: join(SHOTS, "bob-offline.png") });
    // Offline really cut bob off: ann has her own line but not his yet.
    await expect.poll(() => docText(ann)).toContain("# meanwhile at home");
    expect(await docText(ann)).not.toContain("on the train");
    await bob.context().setOffline(false);
    await saved(bob);
    await saved(ann);
    await expect.poll(() => docText(ann)).toBe(await docText(bob));
    const text = await docText(ann);
    expect(text).toContain("# written on the train ✈️");
    expect(text).toContain("# meanwhile at home");
    await expect.poll(() => serverText(ann, sessionId)).toBe(text);
  });

  test("text in the Input tab is the program's standard input", async () => {
    await ann.locator(".cm-content").click();
    await ann.keyboard.press("Control+End");
    await ann.keyboard.type("\nprint('got', input())");
    await saved(ann);
    await ann.getByRole("tab", { name: "Input (stdin)" }).click();
    await ann.getByLabel("Input given to the program when it starts").fill("42");
    await ann.getByRole("button", { name: "▶ Run" }).click();
    await ann.locator(".output").getByText("got 42").waitFor({ timeout: 60_000 });
    await bob.locator(".output").getByText("got 42").waitFor({ timeout: 60_000 });
  });

  test("a phone-sized screen can open the session and edit", async () => {
    const pat = await signUp(`pat_${suffix}`, PHONE);
    await pat.goto(`${server.url}/invite/${await invite(ann, sessionId, "editor")}`);
    await pat.locator(".cm-content").waitFor();
    await pat.locator(".cm-content").click();
    await pat.keyboard.press("Control+End");
    await pat.keyboard.type("\n# from a phone 📱");
    await saved(pat);
    await expect.poll(() => docText(ann)).toContain("# from a phone 📱");
    await pat.screenshot({ path: join(SHOTS, "phone.png") });
    await expect.poll(() => serverText(pat, sessionId)).toContain("# from a phone 📱");
    await pat.getByRole("button", { name: "Chat", exact: true }).click();
    await pat.getByRole("log", { name: "Chat messages" }).getByText("ready when you are").waitFor();
  });

  test("someone without access asks, the owner accepts, and they can open it", async () => {
    const eve = await signUp(`eve_${suffix}`);
    await eve.goto(`${server.url}/s/${sessionId}`);
    await eve.getByRole("heading", { name: "You don’t have access to this session" }).waitFor();
    await eve.getByRole("button", { name: "Request access" }).click();
    await eve.getByText("Request sent.").waitFor();

    await ann.getByRole("button", { name: /^Requests \(1\)$/ }).click({ timeout: 20_000 });
    await ann.getByRole("button", { name: "Accept as editor" }).click();
    await ann.getByRole("button", { name: "Close" }).click();

    await eve.reload();
    await eve.locator(".cm-content").waitFor();
    await expect.poll(() => docText(eve)).toContain("# from a phone 📱");
  });

  test("a fifth tab of one account is told to close one, and gets in once one closes", async () => {
    const kim = await signUp(`kim_${suffix}`);
    await kim.goto(`${server.url}/invite/${await invite(ann, sessionId, "editor")}`);
    await kim.locator(".cm-content").waitFor();
    await saved(kim);
    const tabs = [kim];
    const openTab = async () => {
      const page = await kim.context().newPage();
      page.on("pageerror", (e) => consoleErrors.push(`kim tab: ${e.message}`));
      await page.goto(`${server.url}/s/${sessionId}`);
      return page;
    };
    for (let i = 0; i < 3; i++) {
      const page = await openTab();
      await saved(page); // joined: one of the account's four connections
      tabs.push(page);
    }
    const fifth = await openTab();
    await fifth.getByRole("status").filter({ hasText: "too many tabs open for your account; close one to reconnect" }).waitFor({ timeout: 20_000 });
    await fifth.screenshot({ path: join(SHOTS, "too-many-tabs.png") });
    await tabs.pop()!.close();
    // It retries at the backoff cap (7.5-15 s), then joins and can edit.
    await fifth.waitForFunction(() => document.querySelector(".connection")?.textContent === "All changes saved", null, { timeout: 40_000 });
    await fifth.locator(".cm-content").click();
    await fifth.keyboard.press("Control+End");
    await fifth.keyboard.type("\n# from the fifth tab");
    await expect.poll(() => docText(ann), { timeout: 20_000 }).toContain("# from the fifth tab");
  });

  test("no page threw an uncaught error", () => {
    expect(consoleErrors).toEqual([]);
  });
});
