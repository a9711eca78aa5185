Page({
  async onLogin() {
    const { code } = await wx.login()
    const profile = await wx.getUserProfile({ desc: '完善资料' })
    wx.request({ url: '/api/login', method: 'POST', data: { code, encryptedData: profile.encryptedData, iv: profile.iv } })
  }
})
