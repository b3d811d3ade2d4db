// Browser journeys: playwright-core driving Debian's Chromium against a
// running `yizhan serve --demo`.  tests/browser/run.sh starts the server and
// sets YIZHAN_URL (base URL), YIZHAN_DATA (its data folder, for
// demo-credentials.txt) and YIZHAN_ARTIFACTS (where screenshots go).
// Each journey runs in its own browser context, so no cookie leaks between them,
// and asserts on what a person sees: visible text and the address bar.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomInt } from 'node:crypto';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = (process.env.YIZHAN_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const DATA = process.env.YIZHAN_DATA;
const ARTIFACTS = process.env.YIZHAN_ARTIFACTS || new URL('./artifacts', import.meta.url).pathname;
mkdirSync(ARTIFACTS, { recursive: true });

// ---------- helpers ----------

// demo-credentials.txt: login password totp-secret-or-"-" role name
function credentials() {
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

let browser;

before(async () => {
	browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
			'--disable-component-update', '--no-first-run', '--disable-sync'],
	});
});

after(async () => {
	await browser?.close();
});

// A fresh context and page; collects script errors, CSP violations and failed
// requests for /static/ so that a journey can check the page was whole.
async function openPage(options = {}) {
	const context = await browser.newContext({
		viewport: { width: 1280, height: 800 },
		locale: 'zh-CN',
		...options,
	});
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

async function shot(page, name, fullPage = true) {
	await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });
}

function path(page) {
	return new URL(page.url()).pathname;
}

async function bodyText(page) {
	return page.locator('body').innerText();
}

// Clicks the submit button of the form posting to `action` (not the sign-out
// form that may share the page).
async function submit(page, action) {
	const form = page.locator(`form[action="${action}"]`);
	await Promise.all([
		page.waitForLoadState('load'),
		form.locator('button[type="submit"], input[type="submit"]').first().click(),
	]);
}

async function signIn(page, login, password) {
	await page.goto(`${BASE}/login`);
	assert.equal(path(page), '/login');
	await page.locator('input[name="login"]').fill(login);
	await page.locator('input[name="password"]').fill(password);
	await submit(page, '/login');
}

