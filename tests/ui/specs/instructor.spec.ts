// The instructor's path: nbgrader's create-assignment toolbar on a source notebook, formgrader
// with the demo's submissions and scores, and the feedback a student gets back.
import { expect, galata, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

import { ASSIGNMENT, COURSE, EXPECTED, NOTEBOOK, cells, openFromFileBrowser, step, text } from './course';

test.use({ mockSettings: { ...galata.DEFAULT_SETTINGS } });

test.afterEach(async ({ page }) => {
  await page.kernel.shutdownAll();
});

/** The type nbgrader's toolbar shows for a cell with this metadata (its select's values). */
function toolbarType(nbgrader: Record<string, any> | undefined): string {
  if (!nbgrader) return '';
  if (nbgrader.task) return 'task';
  if (nbgrader.solution && nbgrader.grade) return 'manual';
  if (nbgrader.solution) return 'solution';
  if (nbgrader.grade) return 'tests';
  if (nbgrader.locked) return 'readonly';
  return '';
}

test("the create-assignment toolbar shows each cell's type, id and points", async ({ page }, info) => {
  const source = cells('source');
  const graded = source.filter(c => c.metadata.nbgrader?.grade);
  expect(graded.length).toBeGreaterThan(3);
  await step(page, info, 'open the source notebook', async () => {
    await openFromFileBrowser(page, `source/${ASSIGNMENT}/${NOTEBOOK}`);
  });
  await step(page, info, 'open the create-assignment toolbar', async () => {
    await page.locator(".lm-TabBar-tab[title='Nbgrader Create Assignment']").click();
    await expect(page.locator('.nbgrader-NotebookWidget')).toBeVisible();
    await expect(page.locator('.nbgrader-NotebookWidget .nbgrader-CellWidget')).toHaveCount(source.length);
  });
  await step(page, info, 'every cell: type, id, points; the total', async () => {
    const widgets = page.locator('.nbgrader-NotebookWidget .nbgrader-CellWidget');
    const shown = await widgets.evaluateAll(nodes => nodes.map(node => ({
      type: (node.querySelector('.nbgrader-CellType select') as HTMLSelectElement).value,
      id: (node.querySelector('.nbgrader-CellId input') as HTMLInputElement).value,
      points: (node.querySelector('.nbgrader-CellPoints input') as HTMLInputElement).value,
    })));
    const wanted = source.map(c => {
      const nb = c.metadata.nbgrader;
      const type = toolbarType(nb);
      return { type, id: type ? nb!.grade_id : '', points: nb?.grade ? String(nb.points) : '' };
    });
    expect(shown.map(s => s.type)).toEqual(wanted.map(w => w.type));
    for (const [i, w] of wanted.entries()) {
      if (w.id) expect(shown[i].id, `cell ${i}`).toBe(w.id);
      if (w.points) expect(shown[i].points, `cell ${i}`).toBe(w.points);
    }
    const total = graded.reduce((sum, c) => sum + c.metadata.nbgrader!.points, 0);
    expect(total).toBe(EXPECTED.max_score);
    await expect(page.locator('.nbgrader-TotalPointsInput').first()).toHaveValue(String(total));
    const answer = source.findIndex(c => c.metadata.nbgrader?.solution);
    await widgets.nth(answer).scrollIntoViewIfNeeded();
    await expect(widgets.nth(answer).locator('.nbgrader-CellType select')).toHaveValue('solution');
  });
  await page.notebook.close(true);
  // the toolbar only showed the metadata: the source notebook is unchanged on disk
  expect(cells('source').map(text)).toEqual(source.map(text));
});

test("formgrader lists the assignments with the demo's submissions and scores", async ({ page }, info) => {
  const students = Object.keys(EXPECTED.scores).sort();
  expect(students.length).toBeGreaterThanOrEqual(3);
  const assignments = fs.readdirSync(path.join(COURSE, 'source')).filter(name => /^\d\d_/.test(name)).sort();
  const frame = page.frameLocator('iframe[src*="formgrader"]').first();
  await step(page, info, 'open formgrader from the Nbgrader menu', async () => {
    await page.menu.clickMenuItem('Nbgrader>Formgrader');
    await expect(frame.getByRole('heading', { name: 'Manage Assignments' })).toBeVisible();
  });
  await step(page, info, 'the assignments and the number of submissions', async () => {
    const rows = frame.locator('table tbody tr');
    await expect(rows.first()).toBeVisible();
    for (const name of assignments) {
      await expect(rows.filter({ hasText: name }), name).toHaveCount(1);
    }
    const row = rows.filter({ hasText: ASSIGNMENT });
    await expect(row.locator('td').nth(8)).toHaveText(String(students.length));
  });
  await step(page, info, "each student's score", async () => {
    await frame.getByRole('link', { name: 'Manage Students' }).click();
    const rows = frame.locator('table tbody tr');
    const everyone = Object.keys(EXPECTED.totals).sort();       // every student of the course
    await expect(rows).toHaveCount(everyone.length);
    for (const student of everyone) {
      // the total over every assignment of the course
      const score = `${EXPECTED.totals[student]} / ${EXPECTED.max_total}`;
      await expect(rows.filter({ hasText: student }), student).toContainText(score);
    }
  });
  await step(page, info, 'one submission, its score per notebook', async () => {
    const buggy = students.find(s => EXPECTED.scores[s] > 0 && EXPECTED.scores[s] < EXPECTED.max_score)!;
    await frame.locator('table tbody tr').filter({ hasText: buggy }).getByRole('link').first().click();
    const row = frame.locator('table tbody tr').filter({ hasText: ASSIGNMENT });
    await expect(row).toContainText(`${EXPECTED.scores[buggy]} / ${EXPECTED.max_score}`);
  });
});

test("the feedback a student gets: the score, what failed and the counterexample", async ({ page }, info) => {
  const buggy = Object.keys(EXPECTED.scores).find(s => s.startsWith('cyd'))!;
  const file = `feedback/${buggy}/${ASSIGNMENT}/${NOTEBOOK.replace('.ipynb', '.html')}`;
  expect(fs.existsSync(path.join(COURSE, file))).toBe(true);
  // a browser tab of its own, as the assignment list's feedback link opens it
  const feedback = await page.context().newPage();
  await step(feedback as any, info, "open the student's feedback page", async () => {
    await feedback.goto(`files/${file}`);
    await expect(feedback.locator('body')).toContainText(`${ASSIGNMENT}`);
  });
  await step(feedback as any, info, 'the score and the failed aspects with counterexamples', async () => {
    const body = feedback.locator('body');
    await expect(body).toContainText(`Score: ${EXPECTED.scores[buggy].toFixed(1)} / ${EXPECTED.max_score.toFixed(1)}`);
    await expect(body).toContainText('counterexample:');
    await expect(body).toContainText('✗');
  });
});
