export const wxLogin = () => new Promise((resolve) => wx.login({ success: resolve }))
