// 数据比对 in a browser: the platform admin runs the demo comparison (法人库
// legal_rep_id ↔ 人口库 id_no, legal_rep_name = name) from the form, waits for
// the job, and reads the report: exactly the generator's planted discrepancies
// (YIZHAN_DEMO_PERSONS=2000: 1 legal representative missing from the population,
// 2 names differing), every task routed to 公安局.  Then zhao.psb (公安局) finds
// the tasks on the department's list and closes one as fixed, with a note.
// Screenshots go to YIZHAN_ARTIFACTS (tests/browser/run.sh).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
	BASE, PHONE, credentials, launchBrowser, closeBrowser, openPage, noProblems, shot, path, bodyText,
	clickAndLoad, signIn, secondFactor, submit,
} from './lib.mjs';

const PERSONS = 2000;
const MISSING = Math.max(1, Math.floor(PERSONS / 2000));
const NAMES = Math.max(1, Math.floor(PERSONS / 1000));

before(launchBrowser);
after(closeBrowser);

function noTemplateText(text, where) {
	assert.ok(!/\{\{|\}\}/.test(text), `template text shows on ${where}`);
}

test('admin runs the comparison, sees the planted discrepancies and tasks routed to 公安局; psb closes one', async (t) => {
	const creds = credentials();
	const { context, page, problems } = await openPage();
	let runPath;
	try {
		await signIn(page, 'admin', creds.admin.password);
		await secondFactor(page, creds.admin.totp);

		await t.test('the form offers the demo comparison', async () => {
			await page.goto(`${BASE}/share/compare`);
			assert.equal(path(page), '/share/compare');
			const text = await bodyText(page);
			assert.match(text, /数据比对/);
			noTemplateText(text, '/share/compare');
			assert.equal(await page.locator('#registry_a').inputValue(), 'enterprise');
			assert.equal(await page.locator('#key_a').inputValue(), 'legal_rep_id');
			assert.equal(await page.locator('#registry_b').inputValue(), 'population');
			assert.equal(await page.locator('#map').inputValue(), 'legal_rep_name=name');
			assert.equal(await page.locator('#only_a').isChecked(), true);
			assert.equal(await page.locator('#only_b').isChecked(), false);
			assert.equal(await page.locator('#tasks').isChecked(), true);
			await shot(page, 'share-compare-form');
		});

		await t.test('a mistyped field is refused by the field, nothing queued', async () => {
			await page.locator('#map').fill('legal_rep_name=nmae');
			await submit(page, '/share/compare');
			assert.equal(path(page), '/share/compare');
			const text = await bodyText(page);
			assert.match(text, /提交未成功/);
			assert.match(text, /“nmae” 不是 人口基础信息库 的字段/);
			await shot(page, 'share-compare-error');
			await page.locator('#map').fill('legal_rep_name=name');
			await page.locator('#deadline_days').fill('10');
		});

		await t.test('the comparison runs as a job and its report shows exactly the planted', async () => {
			await submit(page, '/share/compare');
			runPath = path(page);
			assert.match(runPath, /^\/share\/compare\/runs\/\d+$/);
			for (let i = 0; i < 120; i++) {
				if (/已完成/.test(await page.locator('[data-run-state]').innerText()))
					break;
				await new Promise((r) => setTimeout(r, 500));
				await page.reload();
			}
			assert.match(await page.locator('[data-run-state]').innerText(), /已完成/);
			assert.equal((await page.locator('[data-count="only_a"]').innerText()).trim(), String(MISSING));
			assert.equal((await page.locator('[data-count="mismatch"]').innerText()).trim(), String(NAMES));
			assert.equal((await page.locator('[data-count="only_b"]').innerText()).trim(), '未报告');
			const depts = page.locator('tr[data-dept]');
			assert.equal(await depts.count(), 1, 'one department gets the tasks');
			assert.equal(await depts.first().getAttribute('data-dept'), '公安局');
			assert.match(await depts.first().innerText(), new RegExp(`公安局\\s+${MISSING + NAMES}\\s+${MISSING + NAMES}`));
			assert.equal(await page.locator('tr.compare-item').count(), MISSING + NAMES);
			assert.equal(await page.locator('tr.compare-item[data-kind="only_a"]').count(), MISSING);
			const text = await bodyText(page);
			noTemplateText(text, runPath);
			assert.match(text, /待核查/);
			assert.match(text, /个人信息已按规定屏蔽显示/);
			await shot(page, 'share-compare-report');
		});

		await t.test('the report reads on a phone', async () => {
			const phone = await context.browser().newContext({ viewport: PHONE, locale: 'zh-CN',
				storageState: await context.storageState() });
			const pp = await phone.newPage();
			await pp.goto(`${BASE}${runPath}`);
			assert.match(await bodyText(pp), /数据比对报告/);
			await shot(pp, 'share-compare-report-phone');
			await phone.close();
		});
		noProblems(problems);
	} finally {
		await context.close();
	}

	const psb = await openPage();
	try {
		const { page: pp } = psb;
		await signIn(pp, 'zhao.psb', creds['zhao.psb'].password);
		await secondFactor(pp, creds['zhao.psb'].totp);
		await t.test('公安局 sees the tasks with their deadlines', async () => {
			await pp.goto(`${BASE}/share/tasks`);
			const text = await bodyText(pp);
			assert.match(text, /数据质量任务：公安局/);
			assert.ok(await pp.locator('tr.dq-task').count() >= MISSING + NAMES);
			assert.match(text, /不一致/);
			await shot(pp, 'share-tasks-psb');
		});
		await t.test('a task is closed as fixed with a note', async () => {
			const link = pp.locator('tr.dq-task a', { hasText: '不一致' }).first();
			await clickAndLoad(pp, link);
			assert.match(path(pp), /^\/share\/tasks\/\d+$/);
			const key = (await pp.locator('[data-task-key]').innerText()).trim();
			assert.match(key, /^\d{17}[\dX]$/, 'the department sees the identifier whole');
			await pp.locator('#note').fill('已核对户籍档案，通知市场监督管理局更正法定代表人姓名。');
			await clickAndLoad(pp, pp.getByRole('button', { name: '标记为已更正' }));
			assert.match(await bodyText(pp), /已处理，任务已办结/);
			assert.match(await pp.locator('[data-task-state]').innerText(), /已更正/);
			await shot(pp, 'share-task-fixed');
		});
		noProblems(psb.problems);
	} finally {
		await psb.context.close();
	}
});
