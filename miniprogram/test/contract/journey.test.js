/**
 * The contract test: the real utils/api.js and utils/pay.js, with wx.request over node's HTTP,
 * against a real Kabao server this test starts (SQLite, in-process Redis, WeChat simulator):
 * log in, claim a card, show its code, a cashier redeems the 18-digit code, buy a stored-value card
 * and top it up (the simulator pays), the balance is updated, the cashier redeems the QR payload,
 * a manager reverses it, and the consumer's token is renewed silently after a 401. Then the same
 * through the pages themselves (rendered by miniprogram-simulate in jsdom): the offer page buys,
 * the card page shows a live code the cashier redeems, the top-up page pays.
 */
const http = require('http')
const {createNodeWx} = require('../support/node-wx')
const {startKabao} = require('../support/kabao-server')

jest.setTimeout(90000)

let kabao
let api
let pay
let render
let text

beforeAll(async () => {
  kabao = await startKabao()
  jest.resetModules()
  // miniprogram-simulate merges a wx of its own into global.wx when it loads: load it first.
  ;({render, text} = require('../support/load'))
  global.wx = createNodeWx(`journey${Date.now()}`)
  const config = require('../../config')
  expect(config.envVersion).toBe('develop')
  config.baseUrl = kabao.baseUrl
  config.simulatorUser = '' // log in through wx.login, as in production (the node wx hands out simulator codes)
  api = require('../../utils/api')
  pay = require('../../utils/pay')
}, 90000)

afterAll(async () => {
  if (kabao) await kabao.stop()
})

function fetchStatus(url) {
  return new Promise((resolve, reject) => {
    http.get(url, res => {
      res.resume()
      resolve({status: res.statusCode, type: res.headers['content-type']})
    }).on('error', reject)
  })
}

const staff = {auth: 'staff'}

test('login, claim, show code, redeem, buy, top up, balance updated, reverse, re-login', async () => {
  const {logins, batches} = kabao.demo
  expect(logins.cashier && logins.manager && batches.claim && batches.purchase).toBeTruthy()

  // The consumer opens the claim offer: the api module logs in with wx.login on the way.
  const offer = await api.get(`/api/v1/mp/batches/${batches.claim}`)
  expect(global.wx.logins).toBe(1)
  expect(offer.issue_method).toBe('claim')
  const claimed = await api.post(`/api/v1/mp/batches/${batches.claim}/claim`)
  expect(claimed).toMatchObject({status: 'active', product: {kind: offer.product.kind}})
  const mine = await api.get('/api/v1/mp/cards')
  expect(mine.items.map(card => card.card_id)).toContain(claimed.card_id)

  // The card page's code: an 18-digit number and a QR image the server renders.
  const code = await api.post(`/api/v1/mp/cards/${claimed.card_id}/codes`)
  expect(code.numeric_code).toMatch(/^\d{18}$/)
  expect(code.qr_payload).toBeTruthy()
  expect(await fetchStatus(code.qr_png_url)).toEqual({status: 200, type: 'image/png'})

  // The cashier (demo login) redeems the typed numeric code at their own store.
  const cashier = await api.staffLogin(logins.cashier.username, logins.cashier.password)
  expect(cashier.role).toBe('cashier')
  expect(cashier.store_id).not.toBeNull()
  const stores = await api.get('/api/v1/merchant/stores', staff)
  expect(stores.items.map(store => store.store_id)).toEqual([cashier.store_id])
  const redeemKeys = api.actionKeys()
  const bill = {code: code.numeric_code, store_id: cashier.store_id, amount_fen: 3000}
  const receipt = await api.post('/api/v1/merchant/redeem', bill, Object.assign({idempotencyKey: redeemKeys.keyFor(bill)}, staff))
  expect(receipt).toMatchObject({card_id: claimed.card_id, bill_fen: 3000, store_id: cashier.store_id})
  // The same action retried (same key, same body) is the same redemption, not a second one.
  const replay = await api.post('/api/v1/merchant/redeem', bill, Object.assign({idempotencyKey: redeemKeys.keyFor(bill)}, staff))
  expect(replay.redemption_id).toBe(receipt.redemption_id)
  // The code is spent: a new action with it is refused, with the server's Chinese message shown.
  const again = Object.assign({}, bill, {amount_fen: 100})
  await expect(api.post('/api/v1/merchant/redeem', again, Object.assign({idempotencyKey: api.newIdempotencyKey()}, staff)))
    .rejects.toMatchObject({status: 422, code: 'CODE_INVALID'})
  expect(global.wx.shown.length).toBeGreaterThan(0)
  expect(global.wx.shown[global.wx.shown.length - 1]).toMatch(/[\u4e00-\u9fa5]/)

  // Buy a stored-value card: the order is paid by the simulator and confirmed by polling.
  const buyKeys = api.actionKeys()
  const purchase = await api.post(`/api/v1/mp/batches/${batches.purchase}/purchase`, {},
    {idempotencyKey: buyKeys.keyFor({batch: batches.purchase})})
  const bought = await pay.payOrder(purchase, {interval: 300})
  expect(bought).toMatchObject({order_no: purchase.order_no, status: 'paid'})
  const card = await api.get(`/api/v1/mp/cards/${bought.card_id}`)
  expect(card.product.kind).toBe('stored_value')

  // Top up with the first tier and its bonus.
  const options = await api.get(`/api/v1/mp/cards/${card.card_id}/top-up-options`)
  const tier = options.tiers.find(t => t.within_cap)
  const topUpKeys = api.actionKeys()
  const body = {amount_fen: tier.amount_fen}
  const order = await api.post(`/api/v1/mp/cards/${card.card_id}/top-ups`, body, {idempotencyKey: topUpKeys.keyFor(body)})
  expect(order.bonus_fen).toBe(tier.bonus_fen)
  // A retry of the same action (the key kept) is the same order.
  const sameOrder = await api.post(`/api/v1/mp/cards/${card.card_id}/top-ups`, body, {idempotencyKey: topUpKeys.keyFor(body)})
  expect(sameOrder.order_no).toBe(order.order_no)
  const paid = await pay.payOrder(order, {interval: 300})
  expect(paid.status).toBe('paid')
  const topped = await api.get(`/api/v1/mp/cards/${card.card_id}`)
  expect(topped.principal_fen).toBe(card.principal_fen + tier.amount_fen)
  expect(topped.bonus_fen).toBe(card.bonus_fen + tier.bonus_fen)
  expect(topped.balance_fen).toBe(card.balance_fen + tier.amount_fen + tier.bonus_fen)

  // The cashier scans the QR payload of the topped-up card.
  const qr = await api.post(`/api/v1/mp/cards/${card.card_id}/codes`)
  const spend = {code: qr.qr_payload, store_id: cashier.store_id, amount_fen: 1234}
  const spent = await api.post('/api/v1/merchant/redeem', spend, Object.assign({idempotencyKey: api.newIdempotencyKey()}, staff))
  expect(spent.balance_fen).toBe(topped.balance_fen - 1234)
  const history = await api.get(`/api/v1/mp/cards/${card.card_id}/transactions`, {query: {limit: 2}})
  expect(history.items).toHaveLength(2)
  expect(history.items[0].type).toBe('redeem')
  const older = await api.get(`/api/v1/mp/cards/${card.card_id}/transactions`, {query: {limit: 2, cursor: history.next_cursor}})
  expect(older.items.map(item => item.type)).toContain('issue')

  // A manager reverses that redemption: the balance is back.
  await api.staffLogin(logins.manager.username, logins.manager.password)
  const reversal = await api.post(`/api/v1/merchant/redemptions/${spent.redemption_id}/reverse`, {reason: '金额输错'},
    Object.assign({idempotencyKey: api.newIdempotencyKey()}, staff))
  expect(reversal.card.balance_fen).toBe(topped.balance_fen)

  // The refund page's quote (after use: fee applies, bonus forfeited).
  const quote = await api.get(`/api/v1/mp/cards/${card.card_id}/refund-quote`)
  expect(quote.forfeited_bonus_fen).toBe(topped.bonus_fen)
  expect(quote.refund_fen + quote.fee_fen).toBe(topped.principal_fen)

  // The server no longer knows the consumer's token: the api module logs in again and retries.
  global.wx.setStorageSync(api.CONSUMER_TOKEN_KEY, 'token-the-server-never-issued')
  const after = await api.get(`/api/v1/mp/cards/${card.card_id}`)
  expect(after.balance_fen).toBe(topped.balance_fen)
  expect(global.wx.logins).toBe(2)
  expect(global.wx.getStorageSync(api.CONSUMER_TOKEN_KEY)).not.toBe('token-the-server-never-issued')
})

