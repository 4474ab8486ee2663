/** Cashier pages: staff login, scan and redeem at one's own store, the receipt, a manager's reversal. */
const api = require('../../utils/api')
const {apiError, flushPromises, freshWx, shownMessages} = require('../support/wx')
const {render, text} = require('../support/load')

const RECEIPT = {
  redemption_id: 14, card_id: 10, card_no_masked: '8103 **** **** 6445', kind: 'stored_value', store_id: 1,
  bill_fen: 1234, payable_fen: 1234, deducted_fen: 1234, deducted_principal_fen: 1000, deducted_bonus_fen: 234,
  uses_deducted: 0, points_earned: 0, points_redeemed: 0, balance_fen: 8766, principal_fen: 7766,
  bonus_fen: 1000, remaining_uses: 0, points_balance: 0, created_at: '2026-12-01T09:52:55+00:00',
}
const STORES = {items: [
  {store_id: 1, name: '人民广场店', active: true},
  {store_id: 2, name: '徐家汇店', active: true},
]}

let server

beforeEach(() => {
  server = freshWx()
  server.on('GET /api/v1/merchant/stores', {status: 200, body: STORES})
})

function signIn(role, storeId) {
  wx.setStorageSync(api.STAFF_SESSION_KEY, {token: `${role}-token`, role, store_id: storeId, merchant_id: 1,
    staff_id: 5, username: `demo_${role}`})
}

async function redeemPage() {
  const page = render('pages/cashier/redeem/index')
  page.instance.onLoad()
  await page.instance.onShow()
  return page
}

const input = (page, field, value) => page.instance.onInput({currentTarget: {dataset: {field}}, detail: {value}})

describe('login', () => {
  test('a cashier logs in and lands on the redeem tab; a finance login is refused', async () => {
    server.on('POST /api/v1/merchant/login', [
      {status: 200, body: {token: 's1', merchant_id: 1, staff_id: 5, role: 'cashier', store_id: 1}},
      {status: 200, body: {token: 's2', merchant_id: 1, staff_id: 3, role: 'finance', store_id: null}},
    ])
    const page = render('pages/cashier/login/index')
    input(page, 'username', 'demo_cashier')
    input(page, 'password', 'kabao-demo-123')
    await page.instance.onSubmit()
    expect(server.callsTo('POST /api/v1/merchant/login')[0].data).toEqual({username: 'demo_cashier', password: 'kabao-demo-123'})
    expect(wx.switchTab).toHaveBeenCalledWith({url: '/pages/cashier/redeem/index'})
    expect(api.staffSession()).toMatchObject({token: 's1', role: 'cashier', store_id: 1})

    input(page, 'username', 'demo_finance')
    input(page, 'password', 'kabao-demo-123')
    await page.instance.onSubmit()
    expect(api.staffSession()).toBeNull()
    expect(shownMessages().join()).toContain('没有核销权限')
  })

  test('a wrong password shows the server message', async () => {
    server.on('POST /api/v1/merchant/login', apiError(401, 'UNAUTHENTICATED', '用户名或密码错误'))
    const page = render('pages/cashier/login/index')
    input(page, 'username', 'demo_cashier')
    input(page, 'password', 'nope')
    await page.instance.onSubmit()
    expect(shownMessages()).toEqual(['用户名或密码错误'])
    expect(wx.switchTab).not.toHaveBeenCalled()
  })
})

