/** utils/api.js: tokens, silent re-login, the error envelope shown, idempotency keys on retries. */
const api = require('../utils/api')
const {apiError, flushPromises, freshWx, shownMessages} = require('./support/wx')

let server

beforeEach(() => {
  server = freshWx()
})

describe('consumer calls', () => {
  test('log in with wx.login first when there is no token, and keep the token in storage', async () => {
    server.on('GET /api/v1/mp/cards', {status: 200, body: {items: []}})
    await expect(api.get('/api/v1/mp/cards')).resolves.toEqual({items: []})
    expect(server.callsTo('POST /api/v1/mp/login')[0].data).toEqual({code: 'code-1'})
    expect(wx.setStorageSync).toHaveBeenCalledWith(api.CONSUMER_TOKEN_KEY, 'token-1')
    expect(server.callsTo('GET /api/v1/mp/cards')[0].header.Authorization).toBe('Bearer token-1')
  })

  test('on 401 log in again silently and retry the call once with the new token', async () => {
    wx.setStorageSync(api.CONSUMER_TOKEN_KEY, 'expired')
    server.on('GET /api/v1/mp/cards', [
      apiError(401, 'UNAUTHENTICATED', '请先登录'),
      {status: 200, body: {items: [{card_id: 1}]}},
    ])
    await expect(api.get('/api/v1/mp/cards')).resolves.toEqual({items: [{card_id: 1}]})
    const calls = server.callsTo('GET /api/v1/mp/cards')
    expect(calls.map(call => call.header.Authorization)).toEqual(['Bearer expired', 'Bearer token-1'])
    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(wx.showToast).not.toHaveBeenCalled()
    expect(wx.showModal).not.toHaveBeenCalled()
  })

  test('a second 401 is not retried again: the person is told', async () => {
    wx.setStorageSync(api.CONSUMER_TOKEN_KEY, 'expired')
    server.on('GET /api/v1/mp/cards', apiError(401, 'UNAUTHENTICATED', '登录已过期'))
    await expect(api.get('/api/v1/mp/cards')).rejects.toMatchObject({status: 401, code: 'UNAUTHENTICATED'})
    expect(server.callsTo('GET /api/v1/mp/cards')).toHaveLength(2)
    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(shownMessages()).toEqual(['登录已过期'])
  })

  test('calls made together share one wx.login', async () => {
    server.on('GET /api/v1/mp/cards', {status: 200, body: {items: []}})
    await Promise.all([api.get('/api/v1/mp/cards'), api.get('/api/v1/mp/cards'), api.get('/api/v1/mp/cards')])
    expect(wx.login).toHaveBeenCalledTimes(1)
  })

  test("the envelope's Chinese message is shown: a toast when short, a modal when long", async () => {
    wx.setStorageSync(api.CONSUMER_TOKEN_KEY, 't')
    server.on('POST /api/v1/mp/batches/1/claim', apiError(409, 'SOLD_OUT', '已领完'))
    const err = await api.post('/api/v1/mp/batches/1/claim').catch(e => e)
    expect(err).toBeInstanceOf(api.ApiError)
    expect(err).toMatchObject({status: 409, code: 'SOLD_OUT', message: '已领完'})
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({title: '已领完', icon: 'none'}))

    const long = '充值金额不在可选档位或自定义范围内，请重新选择'
    server.on('POST /api/v1/mp/cards/3/top-ups', apiError(422, 'AMOUNT_NOT_ALLOWED', long))
    await api.post('/api/v1/mp/cards/3/top-ups', {amount_fen: 1}, {idempotencyKey: 'k'}).catch(() => null)
    expect(wx.showModal).toHaveBeenCalledWith(expect.objectContaining({content: long, showCancel: false}))
  })

  test('a validation error shows the message of the field it names', async () => {
    wx.setStorageSync(api.CONSUMER_TOKEN_KEY, 't')
    server.on('POST /api/v1/mp/cards/3/top-ups', apiError(400, 'VALIDATION_ERROR', '请求参数有误',
      {fields: {amount_fen: '必须是正整数'}}))
    await expect(api.post('/api/v1/mp/cards/3/top-ups', {amount_fen: -1}, {idempotencyKey: 'k'}))
      .rejects.toMatchObject({code: 'VALIDATION_ERROR', details: {fields: {amount_fen: '必须是正整数'}}})
    expect(shownMessages()).toEqual(['请求参数有误：必须是正整数'])
  })

  test('quiet calls show nothing; an answer without an envelope still gives a Chinese message', async () => {
    wx.setStorageSync(api.CONSUMER_TOKEN_KEY, 't')
    server.on('GET /api/v1/mp/cards', {status: 502, body: '<html>Bad Gateway</html>'})
    await expect(api.get('/api/v1/mp/cards', {quiet: true})).rejects.toMatchObject({status: 502})
    expect(shownMessages()).toEqual([])
    await api.get('/api/v1/mp/cards').catch(() => null)
    expect(shownMessages()).toEqual(['服务暂时不可用（502）'])
  })

  test('in develop against the WeChat simulator, login uses simulator codes instead of wx.login', async () => {
    const config = require('../config')
    const saved = {envVersion: config.envVersion, simulatorUser: config.simulatorUser}
    Object.assign(config, {envVersion: 'develop', simulatorUser: 'devtools'})
    try {
      server.on('GET /api/v1/mp/cards', {status: 200, body: {items: []}})
      await api.get('/api/v1/mp/cards')
      expect(wx.login).not.toHaveBeenCalled()
      expect(server.callsTo('POST /api/v1/mp/login')[0].data.code).toMatch(/^sim:devtools:\w+$/)
    } finally {
      Object.assign(config, saved)
    }
  })
})

