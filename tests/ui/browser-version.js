// Which Chromium the browser tests drive, and whether Playwright can drive it.
//
// Playwright speaks the DevTools protocol of the Chromium it was released with; the course
// uses Debian's Chromium instead of downloading that one. Versions up to two majors apart
// work; further apart, the protocol may have changed under Playwright, and the tests would
// fail in ways that point elsewhere. So the run stops first, with one clear message.
//
//   node browser-version.js [EXECUTABLE]     prints both versions; exit 1 when they drift apart
'use strict';
const { execFileSync } = require('child_process');
const path = require('path');

const MAX_DRIFT = 2;

function expectedChromium() {
  const core = path.dirname(require.resolve('playwright-core/package.json'));
  const browsers = require(path.join(core, 'browsers.json')).browsers;
  const chromium = browsers.find(b => b.name === 'chromium');
  return { playwright: require(path.join(core, 'package.json')).version, version: chromium.browserVersion };
}

function major(version) {
  const m = /(\d+)\.\d+/.exec(version || '');
  return m ? Number(m[1]) : NaN;
}

function checkBrowser(executable) {
  if (!executable) {
    throw new Error("no Chromium: install Debian's chromium-headless-shell (./course test does, as root), "
      + 'or set COURSE_CHROMIUM to a Chromium executable');
  }
  let printed;
  try {
    printed = execFileSync(executable, ['--version'], { encoding: 'utf8', timeout: 30000 }).trim();
  } catch (e) {
    throw new Error(`cannot run ${executable} --version: ${e.message.split('\n')[0]}`);
  }
  const expected = expectedChromium();
  const found = major(printed), wanted = major(expected.version);
  const line = `browser: ${printed} (${executable}); Playwright ${expected.playwright} was built for Chromium ${expected.version}`;
  if (Number.isNaN(found)) {
    throw new Error(`${line}: cannot read a version from "${printed}"`);
  }
  if (Math.abs(found - wanted) > MAX_DRIFT) {
    throw new Error(`${line}: ${Math.abs(found - wanted)} major versions apart, more than ${MAX_DRIFT}. `
      + 'Pin a @playwright/test release of the same Chromium generation in tests/ui/package.json '
      + '(npm install, commit package-lock.json), or install a matching Debian chromium-headless-shell.');
  }
  return line;
}

module.exports = { checkBrowser, expectedChromium, major, MAX_DRIFT };

if (require.main === module) {
  try {
    console.log(checkBrowser(process.argv[2] || process.env.COURSE_CHROMIUM));
  } catch (e) {
    console.error(`error: ${e.message}`);
    process.exit(1);
  }
}
