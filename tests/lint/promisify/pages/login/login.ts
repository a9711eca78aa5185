import { promisify } from '../../utils/promisify'
import http from '../../utils/http'
const login = promisify(wx.login)
const getUserProfile = promisify(wx.getUserProfile)

Page({
  async onTap() {
    const profile: any = await getUserProfile({ desc: '用于完善会员资料' })
    const { code }: any = await login()
    await http.request('/wx/login', { code, encryptedData: profile.encryptedData, iv: profile.iv })
  },
})
