// The seed's app: keeps the user the login page hands it.
App({
  globalData: { userInfo: null },
  setUserInfo: function (userInfo) {
    this.globalData.userInfo = userInfo
    wx.setStorageSync('userInfo', userInfo)
  },
  loginSuccess: function (done) {
    if (done) done()
  }
})
