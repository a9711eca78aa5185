export function login(data: Record<string, string>) {
  return uni.request({ url: '/api/login', method: 'POST', data })
}
