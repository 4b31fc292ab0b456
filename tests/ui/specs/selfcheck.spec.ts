// A test that fails on purpose, run by the course's own tests (project 'selfcheck') to show
// that a failed browser test leaves what a person needs: a screenshot after each step, the
// page when it failed, and a trace.
import { expect, galata, test } from '@jupyterlab/galata';

import { step } from './course';

test.use({ mockSettings: { ...galata.DEFAULT_SETTINGS } });

test('a failing test keeps its screenshots and trace', async ({ page }, info) => {
  test.skip(!process.env.COURSE_UI_SELFCHECK, 'only when the course checks its failure artifacts');
  await step(page, info, 'the launcher is there', async () => {
    await expect(page.locator('.jp-Launcher')).toBeVisible();
  });
  await step(page, info, 'a text that is not there', async () => {
    await expect(page.locator('body')).toContainText('no page shows this sentence', { timeout: 1000 });
  });
});