describe('idempotency keys', () => {
  test('actionKeys gives one key per action: the same on a retry, a new one for a new body or after done()', () => {
    const keys = api.actionKeys()
    const first = keys.keyFor({amount_fen: 30000})
    expect(first).toMatch(/^[0-9a-f]{32}$/)
    expect(keys.keyFor({amount_fen: 30000})).toBe(first)
    const other = keys.keyFor({amount_fen: 50000})
    expect(other).not.toBe(first)
    keys.done()
    expect(keys.keyFor({amount_fen: 50000})).not.toBe(other)
  })

  test('the same Idempotency-Key is sent on the retry after a re-login', async () => {
    wx.setStorageSync(api.CONSUMER_TOKEN_KEY, 'expired')
    server.on('POST /api/v1/mp/cards/3/top-ups', [
      apiError(401, 'UNAUTHENTICATED', '请先登录'),
      {status: 201, body: {order_no: 'T1'}},
    ])
    await api.post('/api/v1/mp/cards/3/top-ups', {amount_fen: 100}, {idempotencyKey: 'key-1'})
    const keys = server.callsTo('POST /api/v1/mp/cards/3/top-ups').map(call => call.header['Idempotency-Key'])
    expect(keys).toEqual(['key-1', 'key-1'])
  })

  test('a network failure is retried with the same key; without a key a POST is not retried', async () => {
    jest.useFakeTimers()
    try {
      wx.setStorageSync(api.CONSUMER_TOKEN_KEY, 't')
      server.on('POST /api/v1/mp/cards/3/top-ups', ['network-error', {status: 201, body: {order_no: 'T1'}}])
      const done = api.post('/api/v1/mp/cards/3/top-ups', {amount_fen: 100}, {idempotencyKey: 'key-2'})
      await flushPromises()
      await jest.advanceTimersByTimeAsync(1000)
      await expect(done).resolves.toEqual({order_no: 'T1'})
      const keys = server.callsTo('POST /api/v1/mp/cards/3/top-ups').map(call => call.header['Idempotency-Key'])
      expect(keys).toEqual(['key-2', 'key-2'])

      server.on('POST /api/v1/mp/cards/bind', ['network-error', {status: 201, body: {}}])
      await expect(api.post('/api/v1/mp/cards/bind', {code: 'X'})).rejects.toMatchObject({code: 'NETWORK_ERROR'})
      expect(server.callsTo('POST /api/v1/mp/cards/bind')).toHaveLength(1)
      expect(shownMessages()).toContain('网络不给力，请稍后重试')
    } finally {
      jest.useRealTimers()
    }
  })
})

describe('staff calls', () => {
  test('staff login keeps the session; staff calls carry its token and never wx.login', async () => {
    server.on('POST /api/v1/merchant/login', {status: 200, body: {
      token: 'staff-token', merchant_id: 1, staff_id: 5, role: 'cashier', store_id: 2,
    }})
    server.on('GET /api/v1/merchant/stores', {status: 200, body: {items: []}})
    const session = await api.staffLogin('demo_cashier', 'pw')
    expect(session).toMatchObject({role: 'cashier', store_id: 2, username: 'demo_cashier'})
    await api.get('/api/v1/merchant/stores', {auth: 'staff'})
    expect(server.callsTo('GET /api/v1/merchant/stores')[0].header.Authorization).toBe('Bearer staff-token')
    expect(server.callsTo('POST /api/v1/merchant/login')[0].header.Authorization).toBeUndefined()
    expect(wx.login).not.toHaveBeenCalled()
  })

  test('a staff 401 ends the session and goes back to the cashier login', async () => {
    wx.setStorageSync(api.STAFF_SESSION_KEY, {token: 'old', role: 'cashier', store_id: 1})
    server.on('GET /api/v1/merchant/stores', apiError(401, 'UNAUTHENTICATED', '登录已过期，请重新登录'))
    await expect(api.get('/api/v1/merchant/stores', {auth: 'staff'})).rejects.toMatchObject({status: 401})
    expect(api.staffSession()).toBeNull()
    expect(wx.reLaunch).toHaveBeenCalledWith({url: '/pages/cashier/login/index'})
    expect(wx.login).not.toHaveBeenCalled()
    expect(shownMessages()).toEqual(['登录已过期，请重新登录'])
  })
})
