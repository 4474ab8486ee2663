/** My cards, transactions with paging, binding, transfer and accept, refund with its quote. */
const api = require('../../utils/api')
const {apiError, flushPromises, freshWx, shownMessages} = require('../support/wx')
const {render, text} = require('../support/load')

const CARD = {
  card_id: 10, card_no_masked: '8103 **** **** 6445', merchant: {merchant_id: 1, name: '卡包示范咖啡'},
  product: {product_id: 2, name: '100元储值卡', kind: 'stored_value', style: {color: '#D4A373'}},
  status: 'active', balance_fen: 8766, principal_fen: 8766, bonus_fen: 0, remaining_uses: 0, points: 0,
  transferable: true, face_image_url: 'https://kabao.example.com/face.png',
}

let server

beforeEach(() => {
  server = freshWx()
  wx.setStorageSync(api.CONSUMER_TOKEN_KEY, 't')
})

describe('my cards', () => {
  test('each card shows its face with merchant, product and headline figure', async () => {
    server.on('GET /api/v1/mp/cards', {status: 200, body: {items: [CARD, Object.assign({}, CARD, {
      card_id: 9, status: 'transferred', product: {name: '咖啡积分卡', kind: 'points'}, points: 120})]}})
    const page = render('pages/index/index')
    await page.instance.onShow()
    const shown = text(page)
    for (const part of ['卡包示范咖啡', '100元储值卡', '¥87.66', '咖啡积分卡', '120', '已转赠']) expect(shown).toContain(part)
    page.instance.onSelectCard({detail: {cardId: 9}})
    expect(wx.navigateTo).toHaveBeenCalledWith({url: '/pages/card/index?id=9'})
  })

  test('an empty wallet says how to get a card', async () => {
    server.on('GET /api/v1/mp/cards', {status: 200, body: {items: []}})
    const page = render('pages/index/index')
    await page.instance.onShow()
    expect(text(page)).toContain('卡包里还没有卡')
  })
})

describe('transactions', () => {
  const item = (id, type, principal) => ({id, type, principal_fen: principal, bonus_fen: 0, uses: 0, points: 0,
    balance_after_fen: 5000, store_name: '人民广场店', created_at: '2026-12-01T09:52:55+00:00'})

  test('the first page, then the next one with the cursor, until there is none', async () => {
    server.on('GET /api/v1/mp/cards/10/transactions', call => (call.query.cursor === 'C2'
      ? {status: 200, body: {items: [item(1, 'issue', 10000)], next_cursor: null}}
      : {status: 200, body: {items: [item(3, 'redeem', -1234), item(2, 'top_up', 20000)], next_cursor: 'C2'}}))
    const page = render('pages/transactions/index')
    await page.instance.onLoad({card_id: '10'})
    expect(server.callsTo('GET /api/v1/mp/cards/10/transactions')[0].query).toEqual({limit: '20'})
    const shown = text(page)
    expect(shown).toContain('消费')
    expect(shown).toContain('本金 -12.34')
    expect(shown).toContain('2026-12-01 17:52 人民广场店')
    await page.instance.onReachBottom()
    expect(server.callsTo('GET /api/v1/mp/cards/10/transactions')[1].query).toEqual({limit: '20', cursor: 'C2'})
    expect(page.instance.data.items.map(row => row.id)).toEqual([3, 2, 1])
    expect(text(page)).toContain('没有更多了')
    await page.instance.onReachBottom()
    expect(server.callsTo('GET /api/v1/mp/cards/10/transactions')).toHaveLength(2)
  })
})

describe('bind', () => {
  test('a redemption code, or card number and secret sent as CARDNO:SECRET', async () => {
    server.on('POST /api/v1/mp/cards/bind', {status: 201, body: {card_id: 55}})
    const page = render('pages/bind/index')
    page.instance.onInput({currentTarget: {dataset: {field: 'code'}}, detail: {value: ' 9bb2 tmzm 4mz5 vn49 '}})
    await page.instance.onSubmit()
    expect(server.callsTo('POST /api/v1/mp/cards/bind')[0].data).toEqual({code: '9BB2TMZM4MZ5VN49'})
    expect(wx.navigateTo).toHaveBeenCalledWith({url: '/pages/card/index?id=55'})

    page.instance.onModeChange({currentTarget: {dataset: {mode: 'secret'}}})
    page.instance.onInput({currentTarget: {dataset: {field: 'cardNo'}}, detail: {value: '8103 0000 0000 6445'}})
    page.instance.onInput({currentTarget: {dataset: {field: 'secret'}}, detail: {value: '123456789012'}})
    await page.instance.onSubmit()
    expect(server.callsTo('POST /api/v1/mp/cards/bind')[1].data).toEqual({code: '8103000000006445:123456789012'})
  })

  test('a wrong code shows the uniform message, and the rate limit its own', async () => {
    server.on('POST /api/v1/mp/cards/bind', [
      apiError(422, 'CODE_INVALID', '兑换码无效'),
      apiError(429, 'RATE_LIMITED', '尝试次数过多，请10分钟后再试'),
    ])
    const page = render('pages/bind/index')
    page.instance.onInput({currentTarget: {dataset: {field: 'code'}}, detail: {value: 'WRONGCODE'}})
    await page.instance.onSubmit()
    await page.instance.onSubmit()
    expect(shownMessages()).toEqual(['兑换码无效', '尝试次数过多，请10分钟后再试'])
    expect(wx.navigateTo).not.toHaveBeenCalled()
  })

  test('a scanned CARDNO:SECRET fills both fields', () => {
    wx.scanCode.mockImplementation(options => options.success({result: '8103000000006445:123456789012'}))
    const page = render('pages/bind/index')
    page.instance.onScan()
    expect(page.instance.data).toMatchObject({mode: 'secret', cardNo: '8103000000006445', secret: '123456789012'})
  })
})

