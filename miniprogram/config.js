/**
 * Where the mini-program finds its Kabao server: one entry per envVersion.
 *
 * WeChat runs the same package as `develop` (DevTools and preview), `trial` (体验版) and
 * `release` (正式版); wx.getAccountInfoSync() tells which. Edit the URLs below for your
 * deployment. trial and release must be HTTPS domains listed as request 合法域名 in the
 * mini-program admin console (see the README).
 */
const ENVIRONMENTS = {
  develop: {
    // `make run` on your computer; tick "不校验合法域名" in DevTools for http://.
    baseUrl: 'http://127.0.0.1:5000',
    // With the server's WeChat simulator (WECHAT_SIMULATOR=1) a payment is completed by the
    // simulator instead of wx.requestPayment, which cannot pay a simulated order.
    simulatePayment: true,
    // The simulator accepts only its own login codes (`sim:<name>`), not the ones WeChat gives
    // DevTools: log in as this simulated WeChat user. Empty: use wx.login as in production.
    simulatorUser: 'devtools',
  },
  trial: {
    baseUrl: 'https://kabao-trial.example.com',
    simulatePayment: false,
  },
  release: {
    baseUrl: 'https://kabao.example.com',
    simulatePayment: false,
  },
}

/**
 * Subscribe-message template ids (the server's WECHAT_TEMPLATE_TOP_UP and
 * WECHAT_TEMPLATE_REDEMPTION). Empty: the mini-program asks for no subscription.
 */
const SUBSCRIBE_TEMPLATE_IDS = {
  topUp: '',
  redemption: '',
}

function envVersion() {
  try {
    return wx.getAccountInfoSync().miniProgram.envVersion || 'develop'
  } catch (err) {
    return 'develop'
  }
}

const env = envVersion()
const config = Object.assign({envVersion: env}, ENVIRONMENTS[env] || ENVIRONMENTS.develop, {
  subscribeTemplateIds: SUBSCRIBE_TEMPLATE_IDS,
})

module.exports = config
module.exports.ENVIRONMENTS = ENVIRONMENTS
