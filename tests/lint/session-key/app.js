import { login } from './utils/login'
App({
  onLaunch() {
    login()
  },
  globalData: {},
})
