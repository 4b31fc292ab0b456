// A submission is untrusted in every page that shows it. The server here is a normal one: a
// token, XSRF checks on, the instructor logged in once by the token link. A hostile submission
// (tests/redteam/xss.py: markup in markdown, raw cells, attachments, rich outputs, metadata, the
// student id) was graded by the real autograde; each page that shows it is opened, and every
// vector's payload would leave a trace if it ran: a data-xss-* attribute on the top document, a
// request for /xss-beacon/*, a file xss-*.txt written through the Contents API with the
// cookie's XSRF token, or a navigation away from the page.
import { expect, test, Page } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

const URL = required('COURSE_UI_URL');
const TOKEN = required('COURSE_UI_TOKEN');
const COURSE = required('COURSE_UI_ROOT');
const EXPECTED = JSON.parse(fs.readFileSync(required('COURSE_UI_EXPECT'), 'utf8')) as {
  assignment: string; submissions: { student: string; id: string }[];
  students: string[]; feedback: string[]; report: string; autograded: string;
};
const A = EXPECTED.assignment;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: these tests run from tests/test_end_to_end.py`);
  return value;
}

// The inline handlers of nbgrader's own formgrade page (its name toggle); nothing else may carry one.
const OWN_HANDLERS = new Set(['toggle_name(true);', 'toggle_name(false);']);

/** What a page must not have done, collected while it is open. */
class Traces {
  beacons: string[] = [];
  navigations: string[] = [];
  // moves: where the page may take itself (JupyterLab writes the open folder into its URL)
  constructor(readonly page: Page, readonly start: string, readonly moves: RegExp | null) {
    page.on('request', r => { if (r.url().includes('/xss-beacon/')) this.beacons.push(r.url()); });
    page.on('framenavigated', f => {
      if (f === page.mainFrame() && !same(f.url(), this.start) && f.url() !== 'about:blank'
          && !(moves && moves.test(f.url()))) this.navigations.push(f.url());
    });
  }
}

/** Two spellings of one URL (the browser percent-encodes what the test wrote plainly). */
function same(a: string, b: string): boolean {
  const plain = (u: string) => decodeURIComponent(u.split('#')[0]);
  return plain(a) === plain(b);
}

/** A path of the course as a URL: under the server's /files, or a local file. */
function served(file: string): string {
  return `${URL}/files/` + file.split('/').map(encodeURIComponent).join('/');
}

function local(file: string): string {
  return 'file://' + path.join(COURSE, file).split('/').map(encodeURIComponent).join('/');
}

function written(): string[] {
  return fs.readdirSync(COURSE).filter(name => /^xss-.*\.txt$/.test(name));
}

/** The DOM of every frame that can be read: markers, and within the part of the page that shows
 *  the submission (content), handlers, script URLs and elements that load or run something. */
async function findings(page: Page, content: string): Promise<string[]> {
  const found: string[] = [];
  for (const frame of page.frames()) {
    try {
      found.push(...await frame.evaluate(([selector, own]) => {
        const out: string[] = [];
        for (const attr of Array.from(document.documentElement.attributes)) {
          if (attr.name.startsWith('data-xss-')) out.push(`marker ${attr.name}`);
        }
        const root = document.querySelector(selector) || document.body;
        if (!root) return out;
        for (const el of Array.from(root.querySelectorAll('*'))) {
          const tag = el.tagName.toLowerCase();
          if (['script', 'iframe', 'object', 'embed', 'base', 'meta', 'form', 'link', 'style', 'frame',
               'frameset', 'applet'].includes(tag) && !(tag === 'style' && el.closest('.MathJax, mjx-container'))) {
            out.push(`<${tag}> in the content`);
          }
          for (const attr of Array.from(el.attributes)) {
            const value = attr.value.trim().toLowerCase();
            if (attr.name.startsWith('on') && !(own as string[]).includes(attr.value)) {
              out.push(`<${tag} ${attr.name}>`);
            }
            if (/^(javascript|vbscript|data:text|data:application|data:image\/svg)/.test(value.replace(/\s+/g, ''))
                && !(tag === 'img' && attr.name === 'src' && value.startsWith('data:image/svg'))) {
              out.push(`<${tag} ${attr.name}="${value.slice(0, 40)}">`);
            }
            if (attr.name === 'style' && /url\s*\(/.test(value)) out.push(`<${tag} style> loads a URL`);
          }
        }
        return out;
      }, [content, Array.from(OWN_HANDLERS)] as [string, string[]]));
    } catch {
      // a frame of another origin: only its requests (beacons) can tell what ran there
    }
  }
  return found;
}

/** Open a page as the instructor, let every timer and load event fire, then check the traces. */
async function visit(page: Page, url: string, content: string | null, ready: () => Promise<void>,
                     moves: RegExp | null = null) {
  const traces = new Traces(page, url, moves);
  // as from a link in JupyterLab: Jupyter serves /files/ only to requests from its own pages
  const reply = await page.goto(url, url.startsWith(URL) ? { referer: `${URL}/lab` } : {});
  expect.soft(reply === null || reply.ok(), `${url}: answered ${reply?.status()}`).toBe(true);
  try {
    await ready();
  } catch (e) {
    expect.soft(String(e).split('\n')[0], `${url}: the page did not show what it should`).toBe('');
  }
  await page.waitForTimeout(1500);             // onload, onerror, timers, refreshes
  const found = content === null ? [] : await findings(page, content);
  expect.soft(traces.beacons, `${url}: requests a payload made`).toEqual([]);
  expect.soft(traces.navigations, `${url}: the page navigated away`).toEqual([]);
  expect.soft(found, `${url}: what the page holds`).toEqual([]);
  expect.soft(written(), `${url}: files written through the Contents API`).toEqual([]);
  expect.soft(same(page.url(), url) || (moves !== null && moves.test(page.url())), `${url}: now at ${page.url()}`)
    .toBe(true);
}

test.beforeEach(async ({ page }) => {
  await page.goto(`${URL}/lab?token=${TOKEN}`);
  await page.locator('#jp-main-dock-panel').waitFor({ timeout: 60000 });
  const cookies = await page.context().cookies();
  expect(cookies.map(c => c.name)).toContain('_xsrf');
});

test("formgrader: the hostile student's submission, the student list and pages", async ({ page }) => {
  for (const submission of EXPECTED.submissions) {
    await visit(page, `${URL}/formgrader/submissions/${submission.id}/`, '#notebook-container',
                async () => { await page.locator('#notebook-container').first().waitFor(); });
  }
  // formgrader's own pages (they print ids and names, and carry formgrader's own handlers)
  await visit(page, `${URL}/formgrader/manage_students`, null,
              async () => { await page.locator('table tbody tr').first().waitFor(); });
  for (const student of EXPECTED.students) {
    await visit(page, `${URL}/formgrader/manage_students/${encodeURIComponent(student)}`, null,
                async () => { await page.locator('table').first().waitFor(); });
  }
  await visit(page, `${URL}/formgrader/gradebook/${A}/${A}`, null,
              async () => { await page.locator('table tbody tr').first().waitFor(); });
});

test('the feedback, served by Jupyter and opened as a local file', async ({ page }) => {
  for (const file of EXPECTED.feedback) {
    await visit(page, served(file), '#notebook-container', async () => { await page.locator('body').waitFor(); });
    await visit(page, local(file), '#notebook-container', async () => { await page.locator('body').waitFor(); });
  }
  // ordinary markdown and math still reach the page (MathJax typesets them where it can load)
  await page.goto(local(EXPECTED.feedback[0]));
  await expect(page.locator('body')).toContainText('Ordinary markdown still renders');
  await expect(page.locator('em', { hasText: 'emphasis' }).first()).toBeVisible();
  await expect(page.locator('body')).toContainText('E = mc^2');
});

test('the class report, opened as a local file', async ({ page }) => {
  await visit(page, local(EXPECTED.report), 'body',
              async () => { await page.locator('h1, h2').first().waitFor(); });
});

test('the autograded notebook opened in JupyterLab', async ({ page }) => {
  const url = `${URL}/lab/tree/` + EXPECTED.autograded.split('/').map(encodeURIComponent).join('/');
  await visit(page, url, '.jp-NotebookPanel', async () => {
    await page.locator('.jp-NotebookPanel .jp-Cell').first().waitFor({ timeout: 60000 });
    await expect(page.locator('.jp-NotebookPanel')).toContainText('Ordinary markdown still renders');
  }, new RegExp('^' + URL.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '/lab(/tree)?/autograded/'));
});
