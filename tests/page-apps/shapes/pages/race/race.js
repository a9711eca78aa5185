const { post } = require('../../utils/http')

// The login and the profile are asked for at once: which answers first
// decides whether the profile was sealed before the login's new key.
function ask(api) {
  return new Promise((resolve, reject) => wx[api]({ success: resolve, fail: reject }))
}

Page({
  signIn() {
    return Promise.all([ask('getUserInfo'), ask('login')]).then(([profile, login]) =>
      post('/api/login', { code: login.code, encryptedData: profile.encryptedData, iv: profile.iv })
    )
  }
})
