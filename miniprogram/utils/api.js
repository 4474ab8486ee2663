/**
 * The one way the mini-program talks to Kabao (its HTTP contract; GET /api/v1/openapi.json), over wx.request.
 *
 * - Consumer calls carry our own bearer token, kept with wx.setStorageSync. Without one, or when the
 *   server answers 401, the module logs in silently (wx.login → POST /api/v1/mp/login) and retries
 *   the call once.
 * - Staff calls (the cashier pages) carry the staff token from POST /api/v1/merchant/login; a 401
 *   there ends the staff session and sends the person back to the cashier login.
 * - Errors arrive as {error: {code, message, details}}; the Chinese message is shown to the person
 *   (toast or modal) unless the caller asks for `quiet`, and the call rejects with an ApiError.
 * - Money-moving calls take an Idempotency-Key made once per user action (see actionKeys) and sent
 *   unchanged on every retry of that action: the automatic retry after a network failure or a
 *   re-login, and the person's own second tap after a failure.
 */
const config = require('../config')

const CONSUMER_TOKEN_KEY = 'kabao.consumerToken'
const STAFF_SESSION_KEY = 'kabao.staffSession'
const STAFF_LOGIN_PAGE = '/pages/cashier/login/index'
/** Extra attempts after a network failure (not after an HTTP answer). */
const NETWORK_RETRIES = 2
const NETWORK_RETRY_DELAY_MS = 500

class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details || {}
  }
}

const NETWORK_MESSAGE = '网络不给力，请稍后重试'

function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/**
 * A random key of 32 hex characters. It must be unique per person and action, not secret (the
 * server scopes keys to the caller), so Math.random is enough; wx.getRandomValues is asynchronous
 * and a key is needed at once, inside the tap.
 */
function newIdempotencyKey() {
  let key = ''
  for (let i = 0; i < 32; i++) key += Math.floor(Math.random() * 16).toString(16)
  return key
}

/**
 * One Idempotency-Key per user action. `keyFor(body)` returns the same key for as long as the
 * action is unfinished and its body unchanged (so a second tap after a failure retries the same
 * action); a changed body is a different action and gets a new key; `done()` after the action
 * completed makes the next tap a new action.
 */
function actionKeys() {
  let current = null
  return {
    keyFor(body) {
      const signature = JSON.stringify(body === undefined ? null : body)
      if (!current || current.signature !== signature) current = {signature, key: newIdempotencyKey()}
      return current.key
    },
    done() {
      current = null
    },
  }
}

/** wx.request as a promise of {statusCode, data, header}; a network failure rejects. */
function send({method, url, data, header, timeout}) {
  return new Promise((resolve, reject) => {
    wx.request({
      url,
      method,
      data,
      header,
      timeout: timeout || 15000,
      dataType: 'json',
      success: resolve,
      fail: err => reject(new ApiError(0, 'NETWORK_ERROR', NETWORK_MESSAGE, {errMsg: err && err.errMsg})),
    })
  })
}

function errorFrom(response) {
  const body = response.data
  const error = body && typeof body === 'object' && body.error
  if (error && error.code) {
    let message = error.message || '请求失败'
    // 400 VALIDATION_ERROR names the fields: show the first one's message too.
    const fields = error.details && error.details.fields
    const first = fields && typeof fields === 'object' && Object.keys(fields)[0]
    if (first && typeof fields[first] === 'string') message = `${message}：${fields[first]}`
    return new ApiError(response.statusCode, error.code, message, error.details)
  }
  return new ApiError(response.statusCode, 'HTTP_' + response.statusCode, `服务暂时不可用（${response.statusCode}）`)
}

/** Show an error's Chinese message: a toast for a short one, a modal for a long one. */
function showError(err) {
  const message = (err && err.message) || '操作失败，请重试'
  if (message.length <= 14) {
    wx.showToast({title: message, icon: 'none', duration: 2500})
  } else {
    wx.showModal({title: '提示', content: message, showCancel: false, confirmText: '知道了'})
  }
}

function consumerToken() {
  return wx.getStorageSync(CONSUMER_TOKEN_KEY) || ''
}

let loginInFlight = null

let simulatorLogins = 0

function wxLoginCode() {
  if (config.envVersion === 'develop' && config.simulatorUser) {
    // Development against the server's WeChat simulator only (see config.js): a fresh simulated code.
    simulatorLogins += 1
    return Promise.resolve(`sim:${config.simulatorUser}:${Date.now().toString(36)}${simulatorLogins}`)
  }
  return new Promise((resolve, reject) => {
    wx.login({
      success: res => (res && res.code ? resolve(res.code) : reject(new ApiError(0, 'WX_LOGIN_FAILED', '微信登录失败，请重试'))),
      fail: () => reject(new ApiError(0, 'WX_LOGIN_FAILED', '微信登录失败，请重试')),
    })
  })
}

