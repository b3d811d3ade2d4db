// Consent-bound verification (授权核查) in a browser: playwright-core driving
// Debian's Chromium against a running `yizhan serve --demo` (tests/browser/run.sh
// sets YIZHAN_URL, YIZHAN_DATA and YIZHAN_ARTIFACTS).
//
// chen (陈小梅) authorises 民政局 online, at phone width, to run the 低保
// household asset check, reading its questions first and ticking
// 本人已阅读并同意 → wang.mca (1280×800) runs the verification with chen's
// 身份证号 and sees the answers (不动产 1, 机动车 0, 存款 否, 公积金 否 — the
// generator plants these) but no records → chen sees the access in
// /my/data-access, with the department, the registries, the purpose and a
// link to the consent → chen revokes it, and wang.mca is refused with the reason.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
	BASE, PHONE, DESKTOP, credentials, idcardCheck, launchBrowser, closeBrowser, openPage, noProblems, shot,
	path, bodyText as pageText, clickAndLoad, signIn, secondFactor,
} from './lib.mjs';

const CHEN_ID = '44010619900517123' + idcardCheck('44010619900517123');
const QUESTIONS = ['名下不动产数量', '名下机动车数量', '存款余额合计是否达到 30000 元', '住房公积金账户余额是否达到 20000 元'];

before(launchBrowser);
after(closeBrowser);

async function bodyText(page) {
	const text = await pageText(page);
	assert.ok(!/\{\{|\}\}/.test(text), `template text shows on ${path(page)}`);
	return text;
}

async function fitsWidth(page, what) {
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	assert.ok(overflow <= 1, `${what} is ${overflow}px wider than the viewport`);
}

