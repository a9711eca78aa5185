export function login() {
  wx.login({
    success(r) {
      wx.request({
        url: '/api/jscode',
        data: { code: r.code },
        success(res) {
          wx.setStorageSync('session_key', res.data.session_key)
          getApp().globalData.openid = res.data.openid
        },
      })
    },
  })
}
