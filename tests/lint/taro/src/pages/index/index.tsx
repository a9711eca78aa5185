import Taro from '@tarojs/taro'
import { Button } from '@tarojs/components'

export default function Index() {
  const handle = async (e) => {
    const { encryptedData, iv } = e.detail
    const { code } = await Taro.login()
    await Taro.request({ url: '/api/login', method: 'POST', data: { code, encryptedData, iv } })
  }
  return <Button openType='getUserInfo' onGetUserInfo={handle}>登录</Button>
}