function isoDate(daysFromNow) {
	const d = new Date(Date.now() + daysFromNow * 86400000);
	const p = (n) => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

test('chen consents → wang.mca runs the 低保 verification → chen sees the access, then revokes', async () => {
	const creds = credentials();
	assert.ok(creds.chen && creds['wang.mca']?.totp, 'the demo has chen and wang.mca with a TOTP secret');
	const purpose = `申请最低生活保障（浏览器 ${Date.now() % 100000}）`;
	const citizen = await openPage({ viewport: PHONE, isMobile: true, hasTouch: true });
	const staff = await openPage({ viewport: DESKTOP });
	const cp = citizen.page, sp = staff.page;
	try {
		// ---- chen: from the desk to the consent form
		await signIn(cp, 'chen', creds.chen.password);
		assert.equal(path(cp), '/desk', 'chen is signed in');
		await clickAndLoad(cp, cp.getByRole('link', { name: /我的授权/ }).first());
		assert.equal(path(cp), '/my/consents');
		await clickAndLoad(cp, cp.getByRole('link', { name: '新增授权' }));
		assert.equal(path(cp), '/my/consents/new');
		const form = await bodyText(cp);
		for (const q of QUESTIONS)
			assert.ok(form.includes(q), `the form lists the question ${q}`);
		assert.match(form, /只回答是或否，不告知具体数额/, 'what each question reveals, in plain words');
		assert.match(form, /演示用数值/, 'the thresholds are said to be demo values');
		await fitsWidth(cp, 'the consent form');

		await cp.locator('input[name="template"][value="mca-dibao"]').check();
		await cp.locator('#dept').selectOption('mca');
		await cp.locator('#purpose').fill(purpose);
		await cp.locator('#until').fill(isoDate(30));
		// without the box: refused, naming it
		await clickAndLoad(cp, cp.getByRole('button', { name: '确认授权' }));
		assert.equal(path(cp), '/my/consents');
		assert.match(await bodyText(cp), /请阅读授权内容，并勾选“本人已阅读并同意”/);
		await shot(cp, '30-consent-agree-missing-phone');
		assert.equal(await cp.locator('#purpose').inputValue(), purpose, 'the purpose is kept');
		await cp.locator('#agree').check();
		await shot(cp, '31-consent-form-phone');
		await clickAndLoad(cp, cp.getByRole('button', { name: '确认授权' }));
		assert.equal(path(cp), '/my/consents');
		const list = await bodyText(cp);
		assert.match(list, /授权成功/);
		assert.ok(list.includes(purpose), 'the consent is listed with its purpose');
		const card = cp.locator('section.card', { hasText: purpose });
		assert.match(await card.innerText(), /有效/);
		assert.match(await card.innerText(), /民政局/);
		const consentId = (await card.getAttribute('id')).replace('consent-', '');
		await shot(cp, '32-consents-phone');

		// ---- wang.mca runs the 低保 verification
		await signIn(sp, 'wang.mca', creds['wang.mca'].password);
		await secondFactor(sp, creds['wang.mca'].totp);
		await sp.goto(`${BASE}/share/verify`);
		assert.equal(path(sp), '/share/verify');
		assert.match(await bodyText(sp), /最低生活保障家庭经济状况核对/);
		await sp.locator('#template').selectOption('mca-dibao');
		await sp.locator('#subject').fill(CHEN_ID);
		await shot(sp, '33-verify-form');
		await clickAndLoad(sp, sp.getByRole('button', { name: '核查', exact: true }));
		assert.match(path(sp), /^\/share\/verify\/runs\/\d+$/, `the result page, at ${sp.url()}`);
		const result = await bodyText(sp);
		const answers = {};
		for (const row of await sp.locator('table tbody tr').all()) {
			const cells = await row.locator('td').allInnerTexts();
			answers[cells[0].trim()] = cells[1].trim();
		}
		assert.deepEqual(answers, {
			[QUESTIONS[0]]: '1', [QUESTIONS[1]]: '0', [QUESTIONS[2]]: '否', [QUESTIONS[3]]: '否',
		}, 'the planted answers');
		assert.ok(!result.includes(CHEN_ID), 'the whole 身份证号 is not shown');
		assert.match(result, /440106\*+1236/, 'the masked 身份证号');
		assert.ok(result.includes(purpose), 'the consent\'s purpose on the result');
		assert.match(result, /陈小梅/);
		assert.match(result, /不含任何原始记录/);
		await shot(sp, '34-verify-result');

		// ---- chen: the data tracker
		await cp.goto(`${BASE}/desk`);
		assert.match(await bodyText(cp), /我的数据使用记录/);
		await clickAndLoad(cp, cp.getByRole('link', { name: '我的数据使用记录' }).first());
		assert.equal(path(cp), '/my/data-access');
		const tracker = await bodyText(cp);
		assert.match(tracker, /民政局/);
		for (const q of QUESTIONS)
			assert.ok(tracker.includes(q), `the tracker shows the question ${q}`);
		assert.ok(tracker.includes(purpose), 'the tracker shows the purpose');
		assert.match(tracker, /不动产登记/, 'and the registry');
		const link = cp.locator(`a[href="/my/consents#consent-${consentId}"]`).first();
		assert.match(await link.innerText(), /您的授权/);
		await fitsWidth(cp, 'the tracker');
		await shot(cp, '35-tracker-phone');

		// ---- chen revokes; wang.mca is refused with the reason
		await cp.goto(`${BASE}/my/consents`);
		await clickAndLoad(cp, cp.locator(`form[action="/my/consents/${consentId}/revoke"] button[type="submit"]`));
		assert.match(await cp.locator(`#consent-${consentId}`).innerText(), /已撤回/);
		await shot(cp, '36-consent-revoked-phone');
		await sp.goto(`${BASE}/share/verify`);
		await sp.locator('#subject').fill(CHEN_ID);
		await clickAndLoad(sp, sp.getByRole('button', { name: '核查', exact: true }));
		assert.equal(path(sp), '/share/verify');
		assert.match(await bodyText(sp), /当事人已撤回对本部门该项核查的授权/);
		await shot(sp, '37-verify-refused');

		noProblems(citizen.problems);
		noProblems(staff.problems);
	} finally {
		await citizen.context.close();
		await staff.context.close();
	}
});
