App({
  onLaunch() {
    wx.login({ success: (r) => { this.globalData.code = r.code } })
  },
  globalData: {},
})
