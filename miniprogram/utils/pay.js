/**
 * Paying for an order (a card purchase or a top-up) and confirming it with the server.
 *
 * wx.requestPayment's success callback is not proof of payment: the order is paid when
 * GET /api/v1/mp/orders/{order_no} says `paid` (WeChat's notify, or the server's reconciliation).
 * So after the payment sheet closes we poll the order, a limited number of times.
 */
const api = require('./api')
const config = require('../config')

const POLL_INTERVAL_MS = 1500
const MAX_POLLS = 20

class PaymentCancelled extends Error {
  constructor() {
    super('已取消支付')
    this.name = 'PaymentCancelled'
    this.code = 'PAYMENT_CANCELLED'
  }
}

function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms))
}

function requestPayment(payParams) {
  return new Promise((resolve, reject) => {
    wx.requestPayment({
      timeStamp: payParams.timeStamp,
      nonceStr: payParams.nonceStr,
      package: payParams.package,
      signType: payParams.signType,
      paySign: payParams.paySign,
      success: resolve,
      fail: reject,
    })
  })
}

/** Development only: the server's WeChat simulator plays the person paying (see config.js). */
function simulatorPay(orderNo) {
  return new Promise((resolve, reject) => {
    wx.request({
      url: `${config.baseUrl.replace(/\/+$/, '')}/wechat-sim/pay/simulate/${encodeURIComponent(orderNo)}`,
      method: 'POST',
      data: {},
      success: res => (res.statusCode === 200 ? resolve(res.data) : reject(res)),
      fail: reject,
    })
  })
}

/** GET the order until it is paid; rejects when it is closed/refunded or still pending after MAX_POLLS. */
async function waitUntilPaid(orderNo, options) {
  const interval = (options && options.interval) || POLL_INTERVAL_MS
  const maxPolls = (options && options.maxPolls) || MAX_POLLS
  for (let poll = 1; ; poll++) {
    const order = await api.call({method: 'GET', path: `/api/v1/mp/orders/${encodeURIComponent(orderNo)}`})
    if (order.status === 'paid') return order
    if (order.status === 'closed' || order.status === 'refunded') {
      throw new api.ApiError(409, 'ORDER_' + order.status.toUpperCase(), '订单已关闭，未扣款或已退回')
    }
    if (poll >= maxPolls) {
      throw new api.ApiError(0, 'PAYMENT_PENDING', '支付结果确认中，请稍后在卡包中查看')
    }
    await sleep(interval)
  }
}

/**
 * Open the payment sheet for {order_no, pay_params}, then confirm with the server.
 * Resolves with the paid order; rejects with PaymentCancelled when the person closes the sheet,
 * or an ApiError (its message already shown) when the order cannot be confirmed.
 */
async function payOrder(order, options) {
  try {
    if (config.simulatePayment && config.envVersion === 'develop') {
      await simulatorPay(order.order_no)
    } else {
      await requestPayment(order.pay_params)
    }
  } catch (err) {
    if (err && typeof err.errMsg === 'string' && err.errMsg.indexOf('cancel') >= 0) throw new PaymentCancelled()
    // Any other failure: the server still decides; ask it once before giving up.
    options = Object.assign({}, options, {maxPolls: 1})
  }
  wx.showLoading({title: '正在确认支付', mask: true})
  try {
    return await waitUntilPaid(order.order_no, options)
  } catch (err) {
    api.showError(err)
    throw err
  } finally {
    wx.hideLoading()
  }
}

module.exports = {MAX_POLLS, POLL_INTERVAL_MS, PaymentCancelled, payOrder, waitUntilPaid}