/** wx.login → POST /api/v1/mp/login → our token in storage. Concurrent callers share one login. */
function login() {
  if (!loginInFlight) {
    loginInFlight = (async () => {
      const code = await wxLoginCode()
      const body = await call({method: 'POST', path: '/api/v1/mp/login', data: {code}, auth: 'none', quiet: true})
      wx.setStorageSync(CONSUMER_TOKEN_KEY, body.token)
      return body
    })()
    loginInFlight.then(() => { loginInFlight = null }, () => { loginInFlight = null })
  }
  return loginInFlight
}

function staffSession() {
  return wx.getStorageSync(STAFF_SESSION_KEY) || null
}

function setStaffSession(session) {
  wx.setStorageSync(STAFF_SESSION_KEY, session)
}

function clearStaffSession() {
  wx.removeStorageSync(STAFF_SESSION_KEY)
}

/** POST /api/v1/merchant/login; keeps {token, merchant_id, staff_id, role, store_id, username}. */
async function staffLogin(username, password) {
  const body = await request({method: 'POST', path: '/api/v1/merchant/login', data: {username, password}, auth: 'none'})
  const session = {
    token: body.token,
    merchant_id: body.merchant_id,
    staff_id: body.staff_id,
    role: body.role,
    store_id: body.store_id === undefined ? null : body.store_id,
    username,
  }
  setStaffSession(session)
  return session
}

async function sendWithRetries(req) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await send(req)
    } catch (err) {
      if (attempt >= NETWORK_RETRIES) throw err
      await sleep(NETWORK_RETRY_DELAY_MS * (attempt + 1))
    }
  }
}

/**
 * The request itself, without showing errors. Options: method, path, data, query, auth
 * ('consumer' | 'staff' | 'none'), idempotencyKey.
 */
async function call(options) {
  const auth = options.auth || 'consumer'
  const method = options.method || 'GET'
  let url = config.baseUrl.replace(/\/+$/, '') + options.path
  if (options.query) {
    const pairs = Object.keys(options.query)
      .filter(key => options.query[key] !== undefined && options.query[key] !== null && options.query[key] !== '')
      .map(key => `${encodeURIComponent(key)}=${encodeURIComponent(options.query[key])}`)
    if (pairs.length) url += (url.indexOf('?') >= 0 ? '&' : '?') + pairs.join('&')
  }
  const baseHeader = {'Content-Type': 'application/json'}
  if (options.idempotencyKey) baseHeader['Idempotency-Key'] = options.idempotencyKey
  // Network retries are safe for reads and for calls carrying an idempotency key.
  const retriable = method === 'GET' || Boolean(options.idempotencyKey)

  if (auth === 'consumer' && !consumerToken()) await login()
  for (let relogged = false; ;) {
    const header = Object.assign({}, baseHeader)
    if (auth === 'consumer') header.Authorization = 'Bearer ' + consumerToken()
    if (auth === 'staff') {
      const session = staffSession()
      if (!session) throw staffSignedOut()
      header.Authorization = 'Bearer ' + session.token
    }
    const req = {method, url, data: options.data, header}
    const response = retriable ? await sendWithRetries(req) : await send(req)
    const status = response.statusCode
    if (status >= 200 && status < 300) return response.data
    if (status === 401 && auth === 'consumer' && !relogged) {
      relogged = true
      wx.removeStorageSync(CONSUMER_TOKEN_KEY)
      await login()
      continue
    }
    if (status === 401 && auth === 'staff') {
      clearStaffSession()
      throw staffSignedOut(errorFrom(response).message)
    }
    throw errorFrom(response)
  }
}

function staffSignedOut(message) {
  wx.reLaunch({url: STAFF_LOGIN_PAGE})
  return new ApiError(401, 'UNAUTHENTICATED', message || '请先登录收银账号')
}

/** call() that shows the error's message to the person (unless options.quiet) and rethrows. */
async function request(options) {
  try {
    return await call(options)
  } catch (err) {
    if (!options.quiet) showError(err)
    throw err
  }
}

const get = (path, options) => request(Object.assign({method: 'GET', path}, options))
const post = (path, data, options) => request(Object.assign({method: 'POST', path, data: data || {}}, options))

module.exports = {
  ApiError,
  CONSUMER_TOKEN_KEY,
  STAFF_SESSION_KEY,
  actionKeys,
  call,
  clearStaffSession,
  get,
  login,
  newIdempotencyKey,
  post,
  request,
  showError,
  staffLogin,
  staffSession,
}