describe('redeem', () => {
  test('without a staff session the redeem tab sends to the login', async () => {
    await redeemPage()
    expect(wx.navigateTo).toHaveBeenCalledWith({url: '/pages/cashier/login/index'})
    expect(server.callsTo('GET /api/v1/merchant/stores')).toHaveLength(0)
  })

  test('a cashier sees only their store and redeems there: scan, amount, receipt', async () => {
    signIn('cashier', 2)
    wx.scanCode.mockImplementation(options => options.success({result: 'KB1:ngt3liOiVdxeiryVIuETbA'}))
    server.on('POST /api/v1/merchant/redeem', {status: 200, body: Object.assign({}, RECEIPT, {store_id: 2})})
    const page = await redeemPage()
    expect(page.instance.data.stores.map(store => store.store_id)).toEqual([2])
    expect(text(page)).toContain('徐家汇店')
    expect(text(page)).not.toContain('人民广场店')
    await page.instance.onScan()
    expect(wx.scanCode).toHaveBeenCalledWith(expect.objectContaining({onlyFromCamera: true, scanType: ['qrCode', 'barCode']}))
    input(page, 'amountText', '12.34')
    await page.instance.onRedeem()
    const call = server.callsTo('POST /api/v1/merchant/redeem')[0]
    expect(call.data).toEqual({code: 'KB1:ngt3liOiVdxeiryVIuETbA', store_id: 2, amount_fen: 1234})
    expect(call.header.Authorization).toBe('Bearer cashier-token')
    expect(call.header['Idempotency-Key']).toMatch(/^[0-9a-f]{32}$/)
    expect(wx.navigateTo).toHaveBeenCalledWith({url: '/pages/cashier/receipt/index?id=14'})
    expect(getApp().globalData.receipt).toMatchObject({redemption_id: 14, store_name: '徐家汇店'})
  })

  test('the typed 18-digit code and a count card by uses', async () => {
    signIn('cashier', 1)
    server.on('POST /api/v1/merchant/redeem', {status: 200, body: Object.assign({}, RECEIPT, {kind: 'count'})})
    const page = await redeemPage()
    input(page, 'code', '967947 582745 342482')
    page.instance.onModeChange({currentTarget: {dataset: {mode: 'uses'}}})
    input(page, 'usesText', '2')
    await page.instance.onRedeem()
    expect(server.callsTo('POST /api/v1/merchant/redeem')[0].data).toEqual({code: '967947582745342482', store_id: 1, uses: 2})
  })

  test('a refused redemption shows why; the retry of the same redemption reuses the key', async () => {
    signIn('cashier', 1)
    server.on('POST /api/v1/merchant/redeem', [
      apiError(422, 'INSUFFICIENT_BALANCE', '余额不足'),
      'network-error', 'network-error', 'network-error',
      {status: 200, body: RECEIPT},
    ])
    const page = await redeemPage()
    input(page, 'code', '967947582745342482')
    input(page, 'amountText', '50')
    await page.instance.onRedeem()
    expect(shownMessages()).toEqual(['余额不足'])
    expect(wx.navigateTo).not.toHaveBeenCalled()
    jest.useFakeTimers()
    try {
      const retry = page.instance.onRedeem() // three network failures: the api module gives up after two retries
      await jest.advanceTimersByTimeAsync(5000)
      await retry
      expect(shownMessages()).toContain('网络不给力，请稍后重试')
      await page.instance.onRedeem()
    } finally {
      jest.useRealTimers()
    }
    const keys = server.callsTo('POST /api/v1/merchant/redeem').map(call => call.header['Idempotency-Key'])
    expect(keys).toHaveLength(5)
    expect(new Set(keys).size).toBe(1)
    expect(wx.navigateTo).toHaveBeenCalledWith({url: '/pages/cashier/receipt/index?id=14'})
  })

  test('a double tap on 确认核销 redeems once', async () => {
    signIn('cashier', 1)
    server.on('POST /api/v1/merchant/redeem', {status: 200, body: RECEIPT})
    const page = await redeemPage()
    input(page, 'code', '967947582745342482')
    input(page, 'amountText', '12.34')
    page.querySelector('.redeem').dispatchEvent('tap')
    page.querySelector('.redeem').dispatchEvent('tap')
    await flushPromises(50)
    expect(server.callsTo('POST /api/v1/merchant/redeem')).toHaveLength(1)
    expect(wx.navigateTo).toHaveBeenCalledTimes(1)
  })

  test('HQ staff pick the store; missing input is caught before any request', async () => {
    signIn('owner', null)
    server.on('POST /api/v1/merchant/redeem', {status: 200, body: RECEIPT})
    const page = await redeemPage()
    expect(page.instance.data.stores).toHaveLength(2)
    await page.instance.onRedeem()
    expect(shownMessages()).toEqual(['请扫码或输入会员码'])
    input(page, 'code', '967947582745342482')
    await page.instance.onRedeem()
    expect(shownMessages()).toEqual(['请扫码或输入会员码', '请输入消费金额'])
    page.instance.onStoreChange({detail: {value: '1'}})
    input(page, 'amountText', '8')
    await page.instance.onRedeem()
    expect(server.callsTo('POST /api/v1/merchant/redeem')[0].data).toMatchObject({store_id: 2, amount_fen: 800})
  })
})

