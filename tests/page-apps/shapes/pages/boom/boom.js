Page({
  explode() {
    const profile = null
    return profile.nickName
  }
})
