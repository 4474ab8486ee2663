/** The offer page: claim a free card, or buy one and wait until the server says the order is paid. */
const api = require('../../utils/api')
const {apiError, flushPromises, freshWx, shownMessages} = require('../support/wx')
const {render, text} = require('../support/load')

const PRODUCT = {product_id: 2, name: '100元储值卡', kind: 'stored_value', face_value_fen: 10000,
  validity: {type: 'permanent'}, terms: '永久有效，可转赠', face_image_url: ''}
const PAY_PARAMS = {timeStamp: '1', nonceStr: 'n', package: 'prepay_id=wx1', signType: 'MD5', paySign: 'S'}

function batch(extra) {
  return Object.assign({batch_id: 2, name: '在线购买', price_fen: 10000, issue_method: 'purchase', remaining: 5,
    status: 'active', per_user_limit: 5, region_codes: [], product: PRODUCT, merchant: {merchant_id: 1, name: '示范咖啡'}},
  extra)
}

let server

beforeEach(() => {
  jest.useFakeTimers()
  server = freshWx()
  wx.setStorageSync(api.CONSUMER_TOKEN_KEY, 't')
})

afterEach(() => {
  jest.useRealTimers()
})

async function openPage(query, body) {
  server.on('GET /api/v1/mp/batches/2', {status: 200, body: body || batch()})
  const page = render('pages/batch/index')
  await page.instance.onLoad(query || {id: '2'})
  return page
}

test('shows the offer: product, price, face value, remaining and terms', async () => {
  const page = await openPage()
  const shown = text(page)
  for (const part of ['100元储值卡', '示范咖啡', '¥100.00', '5 张', '永久有效，可转赠', '立即购买 ¥100.00']) {
    expect(shown).toContain(part)
  }
})

test('opened from a mini-program code, the batch id comes from the scene', async () => {
  await openPage({scene: encodeURIComponent('id=2')})
  expect(server.callsTo('GET /api/v1/mp/batches/2')).toHaveLength(1)
})

test('claiming a free card opens it', async () => {
  const page = await openPage({id: '2'}, batch({issue_method: 'claim', price_fen: 0}))
  expect(text(page)).toContain('免费领取')
  server.on('POST /api/v1/mp/batches/2/claim', {status: 201, body: {card_id: 31}})
  page.querySelector('.claim').dispatchEvent('tap') // the person taps the button
  await jest.advanceTimersByTimeAsync(50)
  expect(server.callsTo('POST /api/v1/mp/batches/2/claim')).toHaveLength(1)
  expect(wx.redirectTo).toHaveBeenCalledWith({url: '/pages/card/index?id=31'})
})

test('a sold-out claim shows the server message and opens nothing', async () => {
  const page = await openPage({id: '2'}, batch({issue_method: 'claim', price_fen: 0}))
  server.on('POST /api/v1/mp/batches/2/claim', apiError(409, 'LIMIT_REACHED', '已达领取上限'))
  await page.instance.onClaim()
  expect(shownMessages()).toEqual(['已达领取上限'])
  expect(wx.redirectTo).not.toHaveBeenCalled()
})

test('buying: pay, then poll the order until paid, then open the new card', async () => {
  const page = await openPage()
  server.on('POST /api/v1/mp/batches/2/purchase', {status: 201, body: {order_no: 'P1', amount_fen: 10000, pay_params: PAY_PARAMS}})
  server.on('GET /api/v1/mp/orders/P1', [
    {status: 200, body: {order_no: 'P1', status: 'pending', card_id: null}},
    {status: 200, body: {order_no: 'P1', status: 'paid', card_id: 42}},
  ])
  const bought = page.instance.onPurchase()
  await flushPromises()
  expect(wx.requestPayment).toHaveBeenCalledWith(expect.objectContaining(PAY_PARAMS))
  expect(wx.redirectTo).not.toHaveBeenCalled() // the payment callback alone proves nothing
  await jest.advanceTimersByTimeAsync(2000)
  await bought
  expect(server.callsTo('GET /api/v1/mp/orders/P1')).toHaveLength(2)
  expect(wx.redirectTo).toHaveBeenCalledWith({url: '/pages/card/index?id=42'})
})

test('buying again after a cancelled payment resumes the same order (same Idempotency-Key)', async () => {
  const page = await openPage()
  server.on('POST /api/v1/mp/batches/2/purchase', {status: 201, body: {order_no: 'P1', pay_params: PAY_PARAMS}})
  server.on('GET /api/v1/mp/orders/P1', {status: 200, body: {order_no: 'P1', status: 'paid', card_id: 42}})
  wx.requestPayment.mockImplementationOnce(options => options.fail({errMsg: 'requestPayment:fail cancel'}))
  await page.instance.onPurchase()
  expect(shownMessages()).toEqual(['已取消支付'])
  await page.instance.onPurchase()
  const keys = server.callsTo('POST /api/v1/mp/batches/2/purchase').map(call => call.header['Idempotency-Key'])
  expect(keys).toHaveLength(2)
  expect(keys[0]).toBeTruthy()
  expect(keys[1]).toBe(keys[0])
  expect(wx.redirectTo).toHaveBeenCalledWith({url: '/pages/card/index?id=42'})
})

test('a code batch points to binding instead of selling', async () => {
  const page = await openPage({id: '2'}, batch({issue_method: 'code', price_fen: 0}))
  expect(text(page)).toContain('使用兑换码绑卡')
  expect(text(page)).not.toContain('立即购买')
})

test('the share keeps the offer path', async () => {
  const page = await openPage()
  expect(page.instance.onShareAppMessage()).toEqual({title: '示范咖啡：在线购买', path: '/pages/batch/index?id=2'})
})

test('a double-tapped buy button places one order', async () => {
  const page = await openPage()
  server.on('POST /api/v1/mp/batches/2/purchase', {status: 201, body: {order_no: 'P1', pay_params: PAY_PARAMS}})
  server.on('GET /api/v1/mp/orders/P1', {status: 200, body: {order_no: 'P1', status: 'paid', card_id: 42}})
  page.querySelector('.purchase').dispatchEvent('tap')
  page.querySelector('.purchase').dispatchEvent('tap')
  await jest.advanceTimersByTimeAsync(50)
  expect(server.callsTo('POST /api/v1/mp/batches/2/purchase')).toHaveLength(1)
  expect(wx.requestPayment).toHaveBeenCalledTimes(1)
})