describe('receipt and reversal', () => {
  function receiptPage() {
    getApp().globalData.receipt = Object.assign({store_name: '人民广场店'}, RECEIPT)
    const page = render('pages/cashier/receipt/index')
    page.instance.onLoad({id: '14'})
    return page
  }

  test('the receipt shows the bill, the split between principal and bonus, and the balance left', () => {
    signIn('cashier', 1)
    const page = receiptPage()
    const shown = text(page)
    for (const part of ['核销成功', '8103 **** **** 6445', '¥12.34', '¥10.00', '¥2.34', '¥87.66', '人民广场店', '2026-12-01 17:52']) {
      expect(shown).toContain(part)
    }
    expect(shown).not.toContain('冲正此笔')
  })

  test('a manager reverses it with a reason and one key; a second failure retry reuses it', async () => {
    signIn('manager', null)
    server.on('POST /api/v1/merchant/redemptions/14/reverse', [
      apiError(503, 'SERVICE_UNAVAILABLE', '服务繁忙'),
      {status: 200, body: {reversal_id: 99, card: {card_id: 10, balance_fen: 10000}}},
    ])
    wx.showModal.mockImplementation(options => options.success({confirm: true, content: '金额输错'}))
    const page = receiptPage()
    expect(text(page)).toContain('冲正此笔')
    await page.instance.onReverse()
    await page.instance.onReverse()
    const calls = server.callsTo('POST /api/v1/merchant/redemptions/14/reverse')
    expect(calls.map(call => call.data)).toEqual([{reason: '金额输错'}, {reason: '金额输错'}])
    expect(calls[1].header['Idempotency-Key']).toBe(calls[0].header['Idempotency-Key'])
    expect(text(page)).toContain('已冲正')
    expect(text(page)).toContain('¥100.00')
  })

  test('cancelling the reason dialog reverses nothing; the window closing is shown', async () => {
    signIn('owner', null)
    server.on('POST /api/v1/merchant/redemptions/14/reverse', apiError(422, 'REVERSAL_WINDOW_CLOSED', '已超过冲正时限'))
    const page = receiptPage()
    wx.showModal.mockImplementationOnce(options => options.success({confirm: false, cancel: true}))
    await page.instance.onReverse()
    expect(server.callsTo('POST /api/v1/merchant/redemptions/14/reverse')).toHaveLength(0)
    wx.showModal.mockImplementationOnce(options => options.success({confirm: true, content: '顾客退货'}))
    await page.instance.onReverse()
    await flushPromises()
    expect(shownMessages()).toContain('已超过冲正时限')
  })

  test('recent redemptions: a manager can reverse from the list, a cashier only sees it', async () => {
    server.on('GET /api/v1/merchant/redemptions', {status: 200, body: {items: [
      Object.assign({}, RECEIPT, {status: 'completed'}),
      Object.assign({}, RECEIPT, {redemption_id: 13, status: 'reversed'}),
    ], next_cursor: null}})
    signIn('cashier', 1)
    let page = render('pages/cashier/redemptions/index')
    await page.instance.onLoad({store_id: '1'})
    expect(server.callsTo('GET /api/v1/merchant/redemptions')[0].query).toEqual({limit: '20', store_id: '1'})
    expect(text(page)).toContain('已冲正')
    expect(page.dom.querySelector('[class~="main--reverse"]')).toBeNull()

    signIn('manager', null)
    server.on('POST /api/v1/merchant/redemptions/14/reverse', {status: 200, body: {reversal_id: 99, card: {balance_fen: 1}}})
    wx.showModal.mockImplementation(options => options.success({confirm: true, content: '重复扫码'}))
    page = render('pages/cashier/redemptions/index')
    await page.instance.onLoad({store_id: ''})
    expect(page.dom.querySelector('[class~="main--reverse"]')).not.toBeNull()
    await page.instance.onReverse({currentTarget: {dataset: {id: '14'}}})
    expect(server.callsTo('POST /api/v1/merchant/redemptions/14/reverse')[0].data).toEqual({reason: '重复扫码'})
    expect(page.instance.data.items.every(item => item.reversed)).toBe(true)
  })
})
