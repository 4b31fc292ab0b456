// The student's path: a released notebook opened from the file browser, the setup cell run, an
// answer typed, the visible tests run, nbgrader's Validate button pressed; then the same with a
// wrong answer, whose failure and counterexample the student must be able to read.
import { expect, galata, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as path from 'path';

import { ASSIGNMENT, COURSE, NOTEBOOK, cellLocator, cells, cellSource, indexOf, openFromFileBrowser, pasteSource,
         runCell, step, text, typeLastLine } from './course';

const ANSWER = indexOf('release', 'conv_output_size_answer');
const VISIBLE_TESTS = indexOf('release', 'conv_output_size_correct');
const SETUP = indexOf('release', 'setup');
const RIGHT = 'return (n + 2 * p - d * (k - 1) - 1) // s + 1';
const WRONG = 'return (n + 2 * p - k) // s + 1          # forgets the dilation';

/** Press nbgrader's Validate button (it saves, then the server runs the notebook); its dialog,
 *  which must be the success dialog or the error dialog as `success` says. */
async function validate(page: IJupyterLabPageFixture, success: boolean) {
  await page.locator('jp-button.validate-button, button.validate-button').first().click();
  const [wanted, other] = success ? ['SuccessDialog', 'ErrorDialog'] : ['ErrorDialog', 'SuccessDialog'];
  const dialog = page.locator(`.nbgrader-${wanted}`);
  await expect(dialog.or(page.locator(`.nbgrader-${other}`))).toBeVisible({ timeout: 150000 });
  await expect(page.locator(`.nbgrader-${other}`)).toHaveCount(0);
  await expect(dialog).toBeVisible();
  return dialog;
}

test.use({ mockSettings: { ...galata.DEFAULT_SETTINGS } });

test.beforeEach(async ({ page, tmpPath }) => {
  // the student's copy of the released notebook, in a folder of its own on the server
  await page.contents.uploadFile(path.join(COURSE, 'release', ASSIGNMENT, NOTEBOOK),
                                 `${tmpPath}/${ASSIGNMENT}/${NOTEBOOK}`);
});

test.afterEach(async ({ page }) => {
  await page.kernel.shutdownAll();
});

test('a correct implementation passes the visible tests and Validate', async ({ page, tmpPath }, info) => {
  await step(page, info, 'open the released notebook from the file browser', async () => {
    await openFromFileBrowser(page, `${tmpPath}/${ASSIGNMENT}/${NOTEBOOK}`);
    await expect(page.locator('.jp-Notebook')).toContainText('卷積神經網絡');
  });
  await step(page, info, 'run the setup cell', async () => {
    expect(await runCell(page, SETUP)).toBe('');
  });
  await step(page, info, 'type the implementation', async () => {
    await typeLastLine(page, ANSWER, RIGHT);
    expect(await cellSource(page, ANSWER)).toContain(RIGHT);
    expect(await cellSource(page, ANSWER)).not.toContain('NotImplementedError');
  });
  await step(page, info, 'run the answer and its visible tests', async () => {
    expect(await runCell(page, ANSWER)).toBe('');
    expect(await runCell(page, VISIBLE_TESTS)).toBe('');
    await expect(cellLocator(page, VISIBLE_TESTS).locator('.jp-InputArea-prompt'))
      .toHaveText(/\[\d+\]/);
  });
  await step(page, info, 'the other answers, pasted in', async () => {
    const solutions = cells('solutions');
    for (const [i, cell] of cells('release').entries()) {
      if (cell.metadata.nbgrader?.solution && i !== ANSWER) {
        expect(text(solutions[i])).not.toContain('NotImplementedError');
        await pasteSource(page, i, text(solutions[i]));
      }
    }
  });
  await step(page, info, 'press Validate: success', async () => {
    const dialog = await validate(page, true);
    await expect(dialog).toContainText('Success! Your notebook passes all the tests.');
    await dialog.getByRole('button', { name: 'Ok' }).click();
  });
});

test('a wrong implementation shows the failure and the counterexample', async ({ page, tmpPath }, info) => {
  await step(page, info, 'open the released notebook from the file browser', async () => {
    await openFromFileBrowser(page, `${tmpPath}/${ASSIGNMENT}/${NOTEBOOK}`);
  });
  await step(page, info, 'run the setup cell and type a wrong implementation', async () => {
    expect(await runCell(page, SETUP)).toBe('');
    await typeLastLine(page, ANSWER, WRONG);
    expect(await runCell(page, ANSWER)).toBe('');
  });
  await step(page, info, 'the visible tests fail and say where', async () => {
    const output = await runCell(page, VISIBLE_TESTS);
    expect(output).toContain('AssertionError');
    expect(output).toContain('conv_output_size(32, 3, p=2, d=2) == 32');
  });
  await step(page, info, "the course's check names the property and the counterexample", async () => {
    // what a self-learner does to see why: the check of this aspect, on the function in the kernel
    await cellLocator(page, VISIBLE_TESTS).click({ position: { x: 15, y: 5 } });
    await page.keyboard.press('b');
    const added = VISIBLE_TESTS + 1;
    await cellLocator(page, added).locator('.cm-content').click();
    await page.keyboard.type('from medgrade import grade\ngrade("conv_output_size_correct", conv_output_size)');
    await page.keyboard.press('Escape');
    const report = await runCell(page, added);
    expect(report).toContain('[conv_output_size_correct] 0 / 2 points');
    expect(report).toContain('dilation included');
    expect(report).toContain('counterexample:');
    expect(report).toMatch(/d = [2-9]/);
    expect(report).toMatch(/output size: expected \d+, got \d+/);
  });
  await step(page, info, 'press Validate: the failing cell and its error', async () => {
    const dialog = await validate(page, false);
    await expect(dialog).toContainText('The following cell failed:');
    await expect(dialog).toContainText('conv_output_size(32, 3, p=2, d=2) == 32');
    await expect(dialog).toContainText('AssertionError');
    await dialog.getByRole('button', { name: 'Ok' }).click();
  });
});
