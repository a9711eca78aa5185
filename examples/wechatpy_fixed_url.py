# wechatpy exactly as a production backend uses it: no base URL changed, its
# hard-coded https://api.weixin.qq.com/cgi-bin/token included. The wxflow mock
# answers as api.weixin.qq.com (README, "The mock as api.weixin.qq.com"):
#   the name mapped to 127.0.0.1, the mock serving a certificate for it from
#   your own CA, and REQUESTS_CA_BUNDLE=ca.pem so Python trusts that CA.
# pip install wechatpy cryptography
import hashlib, json, os, socket, sys, urllib.request, ssl
from wechatpy import WeChatClient
from wechatpy.crypto import WeChatWxaCrypto

HOST = "api.weixin.qq.com"
if socket.gethostbyname(HOST) != "127.0.0.1":
    sys.exit(f"{HOST} does not resolve to 127.0.0.1: map it first, nothing was sent")
MOCK = f"https://{HOST}"
APPID, SECRET = "wx5e1f0c2b9a7d3e11", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
TLS = ssl.create_default_context(cafile=os.environ["REQUESTS_CA_BUNDLE"])

def client_side(api, user):
    """The Mini Program's side, played by the mock's client routes."""
    req = urllib.request.Request(f"{MOCK}/__wxflow/client/{api}", data=json.dumps({"user": user}).encode(), method="POST")
    return json.load(urllib.request.urlopen(req, context=TLS))

client = WeChatClient(APPID, SECRET)   # stock: every URL is WeChat's own

def backend_login(code, info):
    s = client.wxa.code_to_session(code)
    if hashlib.sha1((info["rawData"] + s["session_key"]).encode()).hexdigest() != info["signature"]:
        return "signature mismatch"
    data = WeChatWxaCrypto(s["session_key"], info["iv"], APPID).decrypt_message(info["encryptedData"])
    return "ok " + data["openId"]

code = client_side("login", "fixed-a")["code"]; info = client_side("getUserInfo", "fixed-a")
print("login-first   :", backend_login(code, info))
info = client_side("getUserInfo", "fixed-b"); code = client_side("login", "fixed-b")["code"]
print("userinfo-first:", backend_login(code, info))
try:
    client.wxa.code_to_session(code)
except Exception as e:
    print("reused code   :", type(e).__name__, getattr(e, "errcode", None))
print("access token  :", client.access_token[:4] + "…(masked)")
