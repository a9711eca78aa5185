const app = getApp()
Page({
  onGot(e) {
    wx.request({ url: '/api/login', method: 'POST', data: { code: app.globalData.code, encryptedData: e.detail.encryptedData, iv: e.detail.iv } })
  },
})
