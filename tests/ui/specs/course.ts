// What the course's specs share: the course folder the server serves, its notebooks, and steps
// that leave a screenshot behind (kept only when a test fails: preserveOutput 'failures-only').
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { TestInfo } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

export const COURSE = required('COURSE_UI_ROOT');
export const ASSIGNMENT = '01_conv_arithmetic';
export const NOTEBOOK = `${ASSIGNMENT}.ipynb`;

/** What the gradebook holds after the demo: { assignment, max_score, scores: { student: score } } for the
 *  assignment the specs open, and { totals: { student: total }, max_total } over the whole course. */
export const EXPECTED = JSON.parse(fs.readFileSync(required('COURSE_UI_EXPECT'), 'utf8'));

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the browser tests with ./course browser (tests/browser.py)`);
  }
  return value;
}

type Cell = { cell_type: string; source: string | string[]; metadata: { nbgrader?: Record<string, any> } };

/** The cells of one of the course's notebooks: kind is source, release or solutions. */
export function cells(kind: string): Cell[] {
  const file = path.join(COURSE, kind, ASSIGNMENT, NOTEBOOK);
  return JSON.parse(fs.readFileSync(file, 'utf8')).cells;
}

export function text(cell: Cell): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

/** Index of the cell with this nbgrader grade_id. */
export function indexOf(kind: string, gradeId: string): number {
  const index = cells(kind).findIndex(c => c.metadata.nbgrader?.grade_id === gradeId);
  if (index < 0) throw new Error(`no cell ${gradeId} in ${kind}/${ASSIGNMENT}`);
  return index;
}

const counters = new WeakMap<TestInfo, number>();

/** One step of a path: a named Playwright step, then a screenshot of the page after it. */
export async function step<T>(page: IJupyterLabPageFixture, info: TestInfo, name: string,
                              body: () => Promise<T>): Promise<T> {
  try {
    return await test.step(name, body);
  } finally {
    const n = (counters.get(info) ?? 0) + 1;
    counters.set(info, n);
    const file = `step-${String(n).padStart(2, '0')}-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`;
    await page.screenshot({ path: info.outputPath(file) }).catch(() => undefined);
  }
}

/** Open a notebook by double-clicking it in the file browser; wait until its kernel is idle. */
export async function openFromFileBrowser(page: IJupyterLabPageFixture, filePath: string): Promise<void> {
  await page.filebrowser.openDirectory(path.dirname(filePath));
  const item = page.getByRole('region', { name: 'File Browser Section' })
    .getByRole('listitem', { name: new RegExp(`^Name: ${path.basename(filePath)}`) });
  await item.dblclick();
  await expect(page.getByRole('main').getByRole('tab', { name: new RegExp(`^${path.basename(filePath)}`) }))
    .toBeVisible();
  await page.locator('.jp-Notebook').first().waitFor();
  await expect(page.locator('#jp-main-statusbar')).toContainText(/Idle/, { timeout: 60000 });
}

/** A cell of the active notebook (every cell is in the DOM: windowing 'contentVisibility'). */
export function cellLocator(page: IJupyterLabPageFixture, index: number) {
  return page.locator(`.jp-NotebookPanel:visible .jp-Cell[data-windowed-list-index="${index}"]`);
}

/** Replace the last line of a code cell by typing, as a student does under `# YOUR CODE HERE`. */
export async function typeLastLine(page: IJupyterLabPageFixture, index: number, line: string): Promise<void> {
  await cellLocator(page, index).locator('.cm-content').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.press('Shift+Home');
  await page.keyboard.type(line);
  await page.keyboard.press('Escape');
}

/** A cell's source, from the notebook model. */
export async function cellSource(page: IJupyterLabPageFixture, index: number): Promise<string> {
  return page.evaluate(i => {
    const panel = window.jupyterapp.shell.currentWidget as any;
    return panel.content.widgets[i].model.sharedModel.getSource();
  }, index);
}

/** Set a cell's source through the notebook model (what pasting a whole function does). */
export async function pasteSource(page: IJupyterLabPageFixture, index: number, source: string): Promise<void> {
  await page.evaluate(([i, s]) => {
    const panel = window.jupyterapp.shell.currentWidget as any;
    panel.content.widgets[i].model.sharedModel.setSource(s);
  }, [index, source] as [number, string]);
}

/** The text of a cell's output area ('' when it has none). */
export async function outputText(page: IJupyterLabPageFixture, index: number): Promise<string> {
  const outputs = cellLocator(page, index).locator('.jp-OutputArea-output');
  return (await outputs.allTextContents()).join('\n');
}

/** Select a cell, press Shift+Enter, wait until it has run; its output text. */
export async function runCell(page: IJupyterLabPageFixture, index: number): Promise<string> {
  const cell = cellLocator(page, index);
  await cell.scrollIntoViewIfNeeded();
  await page.evaluate(i => window.galata.resetExecutionCount(i), index);
  await cell.click({ position: { x: 15, y: 5 } });
  await page.keyboard.press('Shift+Enter');
  await page.waitForFunction(i => window.galata.haveBeenExecuted(i), index, { timeout: 120000 });
  await page.locator('#jp-main-statusbar').getByText('Idle').waitFor();
  return outputText(page, index);
}