async function secondFactor(page, secret) {
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

async function signOut(page) {
	const form = page.locator('form[action="/logout"]').first();
	await Promise.all([page.waitForLoadState('load'), form.locator('button, input[type="submit"]').first().click()]);
}

function noProblems(problems) {
	assert.deepEqual([...new Set(problems)], [], 'no script errors, CSP violations or missing sub-resources');
}

// ---------- journeys ----------

test('citizen signs in through the form, sees the desk on phone and desktop, signs out', async () => {
	const { chen } = credentials();
	const { context, page, problems } = await openPage();
	try {
		await signIn(page, 'chen', chen.password);
		assert.equal(path(page), '/desk');
		const text = await bodyText(page);
		assert.match(text, /陈小梅/);
		assert.match(text, /身份证号/);
		// The identifier is shown masked: region, eight stars, last four.
		assert.match(text, /\d{6}\*{8}\d{3}[\dX]/);
		// The demo seeds chen with 44010619900517123 + check character.
		const full = '44010619900517123' + idcardCheck('44010619900517123');
		assert.ok(text.includes(`440106********123${full[17]}`), 'chen\'s 身份证号 is shown masked');
		assert.ok(!text.includes(full), 'the full 身份证号 is not on the page');

		await page.setViewportSize({ width: 390, height: 844 });
		await shot(page, '01-citizen-desk-phone');
		// On a phone the page fits the width: nothing scrolls sideways.
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		assert.ok(overflow <= 1, `desk is ${overflow}px wider than a 390px phone`);
		await page.setViewportSize({ width: 1280, height: 800 });
		await shot(page, '01-citizen-desk-desktop');

		await signOut(page);
		assert.equal(path(page), '/');
		await shot(page, '01-citizen-signed-out-home');
		assert.ok(await page.getByRole('link', { name: '登录', exact: true }).first().isVisible(),
			'the home page offers 登录 again');
		// The session is gone: the desk now asks to sign in.
		await page.goto(`${BASE}/desk`);
		assert.notEqual(path(page), '/desk');
		noProblems(problems);
	} finally {
		await context.close();
	}
});

test('staff member signs in with password and TOTP code and sees the department role', async () => {
	const creds = credentials()['zhang.amr'];
	assert.ok(creds.totp, 'zhang.amr has a TOTP secret');
	const { context, page, problems } = await openPage();
	try {
		await signIn(page, 'zhang.amr', creds.password);
		await shot(page, '02-staff-totp');
		// Without the code the desk stays closed.
		await page.goto(`${BASE}/desk`);
		assert.notEqual(path(page), '/desk', 'a half-signed-in session does not open the desk');
		await page.goto(`${BASE}/login/totp`);
		await secondFactor(page, creds.totp);
		assert.equal(path(page), '/desk');
		const text = await bodyText(page);
		assert.match(text, /张晓红/);
		assert.match(text, /市场监督管理局/);
		assert.match(text, /工作人员/);
		await shot(page, '02-staff-desk');
		noProblems(problems);
	} finally {
		await context.close();
	}
});

test('a wrong password shows 用户名或密码错误 and keeps the login, not the password', async () => {
	const { context, page, problems } = await openPage();
	try {
		await signIn(page, 'chen', 'not-the-password-123');
		assert.equal(path(page), '/login');
		const text = await bodyText(page);
		assert.match(text, /用户名或密码错误/);
		assert.equal(await page.locator('input[name="login"]').inputValue(), 'chen');
		assert.equal(await page.locator('input[name="password"]').inputValue(), '');
		// Nor is the password anywhere in the HTML sent back.
		assert.ok(!(await page.content()).includes('not-the-password-123'));
		await shot(page, '03-wrong-password');
		noProblems(problems);
	} finally {
		await context.close();
	}
});

test('platform admin signs in with TOTP, lists departments and opens 人员与账号', async () => {
	const creds = credentials().admin;
	const { context, page, problems } = await openPage();
	try {
		await signIn(page, 'admin', creds.password);
		await secondFactor(page, creds.totp);
		assert.equal(path(page), '/desk');
		await Promise.all([page.waitForLoadState('load'),
			page.getByRole('link', { name: '部门管理', exact: true }).first().click()]);
		assert.equal(path(page), '/admin/depts');
		const depts = await bodyText(page);
		assert.match(depts, /部门管理/);
		assert.match(depts, /市场监督管理局/);
		assert.match(depts, /民政局/);
		await shot(page, '04-admin-depts');
		await Promise.all([page.waitForLoadState('load'),
			page.getByRole('link', { name: '人员与账号', exact: true }).first().click()]);
		assert.equal(path(page), '/admin/users');
		const users = await bodyText(page);
		assert.match(users, /人员与账号/);
		assert.match(users, /zhang\.amr|张晓红/);
		await shot(page, '04-admin-users');
		noProblems(problems);
	} finally {
		await context.close();
	}
});

test('a new citizen registers with a valid 身份证号; a wrong check character is refused at the field', async () => {
	// A fresh person born 1985-MM-DD in region 440106, random sequence number.
	const mm = String(randomInt(1, 13)).padStart(2, '0');
	const dd = String(randomInt(1, 29)).padStart(2, '0');
	const first17 = `4401061985${mm}${dd}${randomInt(100, 1000)}`;
	const good = first17 + idcardCheck(first17);
	const bad = first17 + (good[17] === '0' ? '1' : '0');
	const login = `reg${randomInt(100000, 1000000)}`;
	const password = 'Zhuce-mima-2024!';
	const { context, page, problems } = await openPage();
	try {
		const fill = async (id) => {
			await page.goto(`${BASE}/register`);
			assert.equal(path(page), '/register');
			const citizen = page.locator('input[name="kind"][value="citizen"]');
			if (await citizen.count())
				await citizen.check();
			await page.locator('input[name="login"]').fill(login);
			await page.locator('input[name="name"]').fill('林晓东');
			await page.locator('input[name="id_number"]').fill(id);
			await page.locator('input[name="phone"]').fill('13912345678');
			await page.locator('input[name="password"]').fill(password);
			await page.locator('input[name="password2"]').fill(password);
			await submit(page, '/register');
		};

		await fill(bad);
		assert.equal(path(page), '/register', 'the wrong check character keeps the person on the form');
		const text = await bodyText(page);
		assert.match(text, /身份证号校验位错误/);
		// The message sits next to the 身份证号 input: the smallest element holding
		// both the input and the message holds no other input of the form.
		const local = await page.evaluate(() => {
			const input = document.querySelector('input[name="id_number"]');
			for (let el = input.parentElement; el; el = el.parentElement)
				if (el.innerText.includes('校验位错误'))
					return !el.querySelector('input[name="password"], input[name="phone"], input[name="login"]');
			return false;
		});
		assert.ok(local, 'the 身份证号 error is shown at the 身份证号 field');
		assert.equal(await page.locator('input[name="id_number"]').inputValue(), bad, 'what was typed is kept');
		assert.equal(await page.locator('input[name="password"]').inputValue(), '', 'the password is not sent back');
		await shot(page, '05-register-bad-idcard');

		await fill(good);
		assert.equal(path(page), '/desk');
		const desk = await bodyText(page);
		assert.match(desk, /欢迎/);
		assert.match(desk, /林晓东/);
		assert.ok(desk.includes(`${good.slice(0, 6)}********${good.slice(14)}`), 'the new 身份证号 is shown masked');
		assert.ok(!desk.includes(good), 'the full 身份证号 is not shown');
		await shot(page, '05-register-welcome');
		noProblems(problems);
	} finally {
		await context.close();
	}
});

test('signing in and out works with JavaScript disabled', async () => {
	const { chen } = credentials();
	const { context, page } = await openPage({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
	try {
		await signIn(page, 'chen', 'wrong-password-0000');
		assert.match(await bodyText(page), /用户名或密码错误/);
		await page.locator('input[name="password"]').fill(chen.password);
		await submit(page, '/login');
		assert.equal(path(page), '/desk');
		assert.match(await bodyText(page), /陈小梅/);
		await shot(page, '06-nojs-desk-phone');
		await signOut(page);
		assert.equal(path(page), '/');
		assert.ok(await page.getByRole('link', { name: '登录', exact: true }).first().isVisible());
	} finally {
		await context.close();
	}
});
