Page({
  onLoad() {},
  login() {
    wx.getUserInfo({
      success: (u) => {
        wx.login({
          success: (r) => {
            wx.request({ url: '/api/login', method: 'POST', data: { code: r.code, encryptedData: u.encryptedData, iv: u.iv } })
          },
        })
      },
    })
  },
})
