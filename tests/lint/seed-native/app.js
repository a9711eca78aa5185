App({
  globalData: { userInfo: null }
})