test('the pages against the server: buy on the offer page, redeem the card page code, top up on its page', async () => {
  const {logins, batches} = kabao.demo
  const lastUrl = name => {
    const calls = global.wx.callsTo(name)
    return calls.length ? calls[calls.length - 1].url : ''
  }

  const offer = render('pages/batch/index')
  await offer.instance.onLoad({id: batches.purchase})
  expect(text(offer)).toContain('立即购买')
  await offer.instance.onPurchase()
  const opened = /\/pages\/card\/index\?id=(\d+)$/.exec(lastUrl('redirectTo'))
  expect(opened).not.toBeNull()
  const cardId = opened[1]

  const cardPage = render('pages/card/index')
  cardPage.instance.onLoad({id: cardId})
  try {
    await cardPage.instance.onShow()
    await new Promise(resolve => setTimeout(resolve, 300))
    const code = cardPage.instance.data.code.numericCode
    expect(code).toMatch(/^\d{18}$/)
    expect(text(cardPage)).toContain('¥100.00')

    const cashier = await api.staffLogin(logins.cashier.username, logins.cashier.password)
    const receipt = await api.post('/api/v1/merchant/redeem', {code, store_id: cashier.store_id, amount_fen: 1500},
      {auth: 'staff', idempotencyKey: api.newIdempotencyKey()})
    expect(receipt.balance_fen).toBe(8500)

    const topUp = render('pages/topup/index')
    await topUp.instance.onLoad({card_id: cardId})
    topUp.instance.onSelectTier({currentTarget: {dataset: {index: 0}}})
    const tier = topUp.instance.data.tiers[0]
    await topUp.instance.onPay()
    expect(global.wx.callsTo('navigateBack')).toHaveLength(1)

    cardPage.instance.onHide()
    await cardPage.instance.onShow()
    const balance = 8500 + tier.amountFen + tier.bonusFen
    expect(cardPage.instance.data.card.balance_fen).toBe(balance)
    expect(text(cardPage)).toContain(`¥${(balance / 100).toFixed(2)}`)
  } finally {
    cardPage.instance.onUnload()
  }
})
