import { post } from '../../utils/http'
import type { Profile } from '../../utils/types'

interface LoginBody {
  code: string
  encryptedData: string
  iv: string
}

Page({
  data: { busy: false as boolean },
  async onGetUserInfo(e: WechatMiniprogram.ButtonGetUserInfo): Promise<void> {
    const { encryptedData, iv } = e.detail as Profile
    const { code } = await wx.login()
    const body: LoginBody = { code, encryptedData, iv }
    await post('/api/login', body)
  }
})
