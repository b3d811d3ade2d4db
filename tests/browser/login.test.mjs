// Browser journeys: playwright-core driving Debian's Chromium against a
// running `yizhan serve --demo`.  tests/browser/run.sh starts the server and
// sets YIZHAN_URL (base URL), YIZHAN_DATA (its data folder, for
// demo-credentials.txt) and YIZHAN_ARTIFACTS (where screenshots go).
// Each journey runs in its own browser context, so no cookie leaks between them,
// and asserts on what a person sees: visible text and the address bar.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import {
	BASE, credentials, idcardCheck, launchBrowser, closeBrowser, openPage, noProblems,
	shot, path, bodyText, submit, signIn, secondFactor,
} from './lib.mjs';

before(launchBrowser);
after(closeBrowser);

// ---------- helpers ----------

async function signOut(page) {
	const form = page.locator('form[action="/logout"]').first();
	await Promise.all([page.waitForLoadState('load'), form.locator('button, input[type="submit"]').first().click()]);
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
