// A department requesting and receiving a grant, in a browser (issue 4, "done when"):
// wang.mca of 民政局 (phone width) asks 公安局 for two fields of 人口基础信息库 — sees the
// 不予共享 field with its legal basis, is told about a too-short purpose by the field —
// → zhao.psb of 公安局 (desktop) finds the request on the desk, refuses to reject
// without a reason, then approves → wang.mca sees the approved request and the grant
// among the department's grants.  Screenshots go to the artifacts folder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
	BASE, PHONE, credentials, launchBrowser, closeBrowser, openPage, noProblems, shot, path, bodyText,
	clickAndLoad, submit, signIn, secondFactor,
} from './lib.mjs';

before(launchBrowser);
after(closeBrowser);

const PURPOSE = '临时救助对象出生日期核验';

test('mca requests population fields, psb approves, mca sees the grant', async () => {
	const creds = credentials();

	// ---- wang.mca asks for 性别 and 出生日期 at phone width
	const w = await openPage({ viewport: PHONE });
	await signIn(w.page, 'wang.mca', creds['wang.mca'].password);
	await secondFactor(w.page, creds['wang.mca'].totp);
	await w.page.goto(`${BASE}/share/requests/new`);
	assert.match(await bodyText(w.page), /申请共享数据/);
	await w.page.locator('select[name="registry"]').selectOption('population');
	await clickAndLoad(w.page, w.page.locator('form[action="/share/requests/new"] button[type="submit"]').first());
	let text = await bodyText(w.page);
	assert.match(text, /人口基础信息库/);
	assert.match(text, /不予共享/, 'the 不予共享 field is listed');
	assert.match(text, /个人信息保护法/, 'with its legal basis');
	assert.equal(await w.page.locator('input[name="f_phone"]').count(), 0, 'phone cannot be requested');
	await w.page.locator('#f_sex').check();
	await w.page.locator('#f_birth_date').check();
	await w.page.locator('#purpose').fill('核验');
	await w.page.locator('#days').fill('30');
	await shot(w.page, 'share-grant-1-form');
	await submit(w.page, '/share/requests/new');
	text = await bodyText(w.page);
	assert.match(text, /提交未成功/, 'a too-short purpose is refused');
	assert.match(text, /用途/);
	assert.ok(await w.page.locator('#f_sex').isChecked(), 'the choices are kept');
	await w.page.locator('#purpose').fill(PURPOSE);
	await submit(w.page, '/share/requests/new');
	assert.match(path(w.page), /^\/share\/requests\/\d+$/, `on the request page, at ${w.page.url()}`);
	const requestPath = path(w.page);
	text = await bodyText(w.page);
	assert.match(text, /申请已提交/);
	assert.match(text, /待审批/);
	assert.match(text, /性别、出生日期/);
	await shot(w.page, 'share-grant-2-submitted');
	noProblems(w.problems);

	// ---- zhao.psb finds it on the desk and decides
	const z = await openPage();
	await signIn(z.page, 'zhao.psb', creds['zhao.psb'].password);
	await secondFactor(z.page, creds['zhao.psb'].totp);
	await z.page.goto(`${BASE}/desk`);
	assert.match(await bodyText(z.page), /待审批的数据共享申请/, 'the desk shows pending requests');
	await z.page.goto(`${BASE}/share/requests`);
	assert.match(await bodyText(z.page), new RegExp(PURPOSE));
	await shot(z.page, 'share-grant-3-incoming');
	await z.page.goto(`${BASE}${requestPath}`);
	await clickAndLoad(z.page, z.page.locator('#reject'));
	assert.match(await bodyText(z.page), /不同意时须说明理由/, 'a rejection needs a reason');
	await z.page.goto(`${BASE}${requestPath}`);
	await clickAndLoad(z.page, z.page.locator('#approve'));
	text = await bodyText(z.page);
	assert.match(text, /已同意，授权已生效/);
	assert.match(text, /已同意/);
	await shot(z.page, 'share-grant-4-approved');
	noProblems(z.problems);

	// ---- wang.mca sees the decision and the grant
	await w.page.goto(`${BASE}${requestPath}`);
	text = await bodyText(w.page);
	assert.match(text, /已同意/);
	assert.match(text, /同意共享/, 'the decision is on the timeline');
	await w.page.goto(`${BASE}/share/grants`);
	text = await bodyText(w.page);
	assert.match(text, /本部门获得的授权/);
	assert.match(text, new RegExp(PURPOSE), 'the new grant is listed');
	assert.match(text, /性别、出生日期/);
	await shot(w.page, 'share-grant-5-grants');
	noProblems(w.problems);
	await w.context.close();
	await z.context.close();
});
