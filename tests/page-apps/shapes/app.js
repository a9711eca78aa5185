// Logs in at launch, promise style, and keeps the code for the pages.
App({
  globalData: { code: null },
  onLaunch() {
    wx.login().then((res) => {
      this.globalData.code = res.code
    })
  }
})
