# A backend login path written with wechatpy (pip install wechatpy cryptography),
# pointed at the wxflow mock by changing only its API base URLs. Start the mock
# first: `wxflow mock --addr 127.0.0.1:9300 --rotation always`.
import json, urllib.request
from wechatpy import WeChatClient
from wechatpy.client.api import WeChatWxa
from wechatpy.crypto import WeChatWxaCrypto
from wechatpy.utils import check_signature
import hashlib

MOCK = "http://127.0.0.1:9300"
APPID, SECRET = "wx5e1f0c2b9a7d3e11", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"

def client_side(api, user):
    req = urllib.request.Request(f"{MOCK}/__wxflow/client/{api}", data=json.dumps({"user": user}).encode(), method="POST")
    return json.load(urllib.request.urlopen(req))

class MockClient(WeChatClient):
    API_BASE_URL = MOCK + "/cgi-bin/"
    def fetch_access_token(self):   # its token URL is hard-coded: override, as the README says
        return self._fetch_access_token(url=MOCK + "/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret})

WeChatWxa.API_BASE_URL = MOCK + "/"
client = MockClient(APPID, SECRET)

def backend_login(code, info):
    s = client.wxa.code_to_session(code)
    sig = hashlib.sha1((info["rawData"] + s["session_key"]).encode()).hexdigest()
    if sig != info["signature"]:
        return "signature mismatch"
    data = WeChatWxaCrypto(s["session_key"], info["iv"], APPID).decrypt_message(info["encryptedData"])
    return "ok " + data["openId"]

# login first: works
code = client_side("login", "sdk-a")["code"]; info = client_side("getUserInfo", "sdk-a")
print("login-first   :", backend_login(code, info))
# getUserInfo first under rotate-always: the SDK backend sees the stale key
info = client_side("getUserInfo", "sdk-b"); code = client_side("login", "sdk-b")["code"]
print("userinfo-first:", backend_login(code, info))
# reused code: wechatpy raises its WeChatClientException with errcode 40163
try:
    client.wxa.code_to_session(code)
except Exception as e:
    print("reused code   :", type(e).__name__, getattr(e, "errcode", None), getattr(e, "errmsg", ""))
print("access token  :", client.access_token[:4] + "…(masked)")
