/** Staff login for the cashier pages (POST /api/v1/merchant/login). */
const api = require('../../../utils/api')
const cashier = require('../../../utils/cashier')

Page({
  data: {
    username: '',
    password: '',
    busy: false,
  },

  onInput(event) {
    this.setData({[event.currentTarget.dataset.field]: event.detail.value})
  },

  async onSubmit() {
    const username = this.data.username.trim()
    if (!username || !this.data.password) {
      wx.showToast({title: '请输入账号和密码', icon: 'none'})
      return
    }
    if (this.data.busy) return
    this.setData({busy: true})
    try {
      const session = await api.staffLogin(username, this.data.password)
      this.setData({password: ''})
      if (!cashier.canRedeem(session)) {
        api.clearStaffSession()
        wx.showModal({title: '提示', content: '该账号没有核销权限，请使用收银员、店长或店主账号登录', showCancel: false})
        return
      }
      wx.switchTab({url: '/pages/cashier/redeem/index'})
    } catch (err) {
      // wrong password, too many attempts: shown by the api module
    } finally {
      this.setData({busy: false})
    }
  },
})
