/** The card page: balances, the dynamic code refreshed every 30 s / on onShow / on a screenshot. */
const api = require('../../utils/api')
const REFRESH_INTERVAL_MS = 30 * 1000 // what the person is promised: a new code every 30 s
const {apiError, flushPromises, freshWx, shownMessages} = require('../support/wx')
const {render, text} = require('../support/load')

const CARD = {
  card_id: 10,
  card_no_masked: '8103 **** **** 6445',
  merchant: {merchant_id: 1, name: '卡包示范咖啡'},
  product: {product_id: 2, name: '100元储值卡', kind: 'stored_value', validity: {type: 'permanent'},
    top_up: {enabled: true}, refund: {allowed: true, fee_percent: 5}, terms: '永久有效'},
  status: 'active',
  balance_fen: 12000,
  principal_fen: 10000,
  bonus_fen: 2000,
  remaining_uses: 0,
  points: 0,
  expires_at: null,
  transferable: true,
  face_image_url: 'https://kabao.example.com/face.png',
}

let server
let codes

beforeEach(() => {
  jest.useFakeTimers()
  server = freshWx()
  wx.setStorageSync(api.CONSUMER_TOKEN_KEY, 't')
  codes = 0
  server.on('GET /api/v1/mp/cards/10', {status: 200, body: CARD})
  server.on('POST /api/v1/mp/cards/10/codes', () => {
    codes += 1
    const digits = String(codes).padStart(18, '0')
    return {status: 201, body: {qr_payload: `KB1:tok${codes}`, numeric_code: digits, expires_in: 60,
      qr_png_url: `https://kabao.example.com/api/v1/mp/qr/tok${codes}.png`}}
  })
})

afterEach(() => {
  jest.useRealTimers()
})

async function openPage(card) {
  if (card) server.on('GET /api/v1/mp/cards/10', {status: 200, body: card})
  const page = render('pages/card/index')
  page.instance.onLoad({id: '10'})
  await page.instance.onShow()
  await flushPromises()
  return page
}

const codeRequests = () => server.callsTo('POST /api/v1/mp/cards/10/codes').length

test('shows balance, principal, bonus and validity, and the code as QR image and grouped number', async () => {
  const page = await openPage()
  const shown = text(page)
  expect(shown).toContain('¥120.00')
  expect(shown).toContain('¥100.00')
  expect(shown).toContain('¥20.00')
  expect(shown).toContain('长期有效')
  expect(shown).toContain('000000 000000 000001')
  expect(page.querySelector('#member-code').data.qrUrl).toBe('https://kabao.example.com/api/v1/mp/qr/tok1.png')
})

test('the code is refreshed every 30 seconds, not before', async () => {
  const page = await openPage()
  expect(codeRequests()).toBe(1)
  await jest.advanceTimersByTimeAsync(REFRESH_INTERVAL_MS - 1)
  expect(codeRequests()).toBe(1)
  await jest.advanceTimersByTimeAsync(1)
  expect(codeRequests()).toBe(2)
  expect(page.instance.data.code.numericCode).toBe('000000000000000002')
  await jest.advanceTimersByTimeAsync(REFRESH_INTERVAL_MS)
  expect(codeRequests()).toBe(3)
  expect(text(page)).toContain('000000 000000 000003')
})

test('hiding the page stops refreshing; showing it again gets a fresh code at once', async () => {
  const page = await openPage()
  page.instance.onHide()
  await jest.advanceTimersByTimeAsync(REFRESH_INTERVAL_MS * 3)
  expect(codeRequests()).toBe(1)
  await page.instance.onShow()
  await flushPromises()
  expect(codeRequests()).toBe(2)
  await jest.advanceTimersByTimeAsync(REFRESH_INTERVAL_MS)
  expect(codeRequests()).toBe(3)
  page.instance.onUnload()
  await jest.advanceTimersByTimeAsync(REFRESH_INTERVAL_MS * 3)
  expect(codeRequests()).toBe(3)
})

test('keeps the screen on and bright and hidden from capture while shown; restores brightness on hide', async () => {
  const page = await openPage()
  expect(wx.setKeepScreenOn).toHaveBeenCalledWith(expect.objectContaining({keepScreenOn: true}))
  expect(wx.setScreenBrightness).toHaveBeenCalledWith(expect.objectContaining({value: 1}))
  expect(wx.setVisualEffectOnCapture).toHaveBeenCalledWith(expect.objectContaining({visualEffect: 'hidden'}))
  page.instance.onHide()
  expect(wx.setKeepScreenOn).toHaveBeenLastCalledWith(expect.objectContaining({keepScreenOn: false}))
  expect(wx.setScreenBrightness).toHaveBeenLastCalledWith(expect.objectContaining({value: 0.4}))
})

test('a screenshot refreshes the code at once (the captured one is useless)', async () => {
  const page = await openPage()
  expect(wx.onUserCaptureScreen).toHaveBeenCalledTimes(1)
  const onCapture = wx.onUserCaptureScreen.mock.calls[0][0]
  onCapture()
  await flushPromises()
  expect(codeRequests()).toBe(2)
  expect(page.instance.data.code.numericCode).toBe('000000000000000002')
  page.instance.onUnload()
  expect(wx.offUserCaptureScreen).toHaveBeenCalledWith(onCapture)
})

