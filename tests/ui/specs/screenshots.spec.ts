// Not a test of behaviour: pictures of what students see, for a person to look at.
// `./course screenshots` runs this project and writes the PNG files to reports/screenshots/.
import { expect, galata, test } from '@jupyterlab/galata';
import * as path from 'path';

import { ASSIGNMENT, COURSE, EXPECTED, NOTEBOOK, cellLocator, indexOf, openFromFileBrowser, runCell } from './course';

const OUT = process.env.COURSE_UI_SHOTS || path.join(__dirname, '..', '..', '..', 'reports', 'screenshots');

test.use({ mockSettings: { ...galata.DEFAULT_SETTINGS }, viewport: { width: 1400, height: 1000 } });

test('a released notebook, as a student opens it', async ({ page, tmpPath }) => {
  await page.contents.uploadFile(path.join(COURSE, 'release', ASSIGNMENT, NOTEBOOK), `${tmpPath}/${NOTEBOOK}`);
  await openFromFileBrowser(page, `${tmpPath}/${NOTEBOOK}`);
  await runCell(page, indexOf('release', 'setup'));
  await page.evaluate(() => window.jupyterapp.commands.execute('application:toggle-left-area'));
  const notebook = page.locator('.jp-NotebookPanel:visible .jp-WindowedPanel-outer');
  await notebook.evaluate(node => { node.scrollTop = 0; });
  await expect(page.locator('.jp-NotebookPanel:visible')).toContainText('卷積神經網絡');
  await page.screenshot({ path: path.join(OUT, 'released_notebook.png') });
  // the first task: the docstring that fixes the contract, the stub, the visible tests
  await cellLocator(page, indexOf('release', 'conv_output_size_answer')).evaluate(node => node.scrollIntoView());
  await page.screenshot({ path: path.join(OUT, 'released_task.png') });
  await page.kernel.shutdownAll();
});

test("a student's feedback, as the instructor returns it", async ({ page }) => {
  const buggy = Object.keys(EXPECTED.scores).find(s => s.startsWith('cyd'))!;
  const feedback = await page.context().newPage();
  await feedback.setViewportSize({ width: 1100, height: 1400 });
  await feedback.goto(`files/feedback/${buggy}/${ASSIGNMENT}/${ASSIGNMENT}.html`);
  await expect(feedback.locator('body')).toContainText('counterexample:');
  await feedback.screenshot({ path: path.join(OUT, 'feedback.png') });
  // the first aspect it lost: the property and the counterexample
  const failed = feedback.locator('pre', { hasText: 'counterexample:' }).first();
  await failed.evaluate(node => node.scrollIntoView({ block: 'center' }));
  await feedback.screenshot({ path: path.join(OUT, 'feedback_counterexample.png') });
});
