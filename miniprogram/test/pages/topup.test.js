/** Top-up: tiers with bonus, custom amount within limits, subscribe before paying, one key per action. */
const api = require('../../utils/api')
const config = require('../../config')
const {apiError, flushPromises, freshWx, shownMessages} = require('../support/wx')
const {render, text} = require('../support/load')

const OPTIONS = {
  enabled: true,
  tiers: [
    {amount_fen: 20000, bonus_fen: 2000, within_cap: true},
    {amount_fen: 50000, bonus_fen: 6000, within_cap: true},
    {amount_fen: 100000, bonus_fen: 15000, within_cap: false},
  ],
  allow_custom: true,
  min_fen: 5000,
  max_fen: 200000,
  cap_fen: 500000,
  room_fen: 90000,
}
const ORDER = {order_no: 'T1', amount_fen: 20000, bonus_fen: 2000,
  pay_params: {timeStamp: '1', nonceStr: 'n', package: 'prepay_id=wx1', signType: 'MD5', paySign: 'S'}}

let server

beforeEach(() => {
  jest.useFakeTimers()
  server = freshWx()
  wx.setStorageSync(api.CONSUMER_TOKEN_KEY, 't')
  server.on('GET /api/v1/mp/cards/10/top-up-options', {status: 200, body: OPTIONS})
  server.on('GET /api/v1/mp/orders/T1', {status: 200, body: {order_no: 'T1', status: 'paid', card_id: 10}})
  config.subscribeTemplateIds.topUp = ''
})

afterEach(() => {
  jest.useRealTimers()
})

async function openPage() {
  const page = render('pages/topup/index')
  await page.instance.onLoad({card_id: '10'})
  return page
}

const tap = (page, index) => page.instance.onSelectTier({currentTarget: {dataset: {index}}})
const type = (page, value) => page.instance.onCustomInput({detail: {value}})

test('tiers show their bonus; a tier over the card cap cannot be chosen', async () => {
  const page = await openPage()
  const shown = text(page)
  expect(shown).toContain('¥200.00')
  expect(shown).toContain('送 ¥20.00')
  expect(shown).toContain('送 ¥60.00')
  expect(shown).toContain('超出余额上限')
  tap(page, 2)
  expect(page.instance.data.amountFen).toBe(0)
  tap(page, 0)
  expect(text(page)).toContain('支付 ¥200.00，赠送 ¥20.00')
})

test('a custom amount is checked against the limits, and earns the bonus of the tier it reaches', async () => {
  const page = await openPage()
  type(page, '10')
  expect(text(page)).toContain('最低充值 50.00 元')
  expect(page.instance.data.amountFen).toBe(0)
  type(page, '2500')
  expect(text(page)).toContain('最高充值 2000.00 元')
  type(page, '850')
  expect(text(page)).toContain('超过本卡余额上限')
  type(page, '250')
  expect(page.instance.data.customError).toBe('')
  expect(text(page)).toContain('支付 ¥250.00，赠送 ¥20.00')
})

test('paying asks for the subscribe message first, then orders, pays and confirms the order', async () => {
  config.subscribeTemplateIds.topUp = 'tpl-top-up'
  const order = []
  wx.requestSubscribeMessage.mockImplementation(options => {
    order.push('subscribe')
    options.success({})
  })
  server.on('POST /api/v1/mp/cards/10/top-ups', () => {
    order.push('top-up')
    return {status: 201, body: ORDER}
  })
  wx.requestPayment.mockImplementation(options => {
    order.push('pay')
    options.success({})
  })
  const page = await openPage()
  tap(page, 0)
  await page.instance.onPay()
  expect(order).toEqual(['subscribe', 'top-up', 'pay'])
  expect(wx.requestSubscribeMessage).toHaveBeenCalledWith(expect.objectContaining({tmplIds: ['tpl-top-up']}))
  expect(server.callsTo('POST /api/v1/mp/cards/10/top-ups')[0].data).toEqual({amount_fen: 20000})
  expect(server.callsTo('GET /api/v1/mp/orders/T1')).toHaveLength(1)
  expect(wx.navigateBack).toHaveBeenCalled()
})

test('a refused subscription does not stop the top-up', async () => {
  config.subscribeTemplateIds.topUp = 'tpl-top-up'
  wx.requestSubscribeMessage.mockImplementation(options => options.fail({errMsg: 'requestSubscribeMessage:fail'}))
  server.on('POST /api/v1/mp/cards/10/top-ups', {status: 201, body: ORDER})
  const page = await openPage()
  tap(page, 0)
  await page.instance.onPay()
  expect(wx.requestPayment).toHaveBeenCalled()
})

test('a retry after a failure reuses the key; another amount is another action with a new key', async () => {
  server.on('POST /api/v1/mp/cards/10/top-ups', [
    apiError(503, 'SERVICE_UNAVAILABLE', '服务繁忙'),
    {status: 201, body: ORDER},
    {status: 201, body: ORDER},
  ])
  const page = await openPage()
  tap(page, 0)
  await page.instance.onPay()
  expect(shownMessages()).toContain('服务繁忙')
  await page.instance.onPay()
  tap(page, 1)
  await page.instance.onPay()
  const keys = server.callsTo('POST /api/v1/mp/cards/10/top-ups').map(call => call.header['Idempotency-Key'])
  expect(keys[1]).toBe(keys[0])
  expect(keys[2]).not.toBe(keys[0])
})

test("the server's refusal of an amount is shown", async () => {
  server.on('POST /api/v1/mp/cards/10/top-ups', apiError(422, 'AMOUNT_NOT_ALLOWED', '超出单卡余额上限'))
  const page = await openPage()
  tap(page, 0)
  await page.instance.onPay()
  await flushPromises()
  expect(shownMessages()).toEqual(['超出单卡余额上限'])
  expect(wx.requestPayment).not.toHaveBeenCalled()
})