test('a card that is not active shows no code and asks for none', async () => {
  const page = await openPage(Object.assign({}, CARD, {status: 'frozen'}))
  expect(codeRequests()).toBe(0)
  expect(text(page)).toContain('此卡已冻结，不能出示会员码')
  await jest.advanceTimersByTimeAsync(REFRESH_INTERVAL_MS * 2)
  expect(codeRequests()).toBe(0)
})

test("a failed refresh shows the server's message and a retry", async () => {
  server.on('POST /api/v1/mp/cards/10/codes', apiError(429, 'RATE_LIMITED', '操作太频繁'))
  const page = await openPage()
  expect(shownMessages()).toContain('操作太频繁')
  expect(text(page)).toContain('会员码获取失败，点击重试')
})

test('number and secret are revealed only after the person confirms', async () => {
  server.on('POST /api/v1/mp/cards/10/reveal', {status: 200, body: {card_no: '8103000000006445', secret: '123456789012'}})
  const page = await openPage()
  wx.showModal.mockImplementationOnce(options => options.success({confirm: false, cancel: true}))
  page.instance.onReveal()
  await flushPromises()
  expect(server.callsTo('POST /api/v1/mp/cards/10/reveal')).toHaveLength(0)
  page.instance.onReveal()
  await flushPromises()
  expect(server.callsTo('POST /api/v1/mp/cards/10/reveal')).toHaveLength(1)
  expect(text(page)).toContain('123456789012')
  await jest.advanceTimersByTimeAsync(60 * 1000)
  expect(text(page)).not.toContain('123456789012')
})

test('a named card is reported lost after the person confirms, then shows frozen', async () => {
  const named = Object.assign({}, CARD, {product: Object.assign({}, CARD.product, {named: true})})
  server.on('POST /api/v1/mp/cards/10/report-lost', {status: 200, body: Object.assign({}, named, {status: 'frozen'})})
  const page = await openPage(named)
  expect(text(page)).toContain('挂失')
  server.on('GET /api/v1/mp/cards/10', {status: 200, body: Object.assign({}, named, {status: 'frozen'})})
  wx.showModal.mockImplementationOnce(options => options.success({confirm: false, cancel: true}))
  page.instance.onReportLost()
  await flushPromises()
  expect(server.callsTo('POST /api/v1/mp/cards/10/report-lost')).toHaveLength(0)
  page.instance.onReportLost()
  await flushPromises()
  expect(server.callsTo('POST /api/v1/mp/cards/10/report-lost')).toHaveLength(1)
  expect(text(page)).toContain('此卡已冻结，不能出示会员码')
  const before = codeRequests()
  await jest.advanceTimersByTimeAsync(REFRESH_INTERVAL_MS * 2)
  expect(codeRequests()).toBe(before)
})

test('an unnamed card offers no report-lost', async () => {
  const page = await openPage(Object.assign({}, CARD, {product: Object.assign({}, CARD.product, {named: false})}))
  expect(text(page)).not.toContain('挂失')
})

test('a card of a product synced with WeChat goes into the card wallet with the server\'s cardExt', async () => {
  const cardExt = '{"timestamp":"1700000000","nonce_str":"n","code":"1234567890123456","signature":"s"}'
  server.on('GET /api/v1/mp/cards/10/wechat-card', {status: 200, body: {cardId: 'pWX', cardExt, status: 'issued'}})
  server.on('POST /api/v1/mp/cards/10/wechat-card/added', {status: 202, body: {status: 'added'}})
  const plain = await openPage()
  expect(text(plain)).not.toContain('添加到微信卡包')
  const page = await openPage({...CARD, product: {...CARD.product, wechat_card: {enabled: true}}})
  expect(text(page)).toContain('添加到微信卡包')
  await page.instance.onAddToWeChat()
  await flushPromises()
  expect(wx.addCard).toHaveBeenCalledWith(expect.objectContaining({cardList: [{cardId: 'pWX', cardExt}]}))
  expect(server.callsTo('POST /api/v1/mp/cards/10/wechat-card/added')).toHaveLength(1)
  expect(shownMessages()).toContain('已添加到微信卡包')
})

test('cancelling wx.addCard tells the server nothing', async () => {
  server.on('GET /api/v1/mp/cards/10/wechat-card', {status: 200, body: {cardId: 'pWX', cardExt: '{}', status: 'issued'}})
  const page = await openPage({...CARD, product: {...CARD.product, wechat_card: {enabled: true}}})
  wx.addCard.mockImplementationOnce(options => options.fail({errMsg: 'addCard:fail cancel'}))
  await page.instance.onAddToWeChat()
  await flushPromises()
  expect(server.callsTo('POST /api/v1/mp/cards/10/wechat-card/added')).toHaveLength(0)
  expect(shownMessages()).not.toContain('添加失败，请稍后再试')
})
