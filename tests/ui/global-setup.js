// Before any test: log the browser's version and stop if Playwright cannot drive it.
'use strict';
const { checkBrowser } = require('./browser-version');

module.exports = async () => {
  console.log(checkBrowser(process.env.COURSE_CHROMIUM));
};
