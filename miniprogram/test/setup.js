/**
 * Jest setup for the page and component tests: a mocked `wx`, and `Page`/`App`/`getApp` so that
 * miniprogram-simulate can load a page as a component (as tdesign-miniprogram's test setup does).
 */
const {installWx} = require('./support/wx')

global.wx = installWx()

const app = {globalData: {}}
global.App = options => Object.assign(app, options)
global.getApp = () => app
global.getCurrentPages = () => []

const PAGE_LIFECYCLE = new Set(['data', 'options', 'behaviors'])

/**
 * Page({data, onLoad, onTap, …}) → Component({data, methods: {onLoad, onTap, …}}): tests call the
 * lifecycle methods (onLoad, onShow, onHide, onUnload, …) themselves, in the order WeChat would.
 */
global.Page = options => {
  const methods = {}
  const definition = {data: options.data || {}, methods}
  for (const key of Object.keys(options)) {
    if (PAGE_LIFECYCLE.has(key)) continue
    if (typeof options[key] === 'function') methods[key] = options[key]
  }
  return global.Component(definition)
}
