/** Loading pages and components of the mini-program with miniprogram-simulate. */
const path = require('path')
const simulate = require('miniprogram-simulate')

const ROOT = path.resolve(__dirname, '../..')

/**
 * Load and attach a page (or component) by its path under the mini-program root, compiled by the
 * official WXML compiler. Returns the simulate component; its `instance` is the page's `this`.
 */
const loaded = new Map()

function render(pagePath, properties) {
  // Load once per test file: jest keeps the page's module, so its Page() call runs only once.
  if (!loaded.has(pagePath)) loaded.set(pagePath, simulate.load(path.join(ROOT, pagePath), {rootPath: ROOT}))
  const id = loaded.get(pagePath)
  const comp = simulate.render(id, properties)
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}

/** The text a person would see on the rendered page. */
function text(comp) {
  return comp.dom.textContent.replace(/\s+/g, ' ').trim()
}

module.exports = {ROOT, render, text}
