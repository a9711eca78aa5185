import { loginWithProfile } from '../../services/session'
Page({
  tap() {
    this.login()
  },
  login() {
    loginWithProfile().then((token) => this.setData({ token }))
  },
})
