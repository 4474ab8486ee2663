/**
 * A mocked `wx` for page tests: every API the mini-program uses is a jest.fn, storage is a Map,
 * and wx.request is answered by routes a test declares (`server.on('POST /api/v1/mp/login', …)`).
 */

function flushPromises(rounds = 20) {
  let chain = Promise.resolve()
  for (let i = 0; i < rounds; i++) chain = chain.then(() => undefined)
  return chain
}

/** A fake HTTP server behind wx.request. A handler returns {status, body} or a sequence of them. */
function createServer() {
  const routes = new Map()
  const calls = []
  return {
    calls,
    on(route, handler) {
      routes.set(route, Array.isArray(handler) ? handler.slice() : handler)
      return this
    },
    /** Requests that went to `route` ("POST /path"), oldest first. */
    callsTo(route) {
      return calls.filter(call => call.route === route)
    },
    handle(options) {
      const url = new URL(options.url)
      const route = `${options.method || 'GET'} ${url.pathname}`
      const call = {
        route,
        url: options.url,
        query: Object.fromEntries(url.searchParams),
        data: options.data,
        header: options.header || {},
      }
      calls.push(call)
      let handler = routes.get(route)
      if (Array.isArray(handler)) handler = handler.length > 1 ? handler.shift() : handler[0]
      if (!handler) return {status: 404, body: {error: {code: 'NOT_FOUND', message: '未找到', details: {}}}}
      return typeof handler === 'function' ? handler(call) : handler
    },
  }
}

const ASYNC_APIS = [
  'login', 'requestPayment', 'requestSubscribeMessage', 'scanCode', 'showModal', 'setKeepScreenOn',
  'setScreenBrightness', 'getScreenBrightness', 'setVisualEffectOnCapture', 'navigateTo', 'redirectTo',
  'reLaunch', 'switchTab', 'navigateBack', 'stopPullDownRefresh', 'showShareMenu', 'setClipboardData',
  'setNavigationBarTitle', 'addCard',
]

function installWx() {
  const storage = new Map()
  const server = createServer()
  let loginCount = 0
  const wx = {
    __server: server,
    __storage: storage,
    request: jest.fn(options => {
      const answer = server.handle(options)
      Promise.resolve().then(() => {
        if (answer === 'network-error') {
          options.fail && options.fail({errMsg: 'request:fail timeout'})
        } else {
          options.success && options.success({statusCode: answer.status, data: answer.body, header: {}})
        }
      })
      return {abort() {}}
    }),
    getStorageSync: jest.fn(key => (storage.has(key) ? storage.get(key) : '')),
    setStorageSync: jest.fn((key, value) => storage.set(key, value)),
    removeStorageSync: jest.fn(key => storage.delete(key)),
    showToast: jest.fn(),
    showLoading: jest.fn(),
    hideLoading: jest.fn(),
    onUserCaptureScreen: jest.fn(),
    offUserCaptureScreen: jest.fn(),
    getAccountInfoSync: jest.fn(() => ({miniProgram: {envVersion: 'release', appId: 'touristappid'}})),
  }
  for (const name of ASYNC_APIS) {
    wx[name] = jest.fn(options => {
      Promise.resolve().then(() => options && options.success && options.success({errMsg: `${name}:ok`}))
    })
  }
  wx.login = jest.fn(options => {
    loginCount += 1
    Promise.resolve().then(() => options.success({code: `code-${loginCount}`, errMsg: 'login:ok'}))
  })
  wx.getScreenBrightness = jest.fn(options => {
    Promise.resolve().then(() => options.success({value: 0.4}))
  })
  wx.showModal = jest.fn(options => {
    Promise.resolve().then(() => options.success && options.success({confirm: true, cancel: false, content: ''}))
  })
  return wx
}

module.exports = {createServer, flushPromises, installWx}

/**
 * A fresh `wx` for one test, with a consumer login route answering tokens `token-1`, `token-2`, …
 * Returns the fake server.
 */
function freshWx() {
  global.wx = installWx()
  global.getApp().globalData = {}
  let logins = 0
  global.wx.__server.on('POST /api/v1/mp/login', () => {
    logins += 1
    return {status: 200, body: {token: `token-${logins}`, expires_in: 604800, consumer_id: 7}}
  })
  return global.wx.__server
}

function apiError(status, code, message, details) {
  return {status, body: {error: {code, message, details: details || {}}}}
}

/** The messages shown to the person so far (toasts and modals). */
function shownMessages() {
  return global.wx.showToast.mock.calls.map(([options]) => options.title)
    .concat(global.wx.showModal.mock.calls.map(([options]) => options.content))
}

module.exports.freshWx = freshWx
module.exports.apiError = apiError
module.exports.shownMessages = shownMessages
