#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Loads the agent's dashboard page in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// and checks it the way a person would look at it: no console errors or warnings, no request that leaves the
// agent, the apps shown, the numbers moving when the targets change, the banner when the agent goes away.
//
// Usage: node dashboard-test.mjs URL SCREENSHOT [--expect APP.FIELD=N,...] [--down-screenshot PATH]
//                                [--timeout SECONDS] [--linger SECONDS] [--profile DIR] [--chromium PATH]
//                                [--history APP=N]
//
// It prints one line per step on stdout, so that a shell script can follow it and act in between:
//   loaded node=<id> apps=<a,b>   the page shows the apps (then the script changes the targets)
//   app <name> target=N allocated=N running=N starting=N stopping=N
//   history <app> rise=N px       (with --history) how far above its lowest point the chart draws APP's lines
//                                 right after loading, from the agent's history only; N must be at least the
//                                 height of value N on the chart's scale
//   matched <expectations>        the page shows what --expect asked for
//   screenshot <path>
//   stop-agent                    (with --down-screenshot) the script may stop the agent now
//   banner <text>                 the page says the agent is not reachable
//   ok
// Failures go to stderr, with exit status 1.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

function usage(msg) {
	console.error(`dashboard-test: ${msg}`);
	console.error('usage: node dashboard-test.mjs URL SCREENSHOT [--expect APP.FIELD=N,...] [--down-screenshot PATH] ' +
		'[--timeout SECONDS] [--linger SECONDS] [--profile DIR] [--chromium PATH] [--history APP=N]');
	process.exit(2);
}

const opts = { timeout: 30, linger: 0, chromium: '/usr/bin/chromium', expect: [], downShot: null, profile: null,
	history: null };
const pos = [];
for (let i = 2; i < process.argv.length; i++) {
	const a = process.argv[i];
	const val = () => (i + 1 < process.argv.length ? process.argv[++i] : usage(`${a} needs a value`));
	if (a === '--expect') {
		for (const e of val().split(',').filter(Boolean)) {
			const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*)\.([a-z]+)=(\d+)$/.exec(e);
			if (!m) usage(`bad expectation ${e}: expected APP.FIELD=N`);
			opts.expect.push({ app: m[1], field: m[2], value: m[3] });
		}
	} else if (a === '--history') {
		const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*)=(\d+)$/.exec(val());
		if (!m) usage('--history needs APP=N');
		opts.history = { app: m[1], value: Number(m[2]) };
	} else if (a === '--down-screenshot') opts.downShot = val();
	else if (a === '--timeout') opts.timeout = Number(val());
	else if (a === '--linger') opts.linger = Number(val());
	else if (a === '--profile') opts.profile = val();
	else if (a === '--chromium') opts.chromium = val();
	else if (a.startsWith('--')) usage(`unknown option ${a}`);
	else pos.push(a);
}
if (pos.length !== 2) usage('needs URL and SCREENSHOT');
if (!(opts.timeout > 0)) usage('--timeout needs a positive number of seconds');
const [url, shot] = pos;
const origin = new URL(url).origin;
const timeout = opts.timeout * 1000;

const say = (line) => process.stdout.write(`${line}\n`);
const problems = [];   // console errors and warnings, page errors, failed or foreign requests
let agentStopped = false; // after `stop-agent`, failed requests are what the page should cope with

const ownProfile = !opts.profile;
const profile = opts.profile || mkdtempSync(join(tmpdir(), 'force12-chromium-'));
let context;

