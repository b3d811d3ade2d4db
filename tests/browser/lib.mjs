// Helpers shared by the browser journeys (login.test.mjs, hall.test.mjs):
// playwright-core driving Debian's Chromium against a running
// `yizhan serve --demo`.  tests/browser/run.sh starts the server and sets
// YIZHAN_URL (base URL), YIZHAN_DATA (its data folder, for
// demo-credentials.txt) and YIZHAN_ARTIFACTS (where screenshots go).
//
// A journey file registers the browser with `before(launchBrowser)` and
// `after(closeBrowser)`; `browser` is then the running Chromium.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const BASE = (process.env.YIZHAN_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const DATA = process.env.YIZHAN_DATA;
export const ARTIFACTS = process.env.YIZHAN_ARTIFACTS || new URL('./artifacts', import.meta.url).pathname;
mkdirSync(ARTIFACTS, { recursive: true });

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

// ---------- demo data, codes and check characters ----------

// demo-credentials.txt: login password totp-secret-or-"-" role name
export function credentials() {
	assert.ok(DATA, 'YIZHAN_DATA must name the demo data folder');
	const creds = {};
	for (const line of readFileSync(join(DATA, 'demo-credentials.txt'), 'utf8').split('\n')) {
		const f = line.trim().split(/\s+/);
		if (f.length >= 3 && f[0])
			creds[f[0]] = { password: f[1], totp: f[2] === '-' ? null : f[2] };
	}
	return creds;
}

function base32Decode(s) {
	const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
	let bits = 0, value = 0;
	const out = [];
	for (const c of s.replace(/=+$/, '').toUpperCase()) {
		const v = alpha.indexOf(c);
		if (v < 0)
			throw new Error(`bad base32 character ${c}`);
		value = (value << 5) | v;
		bits += 5;
		if (bits >= 8) {
			out.push((value >>> (bits - 8)) & 0xff);
			bits -= 8;
		}
	}
	return Buffer.from(out);
}

// RFC 6238 TOTP: HMAC-SHA1, 30 s step, 6 digits.
export function totp(secret, now = Date.now()) {
	const counter = Buffer.alloc(8);
	counter.writeBigUInt64BE(BigInt(Math.floor(now / 1000 / 30)));
	const h = createHmac('sha1', base32Decode(secret)).update(counter).digest();
	const off = h[h.length - 1] & 0x0f;
	const bin = ((h[off] & 0x7f) << 24) | (h[off + 1] << 16) | (h[off + 2] << 8) | h[off + 3];
	return String(bin % 1000000).padStart(6, '0');
}

// GB 11643 check character (ISO 7064 MOD 11-2) of the first 17 digits.
export function idcardCheck(first17) {
	const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
	let sum = 0;
	for (let i = 0; i < 17; i++)
		sum += Number(first17[i]) * w[i];
	return '10X98765432'[sum % 11];
}

// ---------- browser ----------

// A live binding: importers see the browser once launchBrowser has run.
export let browser;

export async function launchBrowser() {
	browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
			'--disable-component-update', '--no-first-run', '--disable-sync'],
	});
}

export async function closeBrowser() {
	await browser?.close();
}

// A fresh context and page; collects script errors, CSP violations and failed
// sub-resources so that a journey can check each page was whole.
export async function openPage(options = {}) {
	const context = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN', ...options });
	context.setDefaultTimeout(10000);
	const page = await context.newPage();
	const problems = [];
	page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
	page.on('console', (m) => {
		// "Failed to load resource" also follows every 4xx page (a form answered
		// 400 with its errors); failed sub-resources are caught below instead.
		if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
			problems.push(`console: ${m.text()}`);
	});
	page.on('response', (r) => {
		if (r.status() >= 400 && !r.request().isNavigationRequest())
			problems.push(`${r.status()} ${new URL(r.url()).pathname}`);
	});
	page.on('requestfailed', (r) => {
		// ERR_ABORTED: the page moved on (a click or goto) before the icon arrived.
		const why = r.failure()?.errorText ?? '';
		if (!why.includes('ERR_ABORTED'))
			problems.push(`failed ${new URL(r.url()).pathname}: ${why}`);
	});
	return { context, page, problems };
}

export function noProblems(problems) {
	assert.deepEqual([...new Set(problems)], [], 'no script errors, CSP violations or missing sub-resources');
}

export async function shot(page, name, fullPage = true) {
	await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });
}

export function path(page) {
	return new URL(page.url()).pathname;
}

export async function bodyText(page) {
	return page.locator('body').innerText();
}

// ---------- forms and signing in ----------

// Clicks `button` and waits for the page it leads to (a new document's load).
export async function clickAndLoad(page, button) {
	await Promise.all([page.waitForEvent('load'), button.click()]);
}

// Clicks the submit button of the form posting to `action` (not the sign-out
// form that may share the page).
export async function submit(page, action) {
	const form = page.locator(`form[action="${action}"]`);
	await clickAndLoad(page, form.locator('button[type="submit"], input[type="submit"]').first());
}

export async function signIn(page, login, password) {
	await page.goto(`${BASE}/login`);
	assert.equal(path(page), '/login');
	await page.locator('input[name="login"]').fill(login);
	await page.locator('input[name="password"]').fill(password);
	await submit(page, '/login');
}

export async function secondFactor(page, secret) {
	assert.equal(path(page), '/login/totp', `after the password a staff member is asked for a code, at ${page.url()}`);
	assert.match(await bodyText(page), /动态验证码/);
	// Too close to the end of a 30 s step the code may go stale in flight.
	if (Date.now() % 30000 > 28000)
		await new Promise((r) => setTimeout(r, 30000 - (Date.now() % 30000) + 200));
	const step = Math.floor(Date.now() / 30000);
	await page.locator('input[name="code"]').fill(totp(secret));
	await submit(page, '/login/totp');
	// A code is taken once: when another journey (the other test file) signed
	// this person in within the same 30 s step, wait for the next code.
	if (path(page) === '/login/totp') {
		await new Promise((r) => setTimeout(r, Math.max(0, (step + 1) * 30000 - Date.now()) + 200));
		await page.locator('input[name="code"]').fill(totp(secret));
		await submit(page, '/login/totp');
	}
}
