// The service hall's whole journey in a browser: playwright-core driving
// Debian's Chromium against a running `yizhan serve --demo` (tests/browser/run.sh
// sets YIZHAN_URL, YIZHAN_DATA and YIZHAN_ARTIFACTS, as for login.test.mjs).
//
// The enterprise huaxin applies for 企业设立登记 of 市场监督管理局 with its five
// materials → zhang.amr sends it back with a one-time list (一次性告知) → huaxin
// uploads the missing material and resubmits → zhang.amr accepts, reviews and
// approves → huaxin downloads the 营业执照 PDF, opens the verification page its
// QR code points to, and rates the service.  The applicant works at phone
// width (390×844), the staff member at 1280×800.  Every step asserts what a
// person sees: visible text and the address bar.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { join } from 'node:path';
import {
	BASE, ARTIFACTS, PHONE, DESKTOP, browser, credentials, idcardCheck, launchBrowser, closeBrowser,
	openPage, noProblems, shot, path, bodyText as pageText, clickAndLoad, signIn, secondFactor,
} from './lib.mjs';

const ITEM = 'amr-qysl';                 // 企业设立登记 (src/apps/hall/demo.c)

// ---------- material files made here ----------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
	let c = n;
	for (let k = 0; k < 8; k++)
		c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
	return c >>> 0;
});

function crc32(buf) {
	let c = 0xffffffff;
	for (const b of buf)
		c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
	return (c ^ 0xffffffff) >>> 0;
}

// A valid w×h RGB PNG of one colour: a "scan" of a paper.
function png(w = 8, h = 8, rgb = [0x1f, 0x5f, 0xbf]) {
	const chunk = (type, data) => {
		const len = Buffer.alloc(4);
		len.writeUInt32BE(data.length);
		const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
		const crc = Buffer.alloc(4);
		crc.writeUInt32BE(crc32(td));
		return Buffer.concat([len, td, crc]);
	};
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(w, 0);
	ihdr.writeUInt32BE(h, 4);
	ihdr[8] = 8;   // bit depth
	ihdr[9] = 2;   // colour type: RGB
	const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: w }, () => rgb).flat())]);
	const raw = Buffer.concat(Array.from({ length: h }, () => row));
	return Buffer.concat([
		Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
	]);
}