describe('transfer', () => {
  test('after confirming, the share carries the transfer token to the accept page', async () => {
    server.on('GET /api/v1/mp/cards/10', {status: 200, body: CARD})
    server.on('POST /api/v1/mp/cards/10/transfers', {status: 201, body: {transfer_token: 'tr/tok+1', expires_in: 86400}})
    const page = render('pages/transfer/index')
    await page.instance.onLoad({card_id: '10'})
    expect(page.instance.onShareAppMessage().path).toBe('/pages/index/index') // nothing to give yet
    await page.instance.onCreate()
    expect(text(page)).toContain('24 小时内有效')
    const share = page.instance.onShareAppMessage()
    expect(share.path).toBe('/pages/transfer/accept?token=tr%2Ftok%2B1')
    expect(share.title).toContain('卡包示范咖啡 100元储值卡')
  })

  test('a card that cannot be transferred says so', async () => {
    server.on('GET /api/v1/mp/cards/10', {status: 200, body: CARD})
    server.on('POST /api/v1/mp/cards/10/transfers', apiError(422, 'NOT_TRANSFERABLE', '该卡不可转赠'))
    const page = render('pages/transfer/index')
    await page.instance.onLoad({card_id: '10'})
    await page.instance.onCreate()
    expect(shownMessages()).toContain('该卡不可转赠')
    expect(page.instance.onShareAppMessage().path).toBe('/pages/index/index')
  })

  test('accepting moves the card into the wallet and opens it', async () => {
    server.on('POST /api/v1/mp/transfers/tr%2Ftok%2B1/accept', {status: 200, body: Object.assign({}, CARD, {card_id: 10})})
    const page = render('pages/transfer/accept')
    page.instance.onLoad({token: encodeURIComponent('tr/tok+1')})
    await page.instance.onAccept()
    expect(server.callsTo('POST /api/v1/mp/transfers/tr%2Ftok%2B1/accept')).toHaveLength(1)
    expect(wx.redirectTo).toHaveBeenCalledWith({url: '/pages/card/index?id=10'})
  })
})

describe('refund', () => {
  const QUOTE = {card_id: 10, refund_fen: 18000, fee_fen: 2000, forfeited_bonus_fen: 3000, cooling_off: false}

  test('refund, fee and forfeited bonus are shown before the person confirms', async () => {
    server.on('GET /api/v1/mp/cards/10/refund-quote', {status: 200, body: QUOTE})
    server.on('POST /api/v1/mp/cards/10/refund', {status: 201, body: {refund_no: 'F1', refund_fen: 18000, fee_fen: 2000,
      forfeited_bonus_fen: 3000, status: 'pending'}})
    const page = render('pages/refund/index')
    await page.instance.onLoad({card_id: '10'})
    const shown = text(page)
    expect(shown).toContain('¥180.00')
    expect(shown).toContain('¥20.00')
    expect(shown).toContain('¥30.00')
    expect(server.callsTo('POST /api/v1/mp/cards/10/refund')).toHaveLength(0)

    wx.showModal.mockImplementationOnce(options => options.success({confirm: false, cancel: true}))
    await page.instance.onSubmit()
    expect(server.callsTo('POST /api/v1/mp/cards/10/refund')).toHaveLength(0)

    page.instance.onReasonInput({detail: {value: '搬家了'}})
    await page.instance.onSubmit()
    const confirm = wx.showModal.mock.calls[1][0].content
    expect(confirm).toContain('¥180.00')
    expect(confirm).toContain('手续费 ¥20.00')
    expect(confirm).toContain('赠送金额 ¥30.00 不予退还')
    const calls = server.callsTo('POST /api/v1/mp/cards/10/refund')
    expect(calls).toHaveLength(1)
    expect(calls[0].data).toEqual({reason: '搬家了'})
    expect(calls[0].header['Idempotency-Key']).toMatch(/^[0-9a-f]{32}$/)
    expect(text(page)).toContain('退款申请已提交')
  })

  test('a failed refund is retried with the same key', async () => {
    server.on('GET /api/v1/mp/cards/10/refund-quote', {status: 200, body: QUOTE})
    server.on('POST /api/v1/mp/cards/10/refund', [apiError(503, 'SERVICE_UNAVAILABLE', '服务繁忙'),
      {status: 201, body: {refund_no: 'F1', refund_fen: 18000, status: 'pending'}}])
    const page = render('pages/refund/index')
    await page.instance.onLoad({card_id: '10'})
    await page.instance.onSubmit()
    await page.instance.onSubmit()
    const keys = server.callsTo('POST /api/v1/mp/cards/10/refund').map(call => call.header['Idempotency-Key'])
    expect(keys[1]).toBe(keys[0])
  })

  test('a card that cannot be refunded shows why and offers no button', async () => {
    server.on('GET /api/v1/mp/cards/10/refund-quote', apiError(422, 'NOT_REFUNDABLE', '该卡没有可退回的已付金额'))
    const page = render('pages/refund/index')
    await page.instance.onLoad({card_id: '10'})
    await flushPromises()
    expect(text(page)).toContain('该卡没有可退回的已付金额')
    expect(text(page)).not.toContain('申请退款')
  })
})
