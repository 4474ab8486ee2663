/**
 * `wx` for node with a real HTTP transport, so utils/api.js can talk to a real Kabao server:
 * wx.request over node's http, wx.login handing out the WeChat simulator's login codes
 * (`sim:<name>:<nonce>`: a fresh single-use code for the same WeChat user each time), storage in
 * memory, and the UI calls recorded.
 */
const http = require('http')

function request(options) {
  const url = new URL(options.url)
  const method = options.method || 'GET'
  const hasBody = method !== 'GET' && options.data !== undefined
  const body = hasBody ? Buffer.from(typeof options.data === 'string' ? options.data : JSON.stringify(options.data)) : null
  const headers = Object.assign({}, options.header)
  if (body) headers['Content-Length'] = body.length
  const req = http.request({
    hostname: url.hostname,
    port: url.port,
    path: url.pathname + url.search,
    method,
    headers,
    timeout: options.timeout || 15000,
  }, res => {
    const chunks = []
    res.on('data', chunk => chunks.push(chunk))
    res.on('end', () => {
      const raw = Buffer.concat(chunks)
      let data = raw.toString('utf8')
      if (/json/.test(res.headers['content-type'] || '')) {
        try {
          data = JSON.parse(data)
        } catch (err) {
          // leave the text: wx.request does the same with dataType json and a bad body
        }
      } else if (/^image\//.test(res.headers['content-type'] || '')) {
        data = raw
      }
      options.success && options.success({statusCode: res.statusCode, data, header: res.headers})
    })
  })
  req.on('timeout', () => req.destroy(new Error('timeout')))
  req.on('error', err => options.fail && options.fail({errMsg: `request:fail ${err.message}`}))
  if (body) req.write(body)
  req.end()
  return {abort: () => req.destroy()}
}

function createNodeWx(userName) {
  const storage = new Map()
  const shown = []
  let logins = 0
  const calls = []
  const later = fn => setTimeout(fn, 0)
  // Navigation, screen and share calls: recorded, then answered ok.
  const ok = name => options => {
    calls.push({name, options})
    later(() => options && options.success && options.success({errMsg: `${name}:ok`}))
  }
  return {
    shown,
    calls,
    /** The `options` of each recorded call to `name`. */
    callsTo: name => calls.filter(call => call.name === name).map(call => call.options),
    get logins() {
      return logins
    },
    request,
    login(options) {
      logins += 1
      later(() => options.success({code: `sim:${userName}:${logins}`, errMsg: 'login:ok'}))
    },
    getStorageSync: key => (storage.has(key) ? storage.get(key) : ''),
    setStorageSync: (key, value) => storage.set(key, value),
    removeStorageSync: key => storage.delete(key),
    getAccountInfoSync: () => ({miniProgram: {envVersion: 'develop', appId: 'touristappid'}}),
    showToast: options => shown.push(options.title),
    showModal: options => {
      shown.push(options.content)
      later(() => options.success && options.success({confirm: true, cancel: false}))
    },
    showLoading: () => {},
    hideLoading: () => {},
    reLaunch: ok('reLaunch'),
    redirectTo: ok('redirectTo'),
    navigateTo: ok('navigateTo'),
    navigateBack: ok('navigateBack'),
    switchTab: ok('switchTab'),
    setNavigationBarTitle: ok('setNavigationBarTitle'),
    setKeepScreenOn: ok('setKeepScreenOn'),
    setScreenBrightness: ok('setScreenBrightness'),
    setVisualEffectOnCapture: ok('setVisualEffectOnCapture'),
    requestSubscribeMessage: ok('requestSubscribeMessage'),
    getScreenBrightness: options => later(() => options.success({value: 0.5})),
    onUserCaptureScreen: () => {},
    offUserCaptureScreen: () => {},
    requestPayment: options => later(() => options.fail({errMsg: 'requestPayment:fail not in node'})),
  }
}

module.exports = {createNodeWx}