// A minimal valid one-page PDF with a line of text, its xref offsets right.
function pdf(text) {
	const stream = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
	const objs = [
		'<< /Type /Catalog /Pages 2 0 R >>',
		'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
		'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
		`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
		'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
	];
	let out = '%PDF-1.4\n';
	const offsets = [];
	objs.forEach((o, i) => {
		offsets.push(out.length);
		out += `${i + 1} 0 obj\n${o}\nendobj\n`;
	});
	const xref = out.length;
	out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`;
	for (const off of offsets)
		out += `${String(off).padStart(10, '0')} 00000 n \n`;
	out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
	return Buffer.from(out, 'latin1');
}

// ---------- browser ----------

before(launchBrowser);
after(closeBrowser);

// The page's visible text; no template syntax may show through (a comment
// closed early by a "}}" inside it prints the rest of it).
async function bodyText(page) {
	const text = await pageText(page);
	assert.ok(!/\{\{|\}\}/.test(text), `template text shows on ${path(page)}: ${text.match(/.{0,40}(\{\{|\}\}).{0,40}/s)?.[0]}`);
	return text;
}

// On a phone the page fits the width: nothing scrolls sideways.
async function fitsWidth(page, what) {
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	assert.ok(overflow <= 1, `${what} is ${overflow}px wider than the ${page.viewportSize().width}px viewport`);
}

// The staff page's form of one action (one form per transition).
function actionForm(page, id, action) {
	return page.locator(`form[action="/hall/cases/${id}/handle"]`)
		.filter({ has: page.locator(`input[name="action"][value="${action}"]`) });
}

async function staffAct(page, id, action, fields = {}) {
	const form = actionForm(page, id, action);
	assert.equal(await form.count(), 1, `the staff page offers ${action}`);
	for (const [name, value] of Object.entries(fields))
		await form.locator(`[name="${name}"]`).fill(value);
	await clickAndLoad(page, form.locator('button[type="submit"]'));
	assert.equal(path(page), `/hall/cases/${id}`, `after ${action} the staff page is shown again`);
}

// The badge of a case's state on its page (applicant's or staff's).
async function stateBadge(page) {
	return (await page.locator('.guide-tags .badge').first().innerText()).trim();
}

function pdftotext(file) {
	try {
		return execFileSync('pdftotext', ['-enc', 'UTF-8', '-layout', file, '-'], { encoding: 'utf8' });
	} catch (e) {
		if (e.code === 'ENOENT')
			return null;
		throw e;
	}
}

// ---------- journeys ----------

test('citizen applies with materials → sent back → completes → approved → licence downloaded and verified → rated', async (t) => {
	const creds = credentials();
	assert.ok(creds.huaxin && creds['zhang.amr']?.totp, 'the demo has huaxin and zhang.amr with a TOTP secret');
	const company = `示范市一站云帆${randomInt(1000, 10000)}科技有限公司`;
	const first17 = `44010619880612${randomInt(100, 1000)}`;
	const legalRepId = first17 + idcardCheck(first17);
	const opinion = '材料齐全，符合法定形式，准予设立登记。';
	const missingNote = '住所使用证明：请提交房屋租赁合同原件的扫描件（复印件不予受理）';

	const citizen = await openPage({ viewport: PHONE, isMobile: true, hasTouch: true });
	const staff = await openPage({ viewport: DESKTOP });
	const cp = citizen.page, sp = staff.page;
	try {
		// ---- huaxin finds the item in the catalogue and opens its guide
		await signIn(cp, 'huaxin', creds.huaxin.password);
		assert.equal(path(cp), '/desk', 'huaxin is signed in');
		await cp.goto(`${BASE}/hall`);
		assert.equal(path(cp), '/hall');
		assert.match(await bodyText(cp), /网上办事/);
		await cp.locator('#q').fill('企业设立');
		await clickAndLoad(cp, cp.locator('form[action="/hall"] button[type="submit"]'));
		assert.equal(path(cp), '/hall');
		assert.match(await cp.locator('.result-count').innerText(), /找到\s*\d+\s*个事项/);
		await clickAndLoad(cp, cp.locator('.item-list').getByRole('link', { name: '企业设立登记', exact: true }));
		assert.equal(path(cp), `/hall/items/${ITEM}`);
		const guide = await bodyText(cp);
		assert.match(guide, /市场监督管理局/);
		assert.match(guide, /营业执照/, 'the guide names the result: 营业执照');
		assert.match(guide, /住所使用证明/);

		// ---- 在线申请: the form and the five materials
		await clickAndLoad(cp, cp.getByRole('link', { name: '在线申请', exact: true }));
		assert.equal(path(cp), `/hall/items/${ITEM}/apply`);
		assert.match(await cp.locator('h1').innerText(), /在线申请：企业设立登记/);
		await cp.locator('#company_name').fill(company);
		await cp.locator('#legal_rep').fill('林志远');
		await cp.locator('#legal_rep_id').fill(legalRepId);
		await cp.locator('#reg_capital').fill('300');
		await cp.locator('#business_scope').fill('软件开发；信息技术咨询服务；数据处理和存储支持服务');
		await cp.locator('#address').fill('示范市明珠区海滨路 66 号 803 室');
		const inputs = cp.locator('form[action$="/apply"] input[type="file"]');
		assert.equal(await inputs.count(), 5, 'one file input per material');
		const materials = [];
		for (let i = 0; i < 5; i++) {
			const input = inputs.nth(i);
			const id = await input.getAttribute('id');
			const label = (await cp.locator(`label[for="${id}"]`).innerText()).replace(/\s*必需\s*$/, '').trim();
			materials.push(label);
			// Papers as scans (PNG) and as PDF, alternately.
			const file = i % 2 === 0
				? { name: `material-${i + 1}.png`, mimeType: 'image/png', buffer: png(8 + i, 8, [30 * i, 90, 200]) }
				: { name: `material-${i + 1}.pdf`, mimeType: 'application/pdf', buffer: pdf(`material ${i + 1}`) };
			await input.setInputFiles(file);
		}
		assert.deepEqual(materials, ['公司登记（备案）申请书', '公司章程', '股东主体资格证明',
			'法定代表人任职文件及身份证件', '住所使用证明']);
		await shot(cp, '10-hall-apply-filled');
		await clickAndLoad(cp, cp.getByRole('button', { name: '提交申请' }));

		// ---- the receipt: tracking code and QR code
		const m = path(cp).match(/^\/hall\/cases\/(\d+)\/receipt$/);
		assert.ok(m, `submitting leads to the receipt, at ${cp.url()}`);
		const caseId = m[1];
		const receipt = await bodyText(cp);
		assert.match(receipt, /申请已提交/);
		assert.match(receipt, /市场监督管理局/);
		assert.match(receipt, /已提交待预审/);
		const tracking = (await cp.locator('.tracking-code').innerText()).trim();
		assert.match(tracking, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2}$/, `a printed tracking code, got ${tracking}`);
		const qr = cp.locator('img.receipt-qr');
		assert.ok(await qr.isVisible(), 'the receipt shows a QR code');
		assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code image is drawn');
		assert.match(await qr.getAttribute('src'), /^data:image\//);
		const trackUrl = (await cp.locator('.uri').first().innerText()).trim();
		assert.ok(trackUrl.startsWith(`${BASE}/hall/track?code=`), `the receipt links the status page, got ${trackUrl}`);
		await fitsWidth(cp, 'the receipt');
		await shot(cp, '11-hall-receipt-phone');

		// The QR code's page, without signing in: code and the phone's last four digits.
		const anon = await browser.newContext({ viewport: PHONE, locale: 'zh-CN' });
		try {
			const ap = await anon.newPage();
			await ap.goto(trackUrl);
			assert.equal(path(ap), '/hall/track');
			await ap.locator('#phone').fill('8000');   // the demo's 13800138000
			await clickAndLoad(ap, ap.locator('form[action="/hall/track"] button[type="submit"]'));
			const tr = await bodyText(ap);
			assert.match(tr, /已提交待预审/, 'the public status page finds the case');
			assert.ok(tr.includes(tracking));
			assert.ok(!tr.includes(company) && !tr.includes(legalRepId), 'the public page shows no form data');
		} finally {
			await anon.close();
		}

		// ---- zhang.amr (password + TOTP) finds the case in the inbox
		await signIn(sp, 'zhang.amr', creds['zhang.amr'].password);
		await secondFactor(sp, creds['zhang.amr'].totp);
		assert.equal(path(sp), '/desk');
		await sp.goto(`${BASE}/hall/inbox`);
		assert.equal(path(sp), '/hall/inbox');
		assert.match(await sp.locator('h1').innerText(), /办件收件箱.*市场监督管理局/);
		const row = sp.locator('tr.inbox-row').filter({ hasText: tracking });
		assert.equal(await row.count(), 1, `the inbox lists ${tracking}`);
		assert.match(await row.innerText(), /已提交待预审/);
		assert.match(await row.innerText(), /企业设立登记（示范市华信科技有限公司）/);
		await shot(sp, '12-hall-staff-inbox');
		await clickAndLoad(sp, row.getByRole('link'));
		assert.equal(path(sp), `/hall/cases/${caseId}`);
		let staffText = await bodyText(sp);
		assert.match(staffText, /示范市华信科技有限公司/);
		assert.ok(staffText.includes(company), 'the staff page shows the company name applied for');
		assert.ok(staffText.includes(`${legalRepId.slice(0, 6)}********${legalRepId.slice(14)}`),
			'the legal representative\'s 身份证号 is shown masked');
		assert.ok(!staffText.includes(legalRepId), 'and not in full');
		for (const name of materials)
			assert.ok(await sp.locator('section[aria-labelledby="h-files"]').getByRole('link', { name }).count() === 1,
				`the staff page lists the material ${name}`);
		assert.equal(await stateBadge(sp), '已提交待预审');

		// ---- 一次性告知: sent back with the list of what is missing
		await staffAct(sp, caseId, 'send_back', { missing_list: missingNote });
		assert.equal(await stateBadge(sp), '待补正');
		assert.ok((await bodyText(sp)).includes(missingNote), 'the staff timeline keeps the list');

		// ---- huaxin sees 待补正 with the list, uploads the material again and resubmits
		await cp.goto(`${BASE}/hall/my`);
		const card = cp.locator('.item-card').filter({ hasText: tracking });
		assert.equal(await card.count(), 1, '我的办件 lists the case');
		assert.match(await card.innerText(), /待补正/);
		assert.match(await card.innerText(), /待您补正材料/);
		await clickAndLoad(cp, card.getByRole('link').first());
		assert.equal(path(cp), `/hall/cases/${caseId}`);
		assert.equal(await stateBadge(cp), '待补正');
		const fix = cp.locator('section[aria-labelledby="h-fix"]');
		assert.ok(await fix.isVisible(), 'the case page asks for 补正');
		assert.match(await fix.innerText(), /请补正材料/);
		assert.ok((await fix.locator('li').allInnerTexts()).includes(missingNote), 'with the department\'s list');
		await fitsWidth(cp, 'the case page');
		await shot(cp, '13-hall-correction-phone');
		const actForm = cp.locator(`form[action="/hall/cases/${caseId}/act"]`).filter({
			has: cp.locator('button[value="resubmit"]'),
		});
		await actForm.getByLabel('住所使用证明').setInputFiles({
			name: '租赁合同-原件扫描.pdf', mimeType: 'application/pdf', buffer: pdf('lease contract, original'),
		});
		await actForm.locator('#comment').fill('已补充租赁合同原件扫描件。');
		await clickAndLoad(cp, actForm.getByRole('button', { name: '提交补正材料' }));
		assert.equal(path(cp), `/hall/cases/${caseId}`);
		assert.match(await bodyText(cp), /补正材料已提交/);
		assert.equal(await stateBadge(cp), '已提交待预审');
		assert.ok(await cp.locator('section[aria-labelledby="h-files"]').getByText('租赁合同-原件扫描.pdf').isVisible(),
			'the new material is among the case\'s files');

		// ---- zhang.amr accepts, reviews and approves with an opinion
		await sp.goto(`${BASE}/hall/cases/${caseId}`);
		assert.equal(await stateBadge(sp), '已提交待预审');
		assert.match(await bodyText(sp), /补正后重新提交/);
		await staffAct(sp, caseId, 'accept');
		assert.equal(await stateBadge(sp), '已受理');
		await staffAct(sp, caseId, 'start_review');
		assert.equal(await stateBadge(sp), '审查中');
		await staffAct(sp, caseId, 'approve', { opinion });
		assert.equal(await stateBadge(sp), '准予许可');
		staffText = await bodyText(sp);
		assert.match(staffText, /本办件已办结/);
		const certPanel = sp.locator('section[aria-labelledby="h-cert"]');
		assert.ok(await certPanel.isVisible(), 'the staff page shows the certificate issued');
		const certText = await certPanel.innerText();
		assert.match(certText, /营业执照/);
		const number = (await certPanel.locator('strong.mono').innerText()).trim();
		assert.match(number, /^AMR\d{8}\d{6}$/, `a certificate number, got ${number}`);
		await shot(sp, '14-hall-staff-approved');

		// ---- huaxin sees the decision and downloads the licence
		await cp.goto(`${BASE}/hall/cases/${caseId}`);
		assert.equal(await stateBadge(cp), '准予许可');
		const decided = await bodyText(cp);
		assert.match(decided, /下一步：已办结/);
		assert.match(decided, /准予许可/);
		// The licence has a panel of its own, apart from the materials huaxin uploaded.
		const applicantCert = cp.locator('section[aria-labelledby="h-cert"]');
		assert.match(await applicantCert.innerText(), /营业执照/);
		assert.ok((await applicantCert.innerText()).includes(number), 'the panel gives the certificate number');
		const licenceLink = applicantCert.getByRole('link', { name: /下载营业执照/ });
		assert.equal(await licenceLink.count(), 1, 'the case page offers the 营业执照 for download');
		assert.equal(await cp.locator('section[aria-labelledby="h-files"]').getByRole('link', { name: '营业执照', exact: true }).count(), 0,
			'the licence is not listed among the materials submitted');
		assert.match(await applicantCert.getByRole('link', { name: '在线核验' }).getAttribute('href') ?? '',
			new RegExp(`^/hall/verify/${number}\\?t=[0-9a-f]{32}$`), 'the panel links the public verification');
		await fitsWidth(cp, 'the decided case page');
		await shot(cp, '15-hall-approved-phone');
		await t.test('the applicant reads the approval opinion on the case page',
			() => assert.ok(decided.includes(opinion), 'the opinion is shown'));
		await t.test('the applicant\'s case page links the 电子证照 download',
			async () => assert.equal(await cp.locator(`a[href="/hall/cases/${caseId}/certificate"]`).count(), 1));
		await t.test('the decided case page offers 评价',
			async () => assert.equal(await cp.locator(`a[href="/hall/cases/${caseId}/rate"]`).count(), 1));
		await t.test('a decided case shows no working days left', async () => {
			const clock = await cp.locator('section[aria-labelledby="h-clock"]').innerText();
			assert.doesNotMatch(clock, /还剩/);
			assert.match(clock, /已办结，计时停止/);
			assert.match(clock, /用时 \d+ 个工作日（承诺 \d+ 个）/);
		});
		const viaPage = await citizen.context.request.get(new URL(await licenceLink.getAttribute('href'), BASE).href);
		const viaCert = await citizen.context.request.get(`${BASE}/hall/cases/${caseId}/certificate`);
		for (const res of [viaPage, viaCert]) {
			assert.equal(res.status(), 200, `${res.url()} answers 200`);
			assert.match(res.headers()['content-type'] ?? '', /^application\/pdf/);
		}
		const licence = await viaCert.body();
		assert.equal(licence.subarray(0, 5).toString('latin1'), '%PDF-', 'the certificate is a PDF');
		assert.ok((await viaPage.body()).equals(licence), 'the case page\'s link and /certificate give the same PDF');
		const pdfFile = join(ARTIFACTS, '16-hall-licence.pdf');
		mkdirSync(ARTIFACTS, { recursive: true });
		writeFileSync(pdfFile, licence);

		// The verification address: printed on the licence (by its QR code).
		// The licence spaces its title out (营 业 执 照) and wraps the long address:
		// its text is read without white space.
		const text = pdftotext(pdfFile)?.replace(/\s+/g, '') ?? null;
		let verifyUrl = null;
		const urlIn = (s) => s.match(/https?:\/\/[^\s/]+\/hall\/verify\/[0-9A-Z]+\?t=[0-9a-f]{32}/)?.[0] ?? null;
		if (text !== null) {
			assert.match(text, /营业执照/, 'the PDF\'s text names the 营业执照');
			assert.ok(text.includes(company), 'the PDF names the company');
			assert.ok(text.includes(`证照编号：${number}`), 'the PDF carries the certificate number');
			assert.ok(text.includes('林志远') && text.includes('300万元'), 'the PDF prints the legal representative and the capital');
			assert.match(text, /统一社会信用代码91440106[0-9A-Z]{10}/, 'the PDF gives the new company a 统一社会信用代码');
			verifyUrl = urlIn(text);
		}
		verifyUrl ??= urlIn(licence.toString('latin1'));
		assert.ok(verifyUrl, 'the licence carries its verification address');
		assert.ok(verifyUrl.startsWith(`${BASE}/hall/verify/${number}?t=`), `the verification address is this server's, got ${verifyUrl}`);

		// ---- the verification page: valid
		await cp.goto(verifyUrl);
		assert.equal(path(cp), `/hall/verify/${number}`);
		const verify = await bodyText(cp);
		assert.match(verify, /电子证照核验/);
		assert.match(verify, /核验结果：有效/);
		assert.ok(verify.includes(company), 'the verification page names the holder');
		assert.ok(verify.includes(number));
		assert.match(verify, /市场监督管理局/);
		await fitsWidth(cp, 'the verification page');
		await shot(cp, '17-hall-verify-phone');
		// A wrong token answers like an unknown number.
		const forged = await citizen.context.request.get(`${BASE}/hall/verify/${number}?t=${'0'.repeat(32)}`);
		assert.equal(forged.status(), 404, 'a wrong token does not verify');

		// ---- 好差评: 5 非常满意 with a comment, from the desk's 请评价
		await cp.goto(`${BASE}/desk`);
		const rateLink = cp.locator(`a[href="/hall/cases/${caseId}/rate"]`).first();
		assert.ok(await rateLink.isVisible(), 'the desk asks huaxin to rate the decided case');
		await clickAndLoad(cp, rateLink);
		assert.equal(path(cp), `/hall/cases/${caseId}/rate`);
		assert.match(await cp.locator('h1').innerText(), /评价：企业设立登记/);
		await cp.getByLabel('非常满意', { exact: true }).check();
		const praise = '材料补正一次性告知得很清楚，三天就拿到了营业执照。';
		await cp.locator('#comment').fill(praise);
		await clickAndLoad(cp, cp.getByRole('button', { name: '提交评价' }));
		assert.equal(path(cp), `/hall/cases/${caseId}/rate`);
		assert.equal(new URL(cp.url()).searchParams.get('done'), '1');
		const rated = await bodyText(cp);
		assert.match(rated, /您的评价/);
		assert.match(rated, /非常满意（5 分）/);
		assert.ok(rated.includes(praise), 'the comment is shown back');
		assert.equal(await cp.locator(`form[action="/hall/cases/${caseId}/rate"]`).count(), 0, 'a case is rated once');
		await fitsWidth(cp, 'the rating page');
		await shot(cp, '18-hall-rated-phone');

		noProblems(citizen.problems);
		noProblems(staff.problems);
	} finally {
		await citizen.context.close();
		await staff.context.close();
	}
});

test('the catalogue, the guide and the application form fit a phone', async () => {
	const { huaxin } = credentials();
	const { context, page, problems } = await openPage({ viewport: PHONE, isMobile: true, hasTouch: true });
	try {
		await page.goto(`${BASE}/hall`);
		assert.equal(path(page), '/hall');
		assert.match(await bodyText(page), /企业设立登记/);
		await fitsWidth(page, 'the catalogue');
		await shot(page, '19-hall-catalogue-phone');
		await page.goto(`${BASE}/hall/items/${ITEM}`);
		assert.match(await bodyText(page), /登录后在线申请/, 'signed out, the guide offers to sign in first');
		await fitsWidth(page, 'the guide');
		await shot(page, '19-hall-guide-phone');

		await signIn(page, 'huaxin', huaxin.password);
		await page.goto(`${BASE}/hall/items/${ITEM}/apply`);
		assert.equal(path(page), `/hall/items/${ITEM}/apply`);
		assert.match(await bodyText(page), /申请材料/);
		await fitsWidth(page, 'the application form');
		// Each input is within the screen too (a wide control can hide in an overflow box).
		const wide = await page.evaluate(() => [...document.querySelectorAll('input, textarea, select, button')]
			.filter((el) => el.offsetParent !== null && el.getBoundingClientRect().right > window.innerWidth + 1)
			.map((el) => el.name || el.id || el.tagName));
		assert.deepEqual(wide, [], 'no form control reaches past the right edge');
		await shot(page, '19-hall-apply-phone');
		noProblems(problems);
	} finally {
		await context.close();
	}
});
