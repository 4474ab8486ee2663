/** utils/pay.js: the payment sheet's success is not proof; the order is polled until paid. */
const api = require('../utils/api')
const pay = require('../utils/pay')
const {flushPromises, freshWx, shownMessages} = require('./support/wx')

const PAY_PARAMS = {timeStamp: '1', nonceStr: 'n', package: 'prepay_id=wx1', signType: 'MD5', paySign: 'S'}
let server

beforeEach(() => {
  jest.useFakeTimers()
  server = freshWx()
  wx.setStorageSync(api.CONSUMER_TOKEN_KEY, 't')
})

afterEach(() => {
  jest.useRealTimers()
})

function order(status, extra) {
  return {status: 200, body: Object.assign({order_no: 'T1', status, amount_fen: 100, card_id: 9}, extra)}
}

test('after wx.requestPayment the order is polled until the server says paid', async () => {
  server.on('GET /api/v1/mp/orders/T1', [order('pending'), order('pending'), order('paid')])
  const paid = pay.payOrder({order_no: 'T1', pay_params: PAY_PARAMS})
  await flushPromises()
  expect(wx.requestPayment).toHaveBeenCalledWith(expect.objectContaining(PAY_PARAMS))
  await jest.advanceTimersByTimeAsync(pay.POLL_INTERVAL_MS * 2)
  await expect(paid).resolves.toMatchObject({status: 'paid', card_id: 9})
  expect(server.callsTo('GET /api/v1/mp/orders/T1')).toHaveLength(3)
  expect(wx.hideLoading).toHaveBeenCalled()
})

test('a closed payment sheet is a cancellation: nothing is polled', async () => {
  wx.requestPayment.mockImplementation(options => options.fail({errMsg: 'requestPayment:fail cancel'}))
  await expect(pay.payOrder({order_no: 'T1', pay_params: PAY_PARAMS})).rejects.toBeInstanceOf(pay.PaymentCancelled)
  expect(server.callsTo('GET /api/v1/mp/orders/T1')).toHaveLength(0)
})

test('an order still pending after the last poll: the person is told to look later', async () => {
  server.on('GET /api/v1/mp/orders/T1', order('pending'))
  const paid = pay.payOrder({order_no: 'T1', pay_params: PAY_PARAMS}).catch(err => err)
  await jest.advanceTimersByTimeAsync(pay.POLL_INTERVAL_MS * (pay.MAX_POLLS + 1))
  expect(await paid).toMatchObject({code: 'PAYMENT_PENDING'})
  expect(server.callsTo('GET /api/v1/mp/orders/T1')).toHaveLength(pay.MAX_POLLS)
  expect(shownMessages()).toContain('支付结果确认中，请稍后在卡包中查看')
})

test('a payment failure other than cancel still asks the server once (the callback is no proof either way)', async () => {
  wx.requestPayment.mockImplementation(options => options.fail({errMsg: 'requestPayment:fail network'}))
  server.on('GET /api/v1/mp/orders/T1', order('paid'))
  await expect(pay.payOrder({order_no: 'T1', pay_params: PAY_PARAMS})).resolves.toMatchObject({status: 'paid'})
})

test('a closed order is refused with a message', async () => {
  server.on('GET /api/v1/mp/orders/T1', order('closed'))
  await expect(pay.payOrder({order_no: 'T1', pay_params: PAY_PARAMS})).rejects.toMatchObject({code: 'ORDER_CLOSED'})
  expect(shownMessages()).toEqual(['订单已关闭，未扣款或已退回'])
})
