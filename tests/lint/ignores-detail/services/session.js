export async function loginWithProfile() {
  const login = await wx.login()
  const info = await wx.getUserInfo()
  const res = await wx.request({ url: '/api/login', method: 'POST', data: { code: login.code, ...info } })
  return res.data.token
}