async function main() {
	context = await chromium.launchPersistentContext(profile, {
		executablePath: opts.chromium,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		viewport: { width: 1280, height: 900 },
		deviceScaleFactor: 1,
		timeout,
	});
	const page = context.pages()[0] || (await context.newPage());
	page.setDefaultTimeout(timeout);

	page.on('console', (msg) => {
		if (msg.type() !== 'error' && msg.type() !== 'warning') return;
		// With the agent stopped, the browser reports every refused status request; nothing else is expected.
		if (agentStopped && /^Failed to load resource/.test(msg.text())) return;
		problems.push(`console ${msg.type()}: ${msg.text()}`);
	});
	page.on('pageerror', (err) => problems.push(`page error: ${err.stack || err.message}`));
	page.on('request', (req) => {
		const u = req.url();
		if (!u.startsWith(`${origin}/`) && !u.startsWith('data:')) problems.push(`request outside the agent: ${u}`);
	});
	page.on('requestfailed', (req) => {
		if (!agentStopped) problems.push(`request failed: ${req.url()}: ${req.failure()?.errorText}`);
	});
	page.on('response', (res) => {
		if (res.status() >= 400 && !agentStopped) problems.push(`HTTP ${res.status()} for ${res.url()}`);
	});

	const res = await page.goto(url, { waitUntil: 'load' });
	if (!res || !res.ok()) throw new Error(`GET ${url} answered ${res ? res.status() : 'nothing'}`);

	// The page is loaded once it shows the node and at least one app row with numbers in it.
	await page.waitForFunction(() => {
		const node = document.getElementById('node');
		const row = document.querySelector('#apps tr[id^="app-"] td[data-field="running"]');
		return node && node.textContent !== '…' && row && /^\d+$/.test(row.textContent);
	});
	const seen = await readPage(page);
	say(`loaded node=${seen.node} apps=${seen.apps.map((a) => a.name).join(',')}`);
	printApps(seen);
	check('loading the page');
	if (opts.history) await checkHistory(page, opts.history);

	if (opts.expect.length) {
		const want = opts.expect.map((e) => `${e.app}.${e.field}=${e.value}`).join(',');
		try {
			await page.waitForFunction((exp) => exp.every((e) => {
				const td = document.querySelector(`tr[id="app-${CSS.escape(e.app)}"] td[data-field="${e.field}"]`);
				return td && td.textContent === e.value;
			}), opts.expect, { polling: 200 });
		} catch (err) {
			const now = await readPage(page);
			printApps(now);
			const off = opts.expect.map((e) => {
				const a = now.apps.find((x) => x.name === e.app);
				return a && a[e.field] === e.value ? null : `${e.app}.${e.field} is ${a ? a[e.field] : 'not shown'}, not ${e.value}`;
			}).filter(Boolean);
			throw new Error(`the page did not show ${want} within ${opts.timeout} s: ${off.join('; ')}`);
		}
		say(`matched ${want}`);
		// A few more polls, so that the chart shows the change settled.
		await page.waitForTimeout(3000);
		printApps(await readPage(page));
	}
	if (opts.linger > 0) await page.waitForTimeout(opts.linger * 1000);
	await checkChart(page);
	check('showing the apps');
	await page.screenshot({ path: shot, fullPage: true });
	say(`screenshot ${shot}`);

	if (opts.downShot) {
		agentStopped = true;
		say('stop-agent');
		await page.waitForFunction(() => !document.getElementById('banner').hidden);
		const text = (await page.textContent('#banner')).replace(/\s+/g, ' ').trim();
		say(`banner ${text}`);
		if (!/not reachable/i.test(text)) throw new Error(`the banner says: ${text}`);
		await page.waitForTimeout(2500); // the chart marks the time without answers
		await page.screenshot({ path: opts.downShot, fullPage: true });
		say(`screenshot ${opts.downShot}`);
		check('showing the agent away');
	}
	say('ok');
}

// What a person reads off the page: the header and every app row.
function readPage(page) {
	return page.evaluate(() => {
		const text = (id) => document.getElementById(id)?.textContent ?? '';
		const apps = Array.from(document.querySelectorAll('#apps tr[id^="app-"]')).map((tr) => {
			const a = { name: tr.id.slice(4) };
			for (const td of tr.querySelectorAll('td[data-field]')) a[td.dataset.field] = td.textContent;
			return a;
		});
		const totals = {};
		for (const k of ['started', 'stopped', 'removed', 'killed', 'failed'])
			totals[k] = text(`total-${k}`);
		return { node: text('node'), engine: text('engine'), capacity: text('capacity'), apps, totals };
	});
}

