const { post } = require('../../utils/http')

Page({
  data: { from: '' },
  onLoad(query) {
    this.setData({ 'user.from': query.from || 'none' })
    wx.getLocation({ type: 'wgs84' })
  },
  async onLogin(e) {
    const { encryptedData, iv } = e.detail
    this.setData({ from: e.currentTarget.dataset.from })
    const code = getApp().globalData.code
    const res = await post('/api/login', { code, encryptedData, iv })
    wx.setStorageSync('token', res.data.token)
  }
})
