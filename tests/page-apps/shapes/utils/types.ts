export interface Profile {
  encryptedData: string
  iv: string
}