function printApps(seen) {
	say(`node ${seen.node} engine=${JSON.stringify(seen.engine)} capacity=${seen.capacity} ` +
		Object.entries(seen.totals).map(([k, v]) => `${k}=${v}`).join(' '));
	for (const a of seen.apps)
		say(`app ${a.name} target=${a.target} allocated=${a.allocated} running=${a.running} ` +
			`starting=${a.starting} stopping=${a.stopping}`);
}

// The chart has been drawn: a good share of its pixels are not blank, and the first app's colour is among them.
async function checkChart(page) {
	const r = await page.evaluate(() => {
		const c = document.getElementById('chart');
		const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		const sw = document.querySelector('#apps tr[id^="app-"] .swatch');
		const m = /rgb\((\d+), (\d+), (\d+)\)/.exec(sw ? getComputedStyle(sw).backgroundColor : '');
		let painted = 0, appColour = 0;
		for (let i = 0; i < data.length; i += 4) {
			if (data[i + 3] === 0) continue;
			painted++;
			if (m && Math.abs(data[i] - m[1]) < 8 && Math.abs(data[i + 1] - m[2]) < 8 && Math.abs(data[i + 2] - m[3]) < 8)
				appColour++;
		}
		return { painted, appColour, width: c.width, height: c.height };
	});
	if (r.painted < 500 || r.appColour < 20)
		throw new Error(`the chart looks empty: ${JSON.stringify(r)}`);
}

// Right after loading, before the page has polled more than a few times, APP's lines on the chart rise from its
// lowest point (the value now, 0) towards value N of the scale: only the agent's history can have drawn that.
async function checkHistory(page, want) {
	const r = await page.evaluate((app) => {
		// Read from a copy made for reading, so that the page's own canvas is read back once only (by checkChart).
		const page = document.getElementById('chart');
		const c = document.createElement('canvas');
		c.width = page.width;
		c.height = page.height;
		const ctx = c.getContext('2d', { willReadFrequently: true });
		ctx.drawImage(page, 0, 0);
		const data = ctx.getImageData(0, 0, c.width, c.height).data;
		const sw = document.querySelector(`tr[id="app-${CSS.escape(app)}"] .swatch`);
		const m = /rgb\((\d+), (\d+), (\d+)\)/.exec(sw ? getComputedStyle(sw).backgroundColor : '');
		if (!m) return { error: `no colour swatch for ${app}` };
		let top = Infinity, bottom = -1, pixels = 0;
		for (let y = 0; y < c.height; y++)
			for (let x = 0; x < c.width; x++) {
				const i = (y * c.width + x) * 4;
				if (data[i + 3] < 200) continue;
				if (Math.abs(data[i] - m[1]) < 8 && Math.abs(data[i + 1] - m[2]) < 8 && Math.abs(data[i + 2] - m[3]) < 8) {
					pixels++;
					top = Math.min(top, y);
					bottom = Math.max(bottom, y);
				}
			}
		return { pixels, rise: bottom - top, height: c.height };
	}, want.app);
	if (r.error) throw new Error(r.error);
	say(`history ${want.app} rise=${r.rise} px pixels=${r.pixels} height=${r.height}`);
	// The plot is the canvas's height less about 40 px of margins, and its top is at most about 1.1 x the highest
	// value (N, or the capacity when that is close); half the height of N on that scale is a safe lower bound, and
	// far above the few pixels a flat line at 0 spans.
	const least = Math.floor((r.height - 40) * 0.5 * (want.value / (want.value * 1.1 + 1)));
	if (!(r.rise >= least))
		throw new Error(`the chart does not show ${want.app}'s history at ${want.value}: its lines rise ${r.rise} px, ` +
			`expected at least ${least} px (${JSON.stringify(r)})`);
}

function check(when) {
	if (problems.length) throw new Error(`while ${when}:\n  ${problems.join('\n  ')}`);
}

let status = 0;
try {
	await main();
} catch (err) {
	console.error(`dashboard-test: ${err.message}`);
	status = 1;
} finally {
	if (context) await context.close().catch(() => {});
	if (ownProfile) rmSync(profile, { recursive: true, force: true });
}
process.exit(status);
