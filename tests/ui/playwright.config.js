// Playwright for the course's browser tests; `./course browser` (tests/browser.py) starts the
// JupyterLab server and sets the COURSE_UI_* variables read here.
'use strict';
const galata = require('@jupyterlab/galata/lib/playwright-config');

module.exports = {
  ...galata,
  testDir: './specs',
  outputDir: process.env.COURSE_UI_OUTPUT || 'test-results',
  preserveOutput: 'failures-only',          // step screenshots and traces of failed tests only
  reporter: [['list']],
  globalSetup: require.resolve('./global-setup'),
  timeout: 180000,                          // Validate runs the whole notebook on the server
  globalTimeout: 600000,
  expect: { timeout: 30000 },
  workers: 1,
  retries: 0,
  forbidOnly: true,
  use: {
    ...galata.use,
    baseURL: process.env.COURSE_UI_URL,
    browserName: 'chromium',
    viewport: { width: 1280, height: 900 },
    launchOptions: {
      executablePath: process.env.COURSE_CHROMIUM,
      // as root in a container: no sandbox; and nothing of Chromium's own that calls out
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync',
             '--disable-quic'],
    },
    video: 'off',                           // Galata's default needs a downloaded ffmpeg
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    actionTimeout: 30000,
  },
  projects: [
    { name: 'course', testIgnore: /(screenshots|selfcheck|untrusted)\.spec/ },
    { name: 'untrusted', testMatch: /untrusted\.spec/ },
    { name: 'screenshots', testMatch: /screenshots\.spec/ },
    { name: 'selfcheck', testMatch: /selfcheck\.spec/ },
  ],
};
